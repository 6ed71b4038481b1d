/**
 * The measurement maths, pinned by numbers worked out by hand: FLOPs and bytes of a layer
 * and of a decode step, the bytes the engine's profiler reports a graph moving, the CPU's
 * theoretical peak, and a bandwidth-bound graph that must never come out below its floor.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerCost } from '../src/attention/cost.ts';
import { layerShape } from '../src/attention/layer.ts';
import { parseVariant } from '../src/attention/spec.ts';
import { GraphBuilder } from '../src/engine/graph.ts';
import { Engine, f32 } from '../src/engine/session.ts';
import { decodeStepCost, gpt2Config } from '../src/model/config.ts';
import { flopsPerCycle, nominalGhz, parseCpuinfo } from '../src/roofline/cpu.ts';
import { boundFlags, floorMs } from '../src/roofline/floor.ts';
import type { Runtime } from '../src/engine/runtime.ts';
import { settleBounds } from '../src/commands/run-ceilings.ts';
import { peakNote, probeMatmul, probeRead, shapeLabel, type Ceilings } from '../src/roofline/probes.ts';
import { runShapes, sweepJobs } from '../src/measure/sweep.ts';
import { MAIN_JOB_GRID } from '../src/config/layers.ts';
import { nodeRuntime } from '../src/engine/session.ts';
import { ceilingsOf, probe } from '../src/roofline/node-ceilings.ts';
import { movedBytes } from '../src/roofline/traffic.ts';
import { timeRuns } from '../src/timing/measure.ts';

const seedShape = (variant: string) => layerShape(parseVariant(variant), { batch: 8, seq: 512, heads: 16, headDim: 64 });

test('FLOPs of the seed shape (batch 8, sequence 512, 16 heads × 64), by hand', () => {
  // projection 2·4096·1024·3072 + two batched products 2·(2·8·16·512·512·64)
  assert.equal(layerCost(seedShape('multi-head'), 'seed').flops, 34_359_738_368);
  // the projection shrinks to (16 + 2)·64 = 1152 columns
  assert.equal(layerCost(seedShape('multi-query-1'), 'seed').flops, 18_253_611_008);
  // full mode adds 5 per score, the output projection and the biases
  assert.equal((layerCost(seedShape('multi-head'), 'full').flops / 1e9).toFixed(2), '43.13');
  assert.equal((layerCost(seedShape('multi-query-1'), 'full').flops / 1e9).toFixed(2), '27.02');
});

test("a layer's task bytes: hidden states and weights read once, output written once", () => {
  // 4096 rows × 1024 hidden in, [1024, 3072] weights, 4096 × 1024 out, float32
  assert.equal(layerCost(seedShape('multi-head'), 'seed').bytes, 4 * (4096 * 1024 + 1024 * 3072 + 4096 * 1024));
  assert.equal(layerCost(seedShape('multi-query-1'), 'seed').bytes, 4 * (4096 * 1024 + 1024 * 1152 + 4096 * 1024));
});

test('the decode step of a known small model: FLOPs and bytes by hand', () => {
  // 1 layer, hidden 8 in 2 heads of 4, inner 32, vocab 10, 16 positions; one K/V head; 2 rows at context 5
  const c = gpt2Config({ layers: 1, hidden: 8, heads: 2, positions: 16, vocab: 10 });
  const attn = 8 * (8 + 2 * 4) + (8 + 2 * 4) + 8 * 8 + 8; // q, k, v (one K/V head of 4) and their biases; output projection and bias
  const mlp = 8 * 32 + 32 + 32 * 8 + 8;
  const weights = 10 * 8 + attn + mlp + 4 * 8 + 2 * 8 + 8; // tied LM head, block, its norms, final norm, one position row
  const cost = decodeStepCost(c, 1, 2, 5);
  const kvPerPosition = 2 * 1 * 2 * 1 * 4 * 4; // K and V, 1 layer, 2 rows, 1 head of 4, float32
  assert.equal(cost.bytes, 4 * weights + kvPerPosition * 4 + kvPerPosition + 4 * 2 * 10, 'weights, 4 cached positions, the new K/V rows, the logits');
  assert.equal(cost.flops, 2 * 2 * (weights - 8) + 2 * 2 * 2 * 2 * 4 * 5);
});

test('the theoretical peak reads the CPU: AVX-512 (Intel, Zen 5) 64 FLOP/cycle, AVX2 32, Zen 4 its 256-bit units; the clock from the model name', () => {
  const info = parseCpuinfo('processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor @ 2.50GHz\ncpu MHz\t\t: 2500.006\nflags\t\t: fpu avx avx2 fma avx512f\n\nprocessor\t: 1\n');
  assert.equal(info.model, 'Intel(R) Xeon(R) Processor @ 2.50GHz');
  assert.equal(flopsPerCycle(info.flags, info.vendor).value, 64);
  assert.equal(nominalGhz(info.model, info.mhz), 2.5);
  assert.equal(flopsPerCycle(new Set(['avx', 'avx2', 'fma', 'avx512f']), 'AuthenticAMD').value, 32);
  assert.equal(flopsPerCycle(new Set(['avx', 'avx2', 'fma']), 'GenuineIntel').value, 32);
  assert.equal(nominalGhz('AMD EPYC 9R14 96-Core Processor', 2600), 2.6);
  // Zen 5 (family 26) has 512-bit units: this host's EPYC, whose hypervisor names it only "AMD EPYC"
  const zen5 = parseCpuinfo('processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2600.000\nflags\t\t: avx avx2 fma avx512f avx512_vp2intersect\n');
  assert.equal(zen5.family, 26);
  assert.equal(flopsPerCycle(zen5.flags, zen5.vendor, zen5.family).value, 64);
  assert.equal(flopsPerCycle(zen5.flags, zen5.vendor, 25).value, 32, 'Zen 4 (family 25) stays at its 256-bit units');
});

test("the compute probe multiplies every product the run times: each configuration's, the layout's own form", async () => {
  const variants = ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:4'].map(parseVariant);
  const labels = runShapes(sweepJobs({ variants, batch: MAIN_JOB_GRID.batch, seq: MAIN_JOB_GRID.seq, heads: 16, headDim: 64, mode: 'seed' })).map(shapeLabel);
  // the main job's qkv at batch 8, sequence 128 (it beat a ceiling probed at sequence 1024 only), and at 1024
  for (const l of ['1024×1024×3072 (B constant)', '8192×1024×3072 (B constant)', '1024×1024×1152 (B constant)', '1024×1024×1536 (B constant)']) assert.ok(labels.includes(l), `${l} in ${labels.join(', ')}`);
  // multi-query projects as W·Hᵀ, one Gemm with the weight first
  assert.ok(labels.includes('1152×1024×1024 (W·Xᵀ)') && labels.includes('1152×1024×8192 (W·Xᵀ)'), labels.join(', '));
  assert.ok(labels.includes('128×128×64×128') && labels.includes('8×2048×64×128') && labels.includes('8×16384×1024×64'), 'the batched products of every sequence length');
  assert.equal(new Set(labels).size, labels.length, 'each product once');
  const full = runShapes(sweepJobs({ variants: [parseVariant('multi-head')], batch: [2], seq: [16], heads: 4, headDim: 8, mode: 'full' })).map(shapeLabel);
  assert.ok(full.includes('32×32×32 (B constant)'), `full mode's output projection: ${full.join(', ')}`);
  // a weight-first product runs (Gemm with transB) and has a rate
  const rates = await probeMatmul(nodeRuntime({ threads: 1, graphOpt: 'all' }), { batch: 1, m: 96, k: 64, n: 256, constantB: true, weightFirst: true }, 3);
  assert.ok(rates.length > 0 && rates.every((r) => r > 0 && Number.isFinite(r)), String(rates));
});

test('the peak is shown as a bound only where it is one: below a measured rate it is named nominal', () => {
  const peak = { gflops: 166.4, cores: 2, ghz: 2.6, flopsPerCycle: 32, method: 'm' };
  assert.equal(peakNote({ matmulGflops: 120, peak }), 'theoretical peak 166');
  assert.equal(peakNote({ matmulGflops: 202, peak }), 'nominal peak 166; this CPU boosts past it');
  assert.equal(peakNote({ matmulGflops: 202, peak }, ' GFLOP/s'), 'nominal peak 166 GFLOP/s; this CPU boosts past it');
  assert.equal(peakNote({ matmulGflops: 202, peak: null }), null);
});

test('floors and flags: a time below a floor, or a rate above the ceiling, is a broken bound', () => {
  const rates = { matmulGflops: 100, readGBps: 10 };
  assert.equal(floorMs({ flops: 1e9, bytes: 1e6 }, rates), 10, 'compute-bound: 1 GFLOP at 100 GFLOP/s');
  assert.equal(floorMs({ flops: 1e6, bytes: 1e9 }, rates), 100, 'memory-bound: 1 GB at 10 GB/s');
  const c = ceilingsOf([{ at: 'now', label: 't', matmul: [{ shape: 's', flops: 1, gflops: { median: 90, min: 80, max: 100, p90: 100, stddev: 1, n: 3, samples: [80, 90, 100] } }], readGBps: { median: 9, min: 8, max: 10, p90: 10, stddev: 1, n: 3, samples: [8, 9, 10] }, streamGBps: { median: 11, min: 11, max: 12, p90: 12, stddev: 0.5, n: 2, samples: [11, 12] }, copyGBps: { median: 5, min: 5, max: 5, p90: 5, stddev: 0, n: 1, samples: [5] } }], 2);
  assert.equal(c.matmulGflops, 100, 'the bound is the fastest sample, not the median');
  assert.equal(c.readGBps, 12, 'the memory bound is the fastest streaming sample, a read or an Add');
  assert.deepEqual(boundFlags(9, { task: 10, implementation: null }, [{ name: 'qkv', gflops: 101 }], c.matmulGflops), ['below task floor', 'qkv above the matmul ceiling']);
  assert.deepEqual(boundFlags(11, { task: 10, implementation: 10.5 }, [{ name: 'qkv', gflops: 99 }], c.matmulGflops), []);
});

test('the bytes a graph moves, as the engine reports them: an Add reads two tensors and writes one; a Reshape moves nothing', async () => {
  const n = 1 << 16;
  const g = new GraphBuilder('traffic');
  const sum = g.node('Add', [g.input('a', [n]), g.input('b', [n])], {}, { stage: 'add' });
  g.output(g.node('Reshape', [sum, g.ints([256, -1])], {}, { stage: 'view' }), 'out');
  const e = await Engine.create(g.toBytes(), { threads: 1, graphOpt: 'none', profile: true });
  try {
    const x = f32(new Float32Array(n).fill(1), [n]);
    await e.runTensors({ a: x, b: x });
    const [run] = await e.endProfiling();
    assert.equal(movedBytes(run!), 3 * 4 * n, 'two inputs read, one output written; the reshape is a view');
    assert.equal(movedBytes(run!, 1000), 3 * 4 * n + 1000, 'the weights are added once');
  } finally {
    await e.release();
  }
});

test('a bandwidth-bound graph never comes out below its floor once the run has settled its bounds (its bytes from the profiler, the read bound from the probes)', async () => {
  // 3 × 128 MiB touched: well past the last-level cache, so DRAM bandwidth bounds it. (3 × 32 MiB was
  // not, on an EPYC host of this kind: its Add streamed at up to 49 GB/s where 3 × 64 and 3 × 128 MiB
  // reached 43, so it beat the probes' DRAM bound even after five probings.)
  const n = (128 * 2 ** 20) / 4;
  const g = new GraphBuilder('bandwidth');
  g.output(g.node('Add', [g.input('a', [n]), g.input('b', [n])]), 'out');
  // probed before and after the graph's runs, as a sweep probes around its configurations
  const before = await probe({ threads: 2, graphOpt: 'all' });
  const e = await Engine.create(g.toBytes(), { threads: 2, graphOpt: 'all', profile: true });
  let fastestKernelMs: number;
  let bytes: number;
  try {
    const a = f32(new Float32Array(n).fill(1), [n]);
    const b = f32(new Float32Array(n).fill(2), [n]);
    await timeRuns(8, () => e.runTensors({ a, b }));
    const runs = (await e.endProfiling()).slice(2);
    fastestKernelMs = Math.min(...runs.map((r) => r.kernels.reduce((t, k) => t + k.dur, 0) / 1000));
    bytes = movedBytes(runs[0]!)!;
  } finally {
    await e.release();
  }
  const floorOf = (c: Ceilings) => floorMs({ flops: n, bytes }, { matmulGflops: c.matmulGflops, readGBps: c.readGBps });
  // as a run does before it writes its file (settleBounds): a result that beats its floor means the
  // probes met a slow moment of a drifting or busy host, so they probe again (measured here with a
  // core taken by another process: the first two probings' read bound was beaten by 4 %)
  const { ceilings: c } = await settleBounds(
    ceilingsOf([before, await probe({ threads: 2, graphOpt: 'all' })], 2),
    (cs) => [{ flags: fastestKernelMs < floorOf(cs) ? ['below its floor'] : [] }],
    async (prev) => ceilingsOf([...prev.probes, await probe({ threads: 2, graphOpt: 'all' })], 2),
    () => undefined,
  );
  const floor = floorOf(c);
  assert.ok(fastestKernelMs >= floor, `the Add's fastest kernel time ${fastestKernelMs.toFixed(2)} ms is below its floor ${floor.toFixed(2)} ms (read bound ${c.readGBps.toFixed(1)} GB/s, ${c.probes.length} probings)`);
});

test("a probe run the profiler timed at 0 ms has no rate, not an infinite one; a probe with none says so", async () => {
  // a runtime whose profiler reports given kernel times (a page's coarse profiler reads a tiny probe as 0)
  const timed = (durUs: number[]): Runtime => ({
    name: 'a fake profiler',
    now: () => 0,
    createSession: async () => ({
      feeds: () => ({ runtimeFeeds: true }),
      run: async () => ({}),
      endProfiling: async () => durUs.map((dur) => ({ kernels: [{ node: 'x', op: 'ReduceSum', ts: 0, dur }], executeTs: 0, executeUs: dur, modelRunUs: dur })),
      release: async () => undefined,
    }),
  });
  // two warm-up runs, then 0, 1000 and 2000 µs over 4 MiB
  const rates = await probeRead(timed([5, 5, 0, 1000, 2000]), 4, 3);
  assert.deepEqual(rates.map((r) => r.toFixed(3)), [(4 * 2 ** 20 / 1e6).toFixed(3), (2 * 2 ** 20 / 1e6).toFixed(3)]);
  assert.ok(rates.every(Number.isFinite));
  await assert.rejects(probeRead(timed([5, 5, 0, 0, 0]), 4, 3), /the streaming read probe: every run was faster than the profiler's clock can tell/);
});
