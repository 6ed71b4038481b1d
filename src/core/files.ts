/**
 * Files as the project writes and reads them: written atomically (a temporary file in the
 * same folder, flushed, then a rename: readers see the old file or the whole new one), and
 * read with errors that name the file.
 *
 * A temporary file is removed on every exit the process sees (src/core/cleanup.ts); one left
 * by a process killed outright (SIGKILL) names its dead PID and is removed by the next write
 * into that folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { onExit, removeLeftByDead } from './cleanup.ts';
import { UsageError } from './errors.ts';

/** `.attnbench-<pid>-<time>-<n>.tmp`: short whatever the target's name, and tells whose it is. */
const TMP = /^\.attnbench-(\d+)-\d+-\d+\.tmp$/;
let counter = 0;

/** Remove temporary files in `dir` whose writer is dead (a write killed by SIGKILL). */
export const removeStaleTemporaries = (dir: string): void => removeLeftByDead(dir, TMP);

/**
 * The one name of the file a write to `file` lands on, whichever way the path leads to it
 * (a symbolic link to the file or to a folder above it, `..`, a relative path): its real path,
 * or, while it does not exist, the real path of the nearest folder above it that does, with
 * the names below. A link to a file not written yet leads to that file. So a rename into it
 * replaces the file, never a link, and two paths of one file give one lock.
 */
export function writeTarget(file: string, hops = 0): string {
  const abs = path.resolve(file);
  try {
    return fs.realpathSync(abs);
  } catch {
    // absent, or a link to something absent: the link's target, or the folders above, answer
  }
  try {
    if (hops < 40 && fs.lstatSync(abs).isSymbolicLink()) return writeTarget(path.resolve(path.dirname(abs), fs.readlinkSync(abs)), hops + 1);
  } catch {
    // not there at all
  }
  const below = [path.basename(abs)];
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    try {
      return path.join(fs.realpathSync(dir), ...below);
    } catch {
      if (path.dirname(dir) === dir) return abs;
      below.unshift(path.basename(dir));
    }
  }
}

/** Write `data` to `file` atomically, creating its folder. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const target = writeTarget(file);
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  removeStaleTemporaries(dir);
  const tmp = path.join(dir, `.attnbench-${process.pid}-${Date.now()}-${counter++}.tmp`);
  const forget = onExit(() => fs.rmSync(tmp, { force: true }));
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd); // the rename must never publish a file whose data is not on disk yet
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    forget();
  }
}

/** The largest text file read whole (result files and journals are megabytes; more is not one of them). */
export const MAX_TEXT_BYTES = 512 * 2 ** 20;

/** The text of `file`; a file that cannot be read, or is too large to be one we write, is a UsageError naming it and the reason. */
export function readText(file: string): string {
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_TEXT_BYTES) throw new UsageError(`${file}: ${(size / 2 ** 20).toFixed(0)} MiB is too large to be a result file (at most ${MAX_TEXT_BYTES / 2 ** 20} MiB are read)`);
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Parse `file` (or its already-read `text`) as JSON; errors name the file. */
export function readJson(file: string, text = readText(file)): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not JSON${text.trim() ? '' : ' (empty file)'}`);
  }
}
