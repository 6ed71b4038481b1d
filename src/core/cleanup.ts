/**
 * Work to undo however the process ends: temporary files half written, locks held. Each
 * task runs once, on the first of a normal exit, an uncaught error (both end in 'exit') or
 * SIGINT, SIGTERM and SIGHUP; after a signal the process says so in one line on stderr (with
 * what the run keeps and how to continue it, from `onInterrupt`), then dies of that same
 * signal, so its parent (the launcher, a shell) still sees 130 or 143. SIGKILL cannot be
 * seen: what it leaves behind is recognised by the dead PID it names (stale locks, stale
 * temporary files).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const tasks = new Set<() => void>();
const notes = new Set<() => string | null>();
let installed = false;

/** The line an interruption prints: what happened, then what each registered note says the run keeps. */
export function interruptionLine(signal: string): string {
  const said = [...notes].flatMap((note) => {
    try {
      return note() ?? [];
    } catch {
      return [];
    }
  });
  return `attnbench: interrupted (${signal})${said.length ? `; ${said.join('; ')}` : ''}\n`;
}

/** Run every registered task now (each once; a failing task does not stop the others). */
export function runCleanup(): void {
  const now = [...tasks];
  tasks.clear();
  for (const task of now) {
    try {
      task();
    } catch {
      // cleaning up must never be what fails: the rest still runs
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanup);
  for (const sig of SIGNALS) {
    const onSignal = () => {
      try {
        fs.writeSync(2, interruptionLine(sig));
      } catch {
        // stderr may be gone with the terminal
      }
      runCleanup();
      // die of the signal itself: with our listener gone, its default action ends the process
      for (const s of SIGNALS) process.removeListener(s, handlers.get(s)!);
      process.kill(process.pid, sig);
      // if someone else still listens for it, the signal does not end us: the shell's convention then
      setTimeout(() => process.exit(128 + (os.constants.signals[sig] ?? 0)), 500);
    };
    handlers.set(sig, onSignal);
    process.on(sig, onSignal);
  }
}
const handlers = new Map<string, () => void>();

/**
 * Say `note()` (what the run keeps, how to continue it; null for nothing) in the line an
 * interruption prints. Returns the function that unregisters it.
 */
export function onInterrupt(note: () => string | null): () => void {
  install();
  notes.add(note);
  return () => {
    notes.delete(note);
  };
}

/**
 * Run `task` when the process ends, however it ends (short of SIGKILL). Returns the function
 * that unregisters it, for when the work it undoes is finished (the file renamed, the lock
 * released).
 */
export function onExit(task: () => void): () => void {
  install();
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}

const HAS_PROC = fs.existsSync('/proc/self/stat');

/**
 * Remove what processes killed outright left in `dir` (no exit handler ran for them): every
 * entry whose name `pattern` matches with a PID (its first group) that is not this process
 * and no longer runs.
 */
export function removeLeftByDead(dir: string, pattern: RegExp): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (pid && pid !== process.pid && !pidAlive(pid)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Whether a process with this PID runs on this machine (EPERM: it exists, as another user).
 * A zombie does not count: a process killed outright whose parent died too may wait a long
 * time to be reaped, and it holds nothing any more.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!HAS_PROC) return true; // not Linux: kill() is all there is to ask
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // it ended just now
  }
}
