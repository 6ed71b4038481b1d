/** Shared test helpers: run the real CLI, make temporary folders, run a layer once. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLayer, layerInputs, outputToLogical } from '../src/attention/layer.ts';
import type { LayerShape, LogicalParams } from '../src/attention/params.ts';
import type { Mode, VariantSpec } from '../src/attention/spec.ts';
import { Engine, toFeeds } from '../src/engine/session.ts';

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
    timeout: 240_000,
    env: { ...process.env, ATTNBENCH_PROBES: 'quick', ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run one layer on the engine and return its output in logical layout. */
export async function runLayerOnce(spec: VariantSpec, shape: LayerShape, mode: Mode, params: LogicalParams): Promise<Float32Array> {
  const layer = buildLayer(spec, shape, mode);
  const engine = await Engine.create(layer.model, { threads: 1, graphOpt: 'all' });
  try {
    const out = await engine.run(toFeeds(layerInputs(layer, params)));
    return outputToLogical(layer, out.out!.data as Float32Array);
  } finally {
    await engine.release();
  }
}
