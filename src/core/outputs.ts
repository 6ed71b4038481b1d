/**
 * Every path a command will write is checked before the first measurement: a sweep of an
 * hour must not find at its end that its result file cannot be written. A file output needs
 * a folder that exists or can be created and that this process can create files in (the
 * atomic write puts a temporary file beside the target, then renames it), and must not name
 * a folder or anything but a regular file; a folder output needs to be (or become) a folder
 * it can write into; a file appended to in place (a journal) must itself be writable.
 *
 * Writability is tested by creating (and removing) a small probe file, not by comparing
 * permission bits: that is what the write will do, so read-only mounts, ACLs and a non-root
 * user's permissions all answer as they will then.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onExit } from './cleanup.ts';
import { UsageError } from './errors.ts';
import { writeFileAtomic, writeTarget } from './files.ts';

/** One path a command will write, and the flag it came from (for the message). */
export interface OutputPath {
  /** The flag or role that names it, e.g. `--out` or `--out-dir (the report)`. */
  flag: string;
  path: string;
  kind: 'file' | 'folder';
  /** A file written in place by appending (a journal), not replaced by a rename. */
  append?: boolean;
  /** A result file: one that exists already holds finished results and is refused (the caller sets this unless --overwrite). */
  keep?: boolean;
}

/** The longest file name most filesystems take, in bytes (NAME_MAX). */
const NAME_MAX = 255;

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/** Why a write into the existing folder `dir` would fail, or null when it would not. */
function folderUnwritable(dir: string): string | null {
  const probe = path.join(dir, `.attnbench-probe-${process.pid}-${Date.now()}`);
  const forget = onExit(() => fs.rmSync(probe, { force: true }));
  try {
    fs.closeSync(fs.openSync(probe, 'wx'));
    fs.rmSync(probe, { force: true });
    return null;
  } catch (e) {
    const code = codeOf(e);
    if (code === 'EACCES' || code === 'EPERM') return `cannot create files in ${dir} (${code}: no write permission)`;
    if (code === 'EROFS') return `${dir} is on a read-only file system (EROFS)`;
    return `cannot create files in ${dir} (${code})`;
  } finally {
    forget();
  }
}

/**
 * The nearest existing folder at or above `p`, with the names to create below it; a problem
 * on the way (a file where a folder must be, a name too long) is returned as the reason.
 */
function existingAncestor(p: string): { dir: string; missing: string[] } | { reason: string } {
  const missing: string[] = [];
  let cur = p;
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(cur);
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ENOTDIR') {
        // a file somewhere above: find which, for the message
        missing.unshift(path.basename(cur));
        cur = path.dirname(cur);
        continue;
      }
      if (code === 'EACCES') return { reason: `cannot look into ${path.dirname(cur)} (EACCES: no permission)` };
      if (code === 'ENAMETOOLONG') return { reason: 'a name in the path is longer than the file system allows (ENAMETOOLONG)' };
      if (code !== 'ENOENT') return { reason: `cannot use ${cur} (${code})` };
    }
    if (st) {
      if (!st.isDirectory()) return { reason: `${cur} is a file, not a folder` };
      return { dir: cur, missing };
    }
    const parent = path.dirname(cur);
    if (parent === cur) return { reason: `${cur} does not exist` };
    missing.unshift(path.basename(cur));
    cur = parent;
  }
}

function tooLong(names: readonly string[]): string | null {
  const long = names.find((n) => Buffer.byteLength(n) > NAME_MAX);
  return long === undefined ? null : `the name '${long.slice(0, 40)}…' is longer than ${NAME_MAX} bytes`;
}

/** Why `o` cannot be written, or null when it can. */
export function outputProblem(o: OutputPath): string | null {
  if (o.path.trim() === '') return 'is empty (give a path)';
  // Node decodes the command line as UTF-8 and replaces what is not: that name is not the one given, and nothing may be written under it
  if (o.path.includes('\uFFFD')) return 'is not valid UTF-8 (or holds U+FFFD): attnbench would write under another name than the one given; give a UTF-8 path';
  const target = o.kind === 'file' ? writeTarget(o.path) : path.resolve(o.path);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(target);
  } catch {
    // absent (or below a file): the ancestors answer
  }
  if (st) {
    if (o.kind === 'folder') return st.isDirectory() ? folderUnwritable(target) : 'exists and is not a folder';
    if (st.isDirectory()) return 'is a folder, not a file';
    if (!st.isFile()) return 'exists and is not a regular file (results are written by a rename, which would replace it)';
    if (o.keep) return 'exists and holds finished results; --overwrite replaces it, or give another path';
    if (o.append) {
      try {
        fs.accessSync(target, fs.constants.W_OK);
      } catch (e) {
        return `the file is not writable (${codeOf(e)})`;
      }
    }
    return folderUnwritable(path.dirname(target));
  }
  const found = existingAncestor(target);
  if ('reason' in found) return found.reason;
  return tooLong(found.missing) ?? folderUnwritable(found.dir);
}

/** A path as a message shows it: quoted when it is empty or has spaces at its ends, so that it can be seen. */
const shown = (p: string) => (p === '' || p.trim() !== p ? JSON.stringify(p) : p);

/**
 * Refuse (a UsageError naming the flag, the path and the reason) the first of `outputs` that
 * cannot be written, and two outputs that are one file. Nothing is created or changed.
 */
export function checkOutputs(outputs: readonly OutputPath[]): void {
  const seen = new Map<string, OutputPath>();
  for (const o of outputs) {
    const problem = outputProblem(o);
    if (problem) throw new UsageError(`${o.flag} ${shown(o.path)}: ${problem}`);
    const key = o.kind === 'file' ? writeTarget(o.path) : path.resolve(o.path);
    const other = seen.get(key);
    if (other) throw new UsageError(`${o.flag} ${shown(o.path)}: is the same file as ${other.flag}; give each output a path of its own`);
    seen.set(key, o);
  }
}

/** Shorthands: one file, one folder. */
export const checkOutputFile = (flag: string, file: string, o: { append?: boolean } = {}) => checkOutputs([{ flag, path: file, kind: 'file', ...o }]);
export const checkOutputFolder = (flag: string, dir: string) => checkOutputs([{ flag, path: dir, kind: 'folder' }]);

/** `attnbench-<command>-<pid>-<time>.json`: a name that says what it holds and cannot collide. */
export const fallbackName = (command: string, now = new Date()) => `attnbench-${command}-${process.pid}-${now.toISOString().replace(/[:.]/g, '-')}.json`;

/**
 * Save measured results that could not be written where asked: in the current folder, else
 * in the system's temporary folder. Returns the path written, or null when neither took it.
 */
export function saveFallback(command: string, data: string | Uint8Array): string | null {
  const name = fallbackName(command);
  for (const dir of [process.cwd(), os.tmpdir()]) {
    const file = path.join(dir, name);
    try {
      writeFileAtomic(file, data);
      return file;
    } catch {
      // try the next place
    }
  }
  return null;
}

/**
 * Write a result file of `command` atomically; if that fails (the outputs were checked before
 * the work, but a disk can fill up and a folder can vanish), save the data to a fallback file
 * and refuse with one line naming both.
 */
export function writeOrFallback(file: string, data: string | Uint8Array, command: string): void {
  try {
    writeFileAtomic(file, data);
  } catch (e) {
    const why = codeOf(e);
    const saved = saveFallback(command, data);
    throw new UsageError(
      `${file}: cannot write the result (${why}); ` +
        (saved ? `the measured results were saved to ${saved}` : 'no fallback file could be written either (current folder and temporary folder)'),
    );
  }
}
