/**
 * Shared test helpers: run the real CLI (to its end, or in the background), wait for an event,
 * make temporary folders, run a layer once.
 *
 * A test waits for events, never for a guessed time; its limit only catches a hang, so it is
 * far above the event's time on a machine busy with other work (EVENT_LIMIT_MS).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildLayer, runLayer } from '../src/attention/layer.ts';
import type { LayerShape, LogicalParams } from '../src/attention/params.ts';
import type { Mode, VariantSpec } from '../src/attention/spec.ts';
import { nodeRuntime } from '../src/engine/session.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');

export function tmpDir(prefix = 'attnbench-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `attnbench ARGS` through the real launcher, with tiny ceiling probes
 * (ATTNBENCH_PROBES=quick: the tests check what is measured, not how fast this machine is).
 */
export function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/attnbench.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: 2 * EVENT_LIMIT_MS,
    env: { ...process.env, ATTNBENCH_PROBES: 'quick', ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** How long a test waits for an event before it calls it a hang: minutes, whatever the event's time on an idle machine. */
export const EVENT_LIMIT_MS = 300_000;

/** How long one test may take before it counts as hung: far above any test's time on a machine busy with other work, well inside CI's 90 minutes. */
export const TEST_LIMIT_MS = 1_200_000;

/** Poll `probe` until it gives a truthy value (returned), or fail naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = EVENT_LIMIT_MS): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(20);
  }
}

/** How a child process ended. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when `c` has ended (at once if it has already). */
export const exited = (c: ChildProcess): Promise<Ended> =>
  new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve({ code: c.exitCode, signal: c.signalCode }) : c.once('exit', (code, signal) => resolve({ code, signal }))));

/** `attnbench ARGS` in the background, in a process group of its own (so a kill can reach the launcher and the worker at once), its stderr collected. */
export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/attnbench.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ATTNBENCH_PROBES: 'quick', ...opts.env },
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  return { child, stderr: () => err };
}

/** Kill a background run outright, launcher and worker together, as a power cut or an OOM killer would. */
export async function killOutright(c: ChildProcess): Promise<void> {
  process.kill(-c.pid!, 'SIGKILL');
  await exited(c);
}

/** Whether the launcher runs the compiled dist/ (as after `npm test`'s build), not src/ through tsx (a src/ file newer than the build). */
export function launcherRunsDist(): boolean {
  let built: number;
  try {
    built = (JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/build.json'), 'utf8')) as { startedMs: number }).startedMs;
  } catch {
    return false;
  }
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), fs.statSync(dir).mtimeMs);
  return newest(path.join(ROOT, 'src')) < built;
}

/** Run one layer on the CPU provider and return its output in logical layout. */
export const runLayerOnce = (spec: VariantSpec, shape: LayerShape, mode: Mode, params: LogicalParams): Promise<Float32Array> =>
  runLayer(nodeRuntime({ threads: 1, graphOpt: 'all' }), buildLayer(spec, shape, mode), params);
