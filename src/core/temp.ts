/**
 * The run's own temporary folder: one folder per process in the system's temporary folder
 * (os.tmpdir(), which TMPDIR sets), for what a run writes only to read back or throw away:
 * the engine's profiler traces, large weights handed to the engine as external data, the
 * page built from src/, and the engine's own files. onnxruntime-node 1.30 carries a telemetry
 * SDK that, when the first session creates the engine's environment, writes `.ses` and an
 * empty `mat-debug-<PID>.log` into TMPDIR and never removes them (186 had piled up on one
 * machine); `engineTmpdir` points TMPDIR here for that moment, so they go with the folder.
 *
 * The folder goes on every exit the process sees (cleanup.ts); one left by a process killed
 * outright names its dead PID and goes when the next run makes its own. A temporary folder
 * that cannot be written, or is too full for what the run will put there, is refused in one
 * line that names it and says what to do (free space, or TMPDIR), never left to surface as a
 * profile the engine could not write.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onExit, removeLeftByDead } from './cleanup.ts';
import { UsageError } from './errors.ts';

/** `attnbench-run-<pid>-XXXXXX`: whose it is, so that a dead process's is recognised. */
const PREFIX = 'attnbench-run-';
const STALE = /^attnbench-run-(\d+)-/;

/** Free bytes a run wants in the temporary folder before it starts writing there (profiles are megabytes; weights ask for their own size). */
export const MIN_TEMP_BYTES = 16 * 2 ** 20;

/** The system's temporary folder as this process started with it (TMPDIR is pointed elsewhere for a moment by `engineTmpdir`). */
const systemTmp = os.tmpdir();

let runDir: string | undefined;

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);
const why: Record<string, string> = { ENOSPC: 'no space left', EDQUOT: 'over its quota', EACCES: 'no write permission', EPERM: 'no write permission', EROFS: 'a read-only file system', ENOENT: 'it does not exist', ENOTDIR: 'not a folder' };

/** The one-line refusal for a temporary folder that cannot take what a run writes there. */
export function tempFolderRefused(dir: string, problem: string): UsageError {
  return new UsageError(`the temporary folder ${dir} cannot be used (${problem}); free space there, or point TMPDIR at a folder with room that attnbench can write`);
}

/** Bytes free to this process in `dir`, or null where the system cannot say. */
export function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(b < 2 ** 20 ? 2 : 0)} MiB`;

/** Refuse (one line) when `dir` has less than `bytes` free. */
export function checkTempSpace(dir: string, bytes: number): void {
  const free = freeBytes(dir);
  if (free !== null && free < bytes) throw tempFolderRefused(dir, `${mib(free)} free, ${mib(bytes)} needed`);
}

/** This process's temporary folder, made on first use (and checked: writable, MIN_TEMP_BYTES free). */
export function runTempDir(): string {
  if (runDir !== undefined && fs.existsSync(runDir)) return runDir;
  removeLeftByDead(systemTmp, STALE);
  checkTempSpace(systemTmp, MIN_TEMP_BYTES);
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(systemTmp, `${PREFIX}${process.pid}-`));
  } catch (e) {
    const code = codeOf(e);
    throw tempFolderRefused(systemTmp, `${code}${why[code] ? `: ${why[code]}` : ''}`);
  }
  runDir = dir;
  onExit(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh folder inside the run's temporary folder, with room for `bytes` (checked first). */
export function tempSubdir(prefix: string, bytes = 0): string {
  const base = runTempDir();
  checkTempSpace(base, Math.max(bytes, 0) + MIN_TEMP_BYTES);
  try {
    return fs.mkdtempSync(path.join(base, prefix));
  } catch (e) {
    const code = codeOf(e);
    throw tempFolderRefused(systemTmp, `${code}${why[code] ? `: ${why[code]}` : ''}`);
  }
}

/**
 * Why a file the engine wrote into the run's temporary folder came back empty or cut short:
 * the folder filled up (a one-line refusal naming it), or, with room left, null (the caller's
 * own error then).
 */
export function truncatedByFullTemp(file: string): UsageError | null {
  const free = freeBytes(path.dirname(file));
  return free !== null && free < MIN_TEMP_BYTES ? tempFolderRefused(systemTmp, `${mib(free)} free: the engine's profile ${path.basename(file)} was cut short`) : null;
}

let engineEnvReady = false;

/**
 * Run `create` (the process's first engine session, which creates the engine's environment)
 * with TMPDIR pointing at the run's temporary folder, so that what the engine's telemetry
 * writes there goes with it; later sessions run as they are.
 */
export async function engineTmpdir<T>(create: () => Promise<T>): Promise<T> {
  if (engineEnvReady) return create();
  const made = await withTmpdir(runTempDir(), create);
  engineEnvReady = true;
  return made;
}

/**
 * Run `work` with TMPDIR (which os.tmpdir() and native libraries read) pointing at `dir`, for
 * code that puts files into the temporary folder with no way to say where (the engine's
 * telemetry, playwright's profile folders); TMPDIR is as it was when `work` ends, however.
 */
export async function withTmpdir<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await work();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
}
