/**
 * The precision axes (--weight-dtype, --kv-dtype) pinned by hand: every combination at tiny
 * shapes through the typed API, each quantized result checked within its dtype's tolerance
 * and costing something against float32, speedups taken against multi-head at the same
 * dtypes; the bytes of a layer and of a decode step (weights, cache, outputs) counted by
 * hand; floors that divide quantized FLOPs by their own ceiling (and leave them out without
 * one); and the float64 simulation of a quantized layer, which must model the kernel (its
 * weights' codes and its input's quantization), not float32.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildLayer, layerShape, runLayer } from '../src/attention/layer.ts';
import { randomParams } from '../src/attention/params.ts';
import { dequantizedLayerParams, maxRelError, referenceAttention, referenceInput } from '../src/attention/reference.ts';
import { parseVariant, type Mode } from '../src/attention/spec.ts';
import { runDecode } from '../src/commands/run-decode.ts';
import { runLayers } from '../src/commands/run-layers.ts';
import { toleranceFor } from '../src/device/verify.ts';
import { nodeRuntime } from '../src/engine/session.ts';
import type { DecodeResult, DecodeResultFile, LayerResult, LayerResultFile } from '../src/results/schema.ts';
import { boundsOf } from '../src/results/bounds.ts';
import { ceilingRates, floorMs } from '../src/roofline/floor.ts';
import { ceilingsOf } from '../src/roofline/node-ceilings.ts';
import type { Probe } from '../src/roofline/probes.ts';
import { withSamples } from '../src/timing/stats.ts';
import { TEST_LIMIT_MS } from './helpers.ts';

const DTYPES = ['float32', 'int8', 'int4'] as const;
type D = (typeof DTYPES)[number];

/** A promise made once, on first use, shared by the tests that read it. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

// ---------------------------------------------------------------------------
// The layer sweep: 4 variants (seed) and 5 (full) × 3 weight dtypes, batch 1, seq 32, 4 heads of 16

const LAYER_VARIANTS: Record<Mode, string[]> = {
  seed: ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:2'],
  full: ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:2', 'fused-gqa:2'],
};
const LAYER = { batch: 1, seq: 32, heads: 4, headDim: 16 };

const layerRuns = once(async () => {
  const files = {} as Record<Mode, LayerResultFile>;
  for (const mode of ['seed', 'full'] as const) {
    files[mode] = await runLayers(
      { variants: LAYER_VARIANTS[mode], batch: [LAYER.batch], seq: [LAYER.seq], heads: LAYER.heads, headDim: LAYER.headDim, mode, weightDtype: [...DTYPES], repeats: 2, warmup: 1, profileRuns: 0, threads: 1, verify: true },
      { quickCeilings: true, progress: false, log: () => undefined },
    );
  }
  return files;
});

// ---------------------------------------------------------------------------
// The decode comparison: 4 types × 3 weight dtypes × 3 cache dtypes, 2 layers, hidden 64 in 4 heads of 16, batch 2, context 32

const DECODE_TYPES = ['multi-head', 'multi-query-1', 'grouped-query:2', 'fused-gqa:2'];
const MODEL = { layers: 2, hidden: 64, heads: 4, vocab: 200 };
const BATCH = 2;
const CONTEXT = 32;

const decodeRun = once(() =>
  runDecode(
    { attention: DECODE_TYPES, ...MODEL, context: [CONTEXT], batch: [BATCH], weightDtype: [...DTYPES], kvDtype: [...DTYPES], repeats: 2, warmup: 1, profileRuns: 0, threads: 1, verify: true },
    { quickCeilings: true, progress: false, log: () => undefined },
  ),
);

const decodeKey = (r: Pick<DecodeResult, 'attention' | 'weightDtype' | 'kvDtype'>) => `${r.attention} w:${r.weightDtype} kv:${r.kvDtype}`;
const layerKey = (r: Pick<LayerResult, 'attention' | 'mode' | 'weightDtype'>) => `${r.mode} ${r.attention} w:${r.weightDtype}`;
const allLayerResults = (files: Record<Mode, LayerResultFile>) => [...files.seed.results, ...files.full.results];

test('layers: every variant × mode × weight dtype is there once, none failed', { timeout: TEST_LIMIT_MS }, async () => {
  const files = await layerRuns();
  for (const mode of ['seed', 'full'] as const) {
    const f = files[mode];
    assert.deepEqual(f.failures, [], `${mode}: ${JSON.stringify(f.failures)}`);
    assert.equal(f.results.length, LAYER_VARIANTS[mode].length * DTYPES.length, `${mode}: ${f.results.map(layerKey).join(', ')}`);
    const want = DTYPES.flatMap((d) => LAYER_VARIANTS[mode].map((v) => `${mode} ${v} w:${d}`)).sort();
    assert.deepEqual(f.results.map(layerKey).sort(), want);
    assert.deepEqual(f.config?.weightDtype, [...DTYPES]);
    for (const r of f.results) assert.deepEqual([r.batch, r.seq, r.heads, r.headDim, r.mode, r.ms.n], [LAYER.batch, LAYER.seq, LAYER.heads, LAYER.headDim, mode, 2], layerKey(r));
  }
});

test('layers: each result is checked within its dtype tolerance; a quantized one costs something against float32, more than its check error', { timeout: TEST_LIMIT_MS }, async () => {
  for (const r of allLayerResults(await layerRuns())) {
    const k = layerKey(r);
    assert.ok(r.verify, `${k}: checked`);
    assert.equal(r.verify.tolerance, toleranceFor(r.weightDtype), `${k}: tolerance`);
    assert.equal(r.verify.against, 'float64 reference', k);
    assert.ok(r.verify.ok && r.verify.maxRelError <= r.verify.tolerance, `${k}: verify ${JSON.stringify(r.verify)}`);
    if (r.weightDtype === 'float32') {
      assert.equal(r.quality, undefined, `${k}: float32 has no quality figure`);
      assert.equal(r.quantizedFlops, undefined, `${k}: float32 has no quantized FLOPs`);
      continue;
    }
    assert.ok(r.quality, `${k}: a quality figure`);
    assert.ok(r.quality.what.length > 0, k);
    assert.ok(r.quality.maxRelError > 0 && Number.isFinite(r.quality.maxRelError), `${k}: quality ${r.quality.maxRelError}`);
    assert.ok(r.quality.maxRelError > r.verify.maxRelError, `${k}: quality ${r.quality.maxRelError} not above the check's error ${r.verify.maxRelError}`);
  }
});

test('layers: speedups are over multi-head at the same weight dtype, from the same rounds', { timeout: TEST_LIMIT_MS }, async () => {
  const files = await layerRuns();
  for (const mode of ['seed', 'full'] as const) {
    const results = files[mode].results;
    for (const r of results) checkSpeedup(r, layerKey(r), results.filter((b) => b.attention === 'multi-head' && b.weightDtype === r.weightDtype));
  }
});

/** Bytes of a [k, n] weight as its product holds it, by hand: float32 4kn; int8 kn codes + a float32 scale per column; int4 per column k/32 blocks of 16 code bytes + a float32 scale. */
function matrixBytes(k: number, n: number, d: D): number {
  if (d === 'float32') return 4 * k * n;
  if (d === 'int8') return k * n + 4 * n;
  assert.equal(k % 32, 0, 'the shapes here have k a multiple of the block');
  return n * (k / 32) * (16 + 4);
}

test('layers: task bytes by hand — hidden states in, output out (float32), the weights as codes and scales', { timeout: TEST_LIMIT_MS }, async () => {
  const nm = LAYER.heads * LAYER.headDim; // 64
  const rows = LAYER.batch * LAYER.seq; // 32
  for (const r of allLayerResults(await layerRuns())) {
    const k = layerKey(r);
    const qkvWidth = (LAYER.heads + 2 * r.kvHeads) * LAYER.headDim;
    const full = r.mode === 'full';
    const weights = matrixBytes(nm, qkvWidth, r.weightDtype as D) + (full ? matrixBytes(nm, nm, r.weightDtype as D) + 4 * (qkvWidth + nm) : 0);
    assert.equal(r.bytes, 4 * rows * nm * 2 + weights, k);
    if (r.weightDtype !== 'float32') assert.equal(r.quantizedFlops, 2 * rows * nm * qkvWidth + (full ? 2 * rows * nm * nm : 0), `${k}: the weight products' FLOPs`);
  }
  // one number written out: multi-head, seed mode, [64, 192] weight at int4: 192 columns × 2 blocks × 20 bytes, plus 2 × 32 × 64 floats
  const mhInt4 = (await layerRuns()).seed.results.find((r) => r.attention === 'multi-head' && r.weightDtype === 'int4')!;
  assert.equal(mhInt4.bytes, 192 * 2 * 20 + 4 * 2 * 32 * 64);
  const mhInt8 = (await layerRuns()).seed.results.find((r) => r.attention === 'multi-head' && r.weightDtype === 'int8')!;
  assert.equal(mhInt8.bytes, 64 * 192 + 4 * 192 + 4 * 2 * 32 * 64);
});

test("layers: a quantized result's task floor divides its weight products' FLOPs by the dtype's own probed ceiling", { timeout: TEST_LIMIT_MS }, async () => {
  const files = await layerRuns();
  for (const mode of ['seed', 'full'] as const) {
    const c = files[mode].environment.ceilings!;
    assert.ok(c.quantizedGflops?.int8 && c.quantizedGflops.int4, `${mode}: the run probed both quantized products: ${JSON.stringify(c.quantizedGflops)}`);
    for (const r of files[mode].results) {
      const q = r.weightDtype === 'float32' ? 0 : r.quantizedFlops!;
      const qRate = r.weightDtype === 'float32' ? 1 : c.quantizedGflops[r.weightDtype as 'int8' | 'int4']!;
      const compute = (r.flops - q) / (c.matmulGflops * 1e6) + q / (qRate * 1e6);
      const expected = Math.max(compute, r.bytes / (c.readGBps * 1e6));
      assert.ok(Math.abs(r.taskFloorMs! - expected) <= 1e-12 * expected, `${layerKey(r)}: task floor ${r.taskFloorMs}, by hand ${expected}`);
    }
  }
});

test('decode: every type × weight dtype × cache dtype is there once, none failed', { timeout: TEST_LIMIT_MS }, async () => {
  const f: DecodeResultFile = await decodeRun();
  assert.deepEqual(f.failures, [], JSON.stringify(f.failures));
  assert.equal(f.results.length, DECODE_TYPES.length * DTYPES.length * DTYPES.length, f.results.map(decodeKey).join(', '));
  const want = DTYPES.flatMap((w) => DTYPES.flatMap((kv) => DECODE_TYPES.map((a) => decodeKey({ attention: a, weightDtype: w, kvDtype: kv })))).sort();
  assert.deepEqual(f.results.map(decodeKey).sort(), want);
  for (const r of f.results) assert.deepEqual([r.batch, r.context, r.ms.n], [BATCH, CONTEXT, 2], decodeKey(r));
});

test('decode: each result is checked within its dtypes’ tolerance; a quantized one costs something against float32, more than its check error', { timeout: TEST_LIMIT_MS }, async () => {
  const wrong: string[] = [];
  for (const r of (await decodeRun()).results) {
    const k = decodeKey(r);
    assert.ok(r.verify, `${k}: checked`);
    assert.equal(r.verify.tolerance, toleranceFor(r.weightDtype, r.kvDtype), `${k}: tolerance`);
    if (!r.verify.ok) wrong.push(`${k}: ${r.verify.maxRelError.toExponential(2)} > ${r.verify.tolerance}`);
    if (r.weightDtype === 'float32' && r.kvDtype === 'float32') {
      assert.equal(r.quality, undefined, `${k}: float32 has no quality figure`);
      continue;
    }
    assert.ok(r.quality, `${k}: a quality figure`);
    assert.ok(r.quality.maxRelError > 0 && Number.isFinite(r.quality.maxRelError), `${k}: quality ${r.quality.maxRelError}`);
    assert.ok(r.quality.maxRelError > r.verify.maxRelError, `${k}: quality ${r.quality.maxRelError} not above the check's error ${r.verify.maxRelError}`);
    assert.equal(r.quantizedFlops === undefined, r.weightDtype === 'float32', `${k}: quantized FLOPs exactly where the weights are quantized`);
  }
  // every one listed, not only the first: a correct kernel checked against a reference that does not model it
  assert.deepEqual(wrong, [], `results beyond their tolerance:\n${wrong.join('\n')}`);
});

test('decode: speedups are over multi-head at the same weight and cache dtypes, from the same rounds', { timeout: TEST_LIMIT_MS }, async () => {
  const results = (await decodeRun()).results;
  for (const r of results) checkSpeedup(r, decodeKey(r), results.filter((b) => b.attention === 'multi-head' && b.weightDtype === r.weightDtype && b.kvDtype === r.kvDtype));
});

test('decode: the live cache and the task bytes by hand (weights as stored, the cache at its dtype, new K/V rows and logits in float32)', { timeout: TEST_LIMIT_MS }, async () => {
  const { layers: L, hidden: nm, heads: H, vocab: V } = MODEL;
  const D = nm / H; // 16
  const inner = 4 * nm; // 256
  const cached = CONTEXT - 1;
  const bits = { float32: 32, int8: 8, int4: 4 } as const;
  for (const r of (await decodeRun()).results) {
    const k = decodeKey(r);
    const G = r.kvHeads;
    assert.equal(G, { 'multi-head': 4, 'multi-query-1': 1, 'grouped-query:2': 2, 'fused-gqa:2': 2 }[r.attention], k);
    const kv = r.kvDtype as D;
    const w = r.weightDtype as D;
    // a cached head: float32 D·4 bytes; int codes plus a float32 scale per position and head; the fused kernel's int cache: codes only (its scales are static)
    const head = kv === 'float32' ? D * 4 : r.attention === 'fused-gqa:2' ? (D * bits[kv]) / 8 : (D * bits[kv]) / 8 + 4;
    const cache = 2 * L * BATCH * G * cached * head;
    assert.equal(r.kvCacheBytes, cache, `${k}: live cache`);
    // per block: q/k/v [nm, nm + 2·G·D], output [nm, nm], MLP [nm, inner] and [inner, nm]; the tied LM head [nm, vocab]
    const matrices = L * (matrixBytes(nm, nm + 2 * G * D, w) + matrixBytes(nm, nm, w) + matrixBytes(nm, inner, w) + matrixBytes(inner, nm, w)) + matrixBytes(nm, V, w);
    // float32: per block the biases (q/k/v, output, MLP in and out) and two norms' gains and biases; the final norm; one position row.
    // As decodeWeightBytes counts them today: at int8/int4 the step also gathers its tokens' rows from the float32 embedding table
    // (the LM head holds the quantized copy), BATCH · nm · 4 bytes that no count includes
    const floats = L * (nm + 2 * G * D + nm + inner + nm + 4 * nm) + 2 * nm + nm;
    const outputs = 2 * L * BATCH * G * D * 4 + 4 * BATCH * V;
    assert.equal(r.bytes, matrices + 4 * floats + cache + outputs, `${k}: task bytes`);
  }
  // two numbers written out: multi-head (4 K/V heads), int8 cache: 2 · 2 layers · 2 rows · 4 heads · 31 positions · (16 + 4) bytes
  const results = (await decodeRun()).results;
  assert.equal(results.find((r) => r.attention === 'multi-head' && r.kvDtype === 'int8')!.kvCacheBytes, 2 * 2 * 2 * 4 * 31 * 20);
  assert.equal(results.find((r) => r.attention === 'fused-gqa:2' && r.kvDtype === 'int4')!.kvCacheBytes, 2 * 2 * 2 * 2 * 31 * 8);
});

test('floors by hand: quantized FLOPs at their own probed ceiling, left out where that dtype was not probed, never at the float32 one', () => {
  const s = (xs: number[]) => withSamples(xs);
  const probe: Probe = {
    at: 'now',
    label: 'hand',
    matmul: [{ shape: 's', flops: 1, gflops: s([80, 100]) }],
    quantized: [{ dtype: 'int8', shape: 's', flops: 1, gflops: s([300, 400]) }],
    readGBps: s([8, 10]),
    streamGBps: s([9, 12]),
    copyGBps: s([5]),
  };
  const c = ceilingsOf([probe], 1);
  assert.deepEqual([c.matmulGflops, c.readGBps, c.quantizedGflops], [100, 12, { int8: 400 }], 'the fastest samples');
  const rates = ceilingRates(c);
  // 3 GFLOP of which 2 in int8 products: 1e9 / 100 GFLOP/s = 10 ms, plus 2e9 / 400 GFLOP/s = 5 ms; 1.2 MB / 12 GB/s = 0.1 ms
  assert.equal(floorMs({ flops: 3e9, bytes: 1.2e6, quantized: { dtype: 'int8', flops: 2e9 } }, rates), 15);
  // int4 was not probed: its 2 GFLOP are left out (10 ms), not divided by the float32 ceiling (30 ms)
  assert.equal(floorMs({ flops: 3e9, bytes: 1.2e6, quantized: { dtype: 'int4', flops: 2e9 } }, rates), 10);
  assert.equal(floorMs({ flops: 3e9, bytes: 1.2e6 }, rates), 30, 'all float32: 3e9 / 100 GFLOP/s');
  // memory-bound: 1.2 GB / 12 GB/s = 100 ms whatever the FLOPs
  assert.equal(floorMs({ flops: 3e6, bytes: 1.2e9, quantized: { dtype: 'int8', flops: 2e6 } }, rates), 100);
  // ceilings without any quantized probe: the quantized FLOPs are left out
  const { quantized: _q, ...plain } = probe;
  const none = ceilingsOf([plain], 1);
  assert.equal(none.quantizedGflops, undefined);
  assert.equal(floorMs({ flops: 3e9, bytes: 1.2e6, quantized: { dtype: 'int8', flops: 2e9 } }, ceilingRates(none)), 10);

  // a result's bounds: its task floor and compute fraction take the quantized rate; a stage's rate is held to the faster ceiling of its dtype
  const measured = { flops: 3e9, bytes: 1.2e6, quantizedFlops: 2e9, implementationBytes: null, ms: { median: 30, min: 20 }, stages: [{ name: 'qkv', gflops: 150 }] };
  const int8 = boundsOf({ ...measured, weightDtype: 'int8' }, c);
  assert.deepEqual([int8.taskFloorMs, int8.computeFraction, int8.flags], [15, 0.5, []], 'int8: 15 ms floor, 15 of 30 ms, 150 GFLOP/s under the int8 ceiling of 400');
  const int4 = boundsOf({ ...measured, weightDtype: 'int4' }, c);
  assert.deepEqual([int4.taskFloorMs, int4.flags], [10, []], 'int4 unprobed: FLOPs left out, no stage ceiling to break');
  const f32 = boundsOf({ ...measured, quantizedFlops: undefined, weightDtype: 'float32' }, c);
  assert.deepEqual([f32.taskFloorMs, f32.flags], [30, ['below task floor', 'qkv above the matmul ceiling']], 'float32: 30 ms floor, which a 20 ms run breaks; 150 GFLOP/s above 100');
  // quantized FLOPs on a float32 result are not quantized products
  assert.equal(boundsOf({ ...measured, weightDtype: 'float32' }, c).taskFloorMs, 30);
});

test("the float64 simulation models the kernel: a quantized layer agrees with the reference on its dequantized weights and quantized inputs, not with float32", { timeout: TEST_LIMIT_MS }, async () => {
  const rt = nodeRuntime({ threads: 1, graphOpt: 'all' });
  const seedVariants = ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:2', 'multi-query-separate'];
  for (const mode of ['seed', 'full'] as const) {
    for (const name of [...seedVariants, ...(mode === 'full' ? ['fused-gqa:2'] : [])]) {
      for (const d of ['int8', 'int4'] as const) {
        for (const seed of [1, 2]) {
          const spec = parseVariant(name);
          const shape = layerShape(spec, { batch: 2, seq: 16, heads: 4, headDim: 16 });
          const params = randomParams(shape, mode, seed);
          const got = await runLayer(rt, buildLayer(spec, shape, mode, params, d), params);
          const deq = dequantizedLayerParams(params, shape, d);
          const k = `${mode} ${name} ${d} seed ${seed}`;
          const simulated = maxRelError(got, referenceAttention(deq, shape, mode, referenceInput(d)));
          // seed mode's products read the given hidden states: the same codes exactly, float32 rounding only. Full mode's output
          // projection reads an input the engine computed, where a value at a half step may round the other way (verify.ts)
          const bound = mode === 'seed' ? 1e-5 : toleranceFor(d);
          assert.ok(simulated < bound, `${k}: ${simulated} against the simulation`);
          // each half of the simulation is needed: the float32 weights, or the dequantized weights with unquantized inputs, are far off
          const float32 = maxRelError(got, referenceAttention(params, shape, mode));
          assert.ok(float32 > 1e-3, `${k}: only ${float32} from float32`);
          const weightsOnly = maxRelError(got, referenceAttention(deq, shape, mode));
          assert.ok(weightsOnly > 1e-3, `${k}: only ${weightsOnly} from the dequantized weights with float32 inputs`);
        }
      }
    }
  }
  // the dequantized weights differ from the float32 ones, the biases and the input do not
  const shape = layerShape(parseVariant('multi-head'), { batch: 1, seq: 4, heads: 2, headDim: 32 });
  const p = randomParams(shape, 'full', 3);
  for (const d of ['int8', 'int4'] as const) {
    const q = dequantizedLayerParams(p, shape, d);
    for (const w of ['wq', 'wk', 'wv', 'wo'] as const) assert.ok(maxRelError(q[w]!, p[w]!) > 1e-4, `${d} ${w} is quantized`);
    for (const b of ['hidden', 'bq', 'bk', 'bv', 'bo'] as const) assert.equal(q[b], p[b], `${d} ${b} as it is`);
  }
  assert.equal(dequantizedLayerParams(p, shape, 'float32'), p);
  assert.equal(referenceInput('float32'), undefined);
});

/** A result's speedup is over the one multi-head result at its own dtypes (`base`), the ratio of their medians; none for multi-head itself or a wrong result. */
function checkSpeedup(r: { attention: string; speedup: { baseline: string; ratio: number } | null; verify?: { ok: boolean }; ms: { median: number } }, k: string, base: readonly { verify?: { ok: boolean }; ms: { median: number } }[]): void {
  assert.equal(base.length, 1, `${k}: one multi-head at these dtypes`);
  if (r.attention === 'multi-head') return assert.equal(r.speedup, null, `${k}: none over itself`);
  if (!r.verify!.ok || !base[0]!.verify!.ok) return assert.equal(r.speedup, null, `${k}: a wrong result has no speedup`);
  assert.ok(r.speedup, `${k}: a speedup`);
  assert.equal(r.speedup.baseline, 'multi-head', k);
  const ratio = base[0]!.ms.median / r.ms.median;
  assert.ok(Math.abs(r.speedup.ratio - ratio) <= 1e-12 * ratio, `${k}: ratio ${r.speedup.ratio}, multi-head at the same dtypes gives ${ratio}`);
}
