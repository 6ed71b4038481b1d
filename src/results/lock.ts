/**
 * One run per output: a lock file beside it (`<out>.lock`) naming its holder (PID, host,
 * when it started). A second run on the same output is refused with one line naming the
 * holder; a lock whose holder is gone (killed outright, so it could not remove it) is taken
 * over with a note. The lock is released on every exit the process sees (normal end, error,
 * SIGINT, SIGTERM, SIGHUP: src/core/cleanup.ts).
 *
 * Within one process the lock is re-entrant (the command line and `runLayers` may both take
 * it): the file goes when the last holder releases it.
 *
 * Creating the lock is atomic: the holder's record is written to a file of its own, then
 * hard-linked to the lock's name, which fails if the name exists; so a lock file always holds
 * a whole record, and of two runs starting together exactly one gets it.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { onExit, pidAlive } from '../core/cleanup.ts';
import { UsageError } from '../core/errors.ts';
import { writeTarget } from '../core/files.ts';

/** What a lock file records about its holder. */
export const LockRecord = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  startedAt: z.string(),
  /** The process's start time in clock ticks since boot (Linux), so a reused PID is not taken for the holder. */
  pidStart: z.number().nullable(),
  /** Tells two locks of one PID apart. */
  token: z.string(),
  command: z.string(),
});
export type LockRecord = z.infer<typeof LockRecord>;

export interface OutputLock {
  /** The lock file. */
  path: string;
  record: LockRecord;
  /** The stale lock this one replaced, if any. */
  tookOver: LockRecord | null;
  /** Remove the lock (only if it is still ours); idempotent. */
  release(): void;
}

/** The lock beside an output file: `results.json` → `results.json.lock`, beside the file's real path (a link to it takes the same lock). */
export const lockPath = (out: string) => `${writeTarget(out)}.lock`;

/** Field 22 of /proc/<pid>/stat: when the process started (null where there is no /proc). */
function processStart(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

/** Is the holder of `r` still running? (Same host only: another host's PIDs cannot be asked.) */
function holderAlive(r: LockRecord): boolean {
  if (!pidAlive(r.pid)) return false;
  // the PID exists; if it started at another time it is another process that reused the number
  const start = processStart(r.pid);
  return r.pidStart === null || start === null || start === r.pidStart;
}

function readRecord(file: string): LockRecord | 'absent' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unreadable';
  }
  try {
    return LockRecord.parse(JSON.parse(text));
  } catch {
    return 'unreadable';
  }
}

const describe = (r: LockRecord) => `PID ${r.pid}${r.host === os.hostname() ? '' : ` on ${r.host}`}, started ${r.startedAt}`;

/**
 * Take the lock of output `out`, or refuse (UsageError naming the holder). `log` receives
 * the note when a stale lock is taken over.
 */
export function acquireLock(out: string, o: { log?: (line: string) => void } = {}): OutputLock {
  const file = lockPath(out);
  const held = heldHere.get(file);
  if (held) {
    held.count++;
    let released = false;
    return { ...held.lock, release: () => (released ? undefined : ((released = true), releaseHeld(file))) };
  }
  const lock = createLock(out, file, o);
  heldHere.set(file, { count: 1, lock });
  let released = false;
  return { ...lock, release: () => (released ? undefined : ((released = true), releaseHeld(file))) };
}

/** Locks this process holds, with how many holders each has. */
const heldHere = new Map<string, { count: number; lock: OutputLock }>();

function releaseHeld(file: string): void {
  const held = heldHere.get(file);
  if (!held || --held.count > 0) return;
  heldHere.delete(file);
  held.lock.release();
}

function createLock(out: string, file: string, o: { log?: (line: string) => void }): OutputLock {
  const record: LockRecord = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    pidStart: processStart(process.pid),
    token: randomUUID(),
    command: process.argv.slice(2).join(' ').slice(0, 300),
  };
  const mine = `${file}.${process.pid}.${record.token.slice(0, 8)}.new`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(mine, JSON.stringify(record) + '\n');
  } catch (e) {
    throw new UsageError(`${out}: cannot create its lock ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let tookOver: LockRecord | null = null;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(mine, file);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') throw new UsageError(`${out}: cannot create its lock ${file} (${code ?? String(e)})`);
        if (attempt >= 5) throw new UsageError(`${out}: its lock ${file} keeps changing hands; is another run starting on it?`);
      }
      const holder = readRecord(file);
      if (holder === 'absent') continue; // released while we looked
      if (holder !== 'unreadable') {
        if (holder.host !== record.host) {
          throw new UsageError(`${out}: in use by another attnbench run (${describe(holder)}); if that run is gone, remove ${file}`);
        }
        if (holderAlive(holder)) {
          throw new UsageError(`${out}: in use by another attnbench run (PID ${holder.pid}, started ${holder.startedAt}); wait for it to end or stop it (lock: ${file})`);
        }
      }
      if (takeOver(file, holder)) {
        tookOver = holder === 'unreadable' ? null : holder;
        o.log?.(
          holder === 'unreadable'
            ? `note: ${file} was unreadable; taking it over`
            : `note: taking over the stale lock of PID ${holder.pid} (started ${holder.startedAt}, no longer running)`,
        );
      }
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    forget();
    const now = readRecord(file);
    if (now !== 'absent' && now !== 'unreadable' && now.token === record.token) fs.rmSync(file, { force: true });
  };
  const forget = onExit(release);
  return { path: file, record, tookOver, release };
}

/**
 * Move a stale lock out of the way, checking that what was moved is the stale one: if
 * another run replaced it meanwhile, theirs is put back and the next attempt reads it.
 */
function takeOver(file: string, stale: LockRecord | 'unreadable'): boolean {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return false; // gone already: the next attempt links
  }
  const moved = readRecord(aside);
  const same = stale === 'unreadable' ? moved === 'unreadable' : moved !== 'absent' && moved !== 'unreadable' && moved.token === stale.token;
  if (!same) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // someone holds it now; the next attempt reads who
    }
  }
  fs.rmSync(aside, { force: true });
  return same;
}
