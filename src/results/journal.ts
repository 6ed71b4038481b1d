/**
 * A journal: JSON Lines that a long run appends to as each piece of work finishes, so that
 * no interruption loses finished work, and that survives any sequence of interruptions.
 *
 *  - Its first line is a header, `{ kind: 'header', version, identity }`: the identity of the
 *    run (the caller's JSON object: grid, settings, seed, version). Resuming with another
 *    identity is refused, the journal untouched, with the fields that differ.
 *  - Each entry is one line `{ kind, ... }`, validated by the caller's schema, written with
 *    a single write and flushed to disk (fsync) before `append` returns.
 *  - A torn tail (the process died mid-write: a last line without its newline) is cut off
 *    before anything is appended, so the next entry starts on a line of its own; a write that
 *    fails half-way is cut back the same way.
 *  - Opening without `resume` a journal that holds finished work is refused unless
 *    `overwrite`: finished work is never discarded silently.
 *
 * One run per journal is the lock's job (lock.ts): take the output's lock first.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { onInterrupt } from '../core/cleanup.ts';
import { UsageError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';

/** The journal format's version (the header's `version`). */
export const JOURNAL_VERSION = 1;

/** A JSON object naming what a run is; resuming needs an equal one. */
export type Identity = Record<string, unknown>;

export const JournalHeader = z.object({
  kind: z.literal('header'),
  version: z.number().int().positive(),
  identity: z.record(z.string(), z.unknown()),
});
export type JournalHeader = z.infer<typeof JournalHeader>;

/** What every entry is: an object with a `kind`. */
export type Entry = { kind: string };

export interface JournalContents<E extends Entry> {
  /** Null when the file holds no whole header (empty, or torn while it was written). */
  header: JournalHeader | null;
  entries: E[];
  /** Bytes of the whole lines read (the header and the entries). */
  goodBytes: number;
  /** Bytes of a torn last line (0 when the file ends with a whole line). */
  tornBytes: number;
}

/** A line of the file that is not a header or entry: an error naming the file and line. */
function lineError(file: string, line: number, why: string): UsageError {
  return new UsageError(`${file}: line ${line} ${why}`);
}

/**
 * Read and validate a journal: its header and entries, and how long a torn tail is. A bad
 * line anywhere but at the torn end is an error naming it.
 */
export function readJournalFile<E extends Entry>(file: string, entry: z.ZodType<E>, text?: string): JournalContents<E> {
  const buf = text === undefined ? readBytes(file) : Buffer.from(text);
  const end = buf.lastIndexOf(0x0a) + 1; // everything after the last newline is torn
  const lines = buf.subarray(0, end).toString('utf8').split('\n').slice(0, -1);
  const out: JournalContents<E> = { header: null, entries: [], goodBytes: end, tornBytes: buf.length - end };
  lines.forEach((line, i) => {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw lineError(file, i + 1, 'is not JSON (a damaged journal)');
    }
    if (i === 0) {
      const h = JournalHeader.safeParse(json);
      if (!h.success) throw lineError(file, 1, 'is not a journal header (not a journal of this version of attnbench?)');
      if (h.data.version !== JOURNAL_VERSION) throw lineError(file, 1, `is a journal of version ${h.data.version}; this attnbench reads version ${JOURNAL_VERSION}`);
      out.header = h.data;
      return;
    }
    const e = entry.safeParse(json);
    if (!e.success) {
      const issue = e.error.issues[0]!;
      throw lineError(file, i + 1, `is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    out.entries.push(e.data);
  });
  return out;
}

function readBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

const MAX_SHOWN = 60;
const show = (v: unknown) => {
  const s = v === undefined ? 'absent' : JSON.stringify(v);
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
};
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Where two identities differ: one line per differing field, `path: <now> now, <then> in the
 * journal`. Objects are compared field by field; anything else (numbers, lists) as a whole.
 */
export function identityDifferences(now: unknown, then: unknown, at = ''): string[] {
  if (isPlainObject(now) && isPlainObject(then)) {
    const keys = [...new Set([...Object.keys(now), ...Object.keys(then)])];
    return keys.flatMap((k) => identityDifferences(now[k], then[k], at ? `${at}.${k}` : k));
  }
  if (JSON.stringify(now) === JSON.stringify(then)) return [];
  return [`${at || '(identity)'}: ${show(now)} now, ${show(then)} in the journal`];
}

export interface OpenJournalOptions<E extends Entry> {
  path: string;
  /** What this run is (JSON): a resumed journal must have been written by an equal one. */
  identity: Identity;
  /** Validates every entry, on append and on read. */
  entry: z.ZodType<E>;
  /** Continue the journal at `path` (one that does not exist yet is started). */
  resume?: boolean;
  /** Without `resume`: discard a journal that holds finished work instead of refusing. */
  overwrite?: boolean;
  /** Which entries are finished work, never discarded silently (default: all; a sweep's ceilings entries are not). */
  isWork?: (entry: E) => boolean;
  /** Notes (a torn tail cut off, finished work discarded). */
  log?: (line: string) => void;
}

export interface Journal<E extends Entry> {
  readonly path: string;
  readonly header: JournalHeader;
  /** Entries found when resuming (before this session appended any). */
  readonly resumed: number;
  /** Every entry the journal holds: those resumed, then those appended since, validated. */
  entries(): E[];
  /** Append one entry as a line, flushed to disk before returning. */
  append(entry: E): void;
  close(): void;
}

/** Finished work is never discarded silently: the refusal when a run would start over a journal that holds some. */
export const finishedWorkRefused = (file: string, finished: number): UsageError =>
  new UsageError(`${file}: holds ${finished} finished result(s) of an earlier run; continue it with --resume, or discard them with --overwrite`);

/** The identity as it will read back from the file (undefined fields dropped, and so on). */
const asJson = (identity: Identity): Identity => JSON.parse(JSON.stringify(identity)) as Identity;

/**
 * Open the journal at `o.path` for a run of `o.identity`: start it, or resume it (checking
 * that it belongs to this run and cutting off a torn tail), or refuse.
 */
export function openJournal<E extends Entry>(o: OpenJournalOptions<E>): Journal<E> {
  const identity = asJson(o.identity);
  const header: JournalHeader = { kind: 'header', version: JOURNAL_VERSION, identity };
  const exists = fs.existsSync(o.path);
  if (exists && !fs.statSync(o.path).isFile()) throw new UsageError(`${o.path}: exists and is not a file`);
  let held: E[] = [];
  if (exists) {
    const found = readJournalFile(o.path, o.entry);
    const finished = found.entries.filter(o.isWork ?? (() => true)).length;
    if (o.resume && found.header) {
      const diff = identityDifferences(identity, found.header.identity);
      if (diff.length) throw new UsageError(`--resume: ${o.path} belongs to another run, left as it is; it differs in ${diff.join('; ')}`);
      if (found.tornBytes > 0) {
        // the process died mid-write: cut the torn line off, or the next entry would land on it
        fs.truncateSync(o.path, found.goodBytes);
        o.log?.(`note: ${o.path}: dropped a torn last line (${found.tornBytes} bytes, a write interrupted); that piece of work runs again`);
      }
      held = found.entries;
    } else if (!o.resume && finished > 0 && !o.overwrite) {
      throw finishedWorkRefused(o.path, finished);
    } else if (finished > 0) {
      o.log?.(`note: ${o.path}: discarding ${finished} finished result(s) of an earlier run (--overwrite)`);
    }
  }
  if (held.length === 0) writeFileAtomic(o.path, JSON.stringify(header) + '\n');
  return journalAt(o.path, header, o.entry, held, o.isWork ?? (() => true));
}

function journalAt<E extends Entry>(file: string, header: JournalHeader, schema: z.ZodType<E>, held: E[], isWork: (e: E) => boolean): Journal<E> {
  const fd = fs.openSync(file, 'a');
  let size = fs.fstatSync(fd).size;
  const all = [...held];
  let closed = false;
  // an interruption says what is kept, and how to go on
  const forget = onInterrupt(() => {
    const finished = all.filter(isWork).length;
    return finished > 0 ? `${finished} finished result(s) kept in ${file}; --resume continues` : null;
  });
  return {
    path: file,
    header,
    resumed: held.length,
    entries: () => [...all],
    append(entry: E) {
      if (closed) throw new Error(`${file}: journal is closed`);
      const valid = schema.parse(entry);
      const line = Buffer.from(JSON.stringify(valid) + '\n');
      try {
        let done = 0;
        while (done < line.length) done += fs.writeSync(fd, line, done);
        fs.fsyncSync(fd);
      } catch (e) {
        // never leave half a line for the next append to land on
        try {
          fs.ftruncateSync(fd, size);
        } catch {
          // the reader drops a torn tail anyway
        }
        throw new UsageError(`${file}: cannot append to the journal (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      size += line.length;
      all.push(valid);
    },
    close() {
      if (closed) return;
      closed = true;
      forget();
      fs.closeSync(fd);
    },
  };
}
