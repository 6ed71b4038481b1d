/**
 * The WebGPU path for real, on the adapter this machine gives (here: the SwiftShader that
 * npm ci brings with @sparticuz/chromium; lavapipe or a GPU where installed). Shapes are
 * tiny: a software adapter runs about 100× slower than the CPU provider, and compiles every
 * program on first use.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { WebGpuChoice } from '../src/device/choice.ts';
import type { DeviceCheck } from '../src/device/verify.ts';
import type { GpuRunTimes } from '../src/engine/trace.ts';
import { EVENT_LIMIT_MS, ROOT, TEST_LIMIT_MS, tmpDir } from './helpers.ts';
import { onWebGpu } from './webgpu-helpers.ts';

const LAUNCHER = path.join(ROOT, 'bin/attnbench.js');
const launch = (args: string[], env: NodeJS.ProcessEnv, cwd = ROOT) => spawnSync(process.execPath, [path.join(cwd, 'bin/attnbench.js'), ...args], { cwd, env, encoding: 'utf8', timeout: 2 * EVENT_LIMIT_MS });

test('--device webgpu: the launcher probes the Vulkan drivers before it starts the worker, then reuses its choice', { timeout: TEST_LIMIT_MS }, () => {
  const probed = launch(['layers', '--device', 'webgpu', '--help'], { ...process.env, ATTNBENCH_WEBGPU_PROBE: '1' });
  assert.equal(probed.status, 0, probed.stderr);
  assert.match(probed.stdout, /^Usage: attnbench layers/, 'the worker ran');
  assert.match(probed.stderr, /^attnbench: WebGPU on .+ \((env|system|swiftshader)(, a software adapter: not a GPU speed)?\)\n$/);
  const cached = launch(['layers', '--device=webgpu', '--help'], process.env);
  assert.equal(cached.status, 0, cached.stderr);
  assert.equal(cached.stderr, '', 'a cached choice is not announced again');
});

test('--device webgpu with no usable Vulkan setup: one line naming what is missing, exit 2, no worker', { timeout: TEST_LIMIT_MS }, () => {
  // a copy of the package without the npm Chromium (so no SwiftShader), and a driver list naming a file that is not there
  const copy = tmpDir();
  for (const d of ['bin', 'src']) fs.cpSync(path.join(ROOT, d), path.join(copy, d), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  fs.mkdirSync(path.join(copy, 'node_modules'));
  for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name === '.cache') continue;
    if (name === '@sparticuz') continue;
    fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(copy, 'node_modules', name));
  }
  const r = launch(['layers', '--device', 'webgpu', '--help'], { ...process.env, VK_DRIVER_FILES: path.join(copy, 'no-such-icd.json') }, copy);
  fs.rmSync(copy, { recursive: true, force: true });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '', 'the worker never started');
  assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
  assert.match(r.stderr, /^attnbench: error: --device webgpu: no usable WebGPU adapter: env \(other\): (no Vulkan loader \(libvulkan\.so\.1\); run npm ci|the Vulkan loader found no driver; install a Vulkan driver)/);
});

interface LayerRow extends DeviceCheck {
  variant: string;
  seq: number;
}

test('every hand-arranged variant is right on WebGPU; fused-gqa is wrong from sequence 32 on a software adapter', { timeout: TEST_LIMIT_MS }, async () => {
  const rows = await onWebGpu<LayerRow[]>('layers', [
    'multi-head/full/2/40/4/16',
    'multi-query/seed/2/40/4/16',
    'multi-query-1/full/2/40/4/16',
    'grouped-query:2/full/2/40/4/16',
    'multi-query-separate/seed/2/40/4/16',
    'fused-gqa:2/full/1/16/4/16',
    'fused-gqa:2/full/1/32/4/16',
  ]);
  for (const r of rows.filter((x) => x.variant !== 'fused-gqa:2')) assert.ok(!r.wrong && r.error < 1e-5, `${r.variant}: ${r.error}`);
  const fused = (seq: number) => rows.find((r) => r.variant === 'fused-gqa:2' && r.seq === seq)!;
  assert.equal(fused(16).wrong, false, `fused-gqa at 16: ${fused(16).error}`);
  const { choice } = await onWebGpu<{ choice: WebGpuChoice }>('ceilings');
  // onnxruntime-node 1.30's FlashAttention program on SwiftShader (subgroup 4) and lavapipe: errors of 1e-1 (docs/webgpu.md §3); right on the H200
  if (choice.adapter.software) assert.ok(fused(32).wrong && fused(32).error > 1e-2, `fused-gqa at 32 on a software adapter: ${fused(32).error}`);
});

test('GPU events become the stage split the CPU code makes: every stage has GPU time, programs summed per node', { timeout: TEST_LIMIT_MS }, async () => {
  const r = await onWebGpu<{ stageNames: string[]; stages: { name: string; kernelMs: number; wallMs: number }[]; gpu: GpuRunTimes[]; programs: { node: string; programs: string[] }[] }>('stages', ['multi-head']);
  assert.deepEqual(r.stages.map((s) => s.name), r.stageNames, 'no stage outside the layer\'s own');
  for (const s of r.stages) assert.ok(s.kernelMs > 0 && s.wallMs >= s.kernelMs, `${s.name}: ${s.kernelMs} ms of ${s.wallMs}`);
  assert.equal(r.gpu.length, 3);
  for (const g of r.gpu) assert.ok(g.programs >= r.programs.length && g.programUs > 0 && g.spanUs >= g.programUs);
  assert.ok(r.programs.every((k) => k.programs.length >= 1 && k.programs.every((p) => /^\w+:\w+$/.test(p))));
});

interface DecoderRow {
  variant: string;
  cacheUpdate: string;
  greedy: { cpu: number[][]; gpu: number[][] };
  beam: { cpu: number[][]; gpu: number[][] };
  firstStep: DeviceCheck & { prefillError: number };
  cacheDiff: number;
}

test('a tiny decoder with its cache on the GPU: the CPU\'s greedy and beam tokens, first step within 1e-4, the cache as the CPU\'s', { timeout: TEST_LIMIT_MS }, async () => {
  const rows = await onWebGpu<DecoderRow[]>('decoder', ['multi-head', 'multi-query', 'grouped-query:2']);
  for (const r of rows) {
    assert.equal(r.cacheUpdate, 'graph', 'on WebGPU the graph writes the cache');
    assert.deepEqual(r.greedy.gpu, r.greedy.cpu, `${r.variant} greedy`);
    assert.deepEqual(r.beam.gpu, r.beam.cpu, `${r.variant} beam`);
    assert.ok(!r.firstStep.wrong && r.firstStep.error < 1e-4 && r.firstStep.prefillError < 1e-4, `${r.variant}: ${JSON.stringify(r.firstStep)}`);
    assert.ok(r.cacheDiff < 1e-5, `${r.variant}: the GPU cache differs from the CPU's by ${r.cacheDiff}`);
  }
});

test('GPU ceilings: MatMul and ReduceSum program times give one positive rate per run', { timeout: TEST_LIMIT_MS }, async () => {
  const r = await onWebGpu<{ matmul: number[]; read: number[] }>('ceilings');
  for (const xs of [r.matmul, r.read]) {
    assert.equal(xs.length, 3);
    assert.ok(xs.every((x) => Number.isFinite(x) && x > 0), JSON.stringify(xs));
  }
});
