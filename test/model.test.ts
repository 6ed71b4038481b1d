/** The decoder's graphs against a float64 reference, cached against uncached logits, the KV cache's bookkeeping. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseVariant, variantLabel } from '../src/attention/spec.ts';
import { MASK_MIN } from '../src/core/constants.ts';
import { KvCache } from '../src/generate/kv-cache.ts';
import { leftPad } from '../src/generate/prompts.ts';
import { predictedKvBytes } from '../src/model/cache.ts';
import { modelKvHeads, parameterCount, type ModelConfig } from '../src/model/config.ts';
import { DecoderModel } from '../src/model/model.ts';
import { referenceLogits } from '../src/model/reference.ts';
import { convertKvHeads, pack, randomWeights } from '../src/model/weights.ts';

export const TINY: ModelConfig = { layers: 2, hidden: 32, heads: 4, positions: 64, vocab: 150, inner: 128, layerNormEps: 1e-5, activation: 'gelu_new' };
const TYPES = ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:2', 'multi-query-separate', 'fused-gqa:2'];

/** Normwise relative error of a float32 row against float64. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}

function causal(seq: number): Float32Array {
  const m = new Float32Array(seq * seq);
  for (let i = 0; i < seq; i++) for (let j = 0; j < seq; j++) m[i * seq + j] = j <= i ? 0 : MASK_MIN;
  return m;
}

const ids = (xs: number[]) => BigInt64Array.from(xs, BigInt);

for (const name of TYPES) {
  test(`${name}: prefill and decode steps match the float64 reference forward pass`, async () => {
    const spec = parseVariant(name);
    const w = randomWeights(TINY, modelKvHeads(TINY, spec), { seed: 4, std: 0.3, biasStd: 0.1 });
    const m = new DecoderModel(pack(w, spec), { threads: 1 });
    try {
      const seq = [5, 17, 99, 4, 50];
      const out = await m.prefill({ rows: 1, seq: seq.length, tokens: ids(seq), positions: ids(seq.map((_, i) => i)), selfMask: causal(seq.length) });
      const V = TINY.vocab;
      assert.ok(relErr(out.logits, referenceLogits(w, seq).subarray((seq.length - 1) * V)) < 1e-4, 'prefill logits');
      // capacity 4 < prompt: the cache grows while writing, then in chunks of 4 while decoding
      const cache = new KvCache({ ...m.cacheShape, rows: 1 }, 4, 4);
      cache.writePrefill(out.kv, seq.length, new Array(seq.length).fill(true));
      for (const next of [7, 140, 7, 33, 1, 2]) {
        const step = await m.step(ids([next]), ids([seq.length]), cache);
        cache.append(step.kv);
        seq.push(next);
        const ref = referenceLogits(w, seq).subarray((seq.length - 1) * V);
        assert.ok(relErr(step.logits, ref) < 1e-4, `decode logits at length ${seq.length}: ${relErr(step.logits, ref)}`);
      }
      assert.equal(cache.length, 11);
      assert.equal(cache.capacity, 12);
    } finally {
      await m.release();
    }
  });
}

test('cached and uncached logits agree within 1e-4 on a left-padded batch', async () => {
  for (const name of ['multi-head', 'multi-query', 'grouped-query:2']) {
    const spec = parseVariant(name);
    const m = new DecoderModel(pack(randomWeights(TINY, modelKvHeads(TINY, spec), { seed: 9, std: 0.4, biasStd: 0.1 }), spec), { threads: 1 });
    try {
      const prompts = [[3, 4, 5, 6, 7], [8, 9], [10, 11, 12]];
      const b = leftPad(prompts, 149);
      const pre = await m.prefill({ rows: b.rows, seq: b.seq, tokens: b.tokens, positions: b.positions, selfMask: b.mask });
      const cache = new KvCache({ ...m.cacheShape, rows: b.rows }, 8, 8);
      cache.writePrefill(pre.kv, b.seq, b.live);
      const history = prompts.map((p) => [...p]);
      for (let t = 0; t < 5; t++) {
        const next = history.map((h, r) => (h.length * 7 + r * 13 + t) % 149);
        const step = await m.step(ids(next), ids(history.map((h) => h.length)), cache);
        cache.append(step.kv);
        next.forEach((x, r) => history[r]!.push(x));
        // uncached: the whole left-padded batch again
        const full = leftPad(history, 149);
        const again = await m.prefill({ rows: full.rows, seq: full.seq, tokens: full.tokens, positions: full.positions, selfMask: full.mask });
        assert.ok(relErr(step.logits, again.logits) < 1e-4, `${name} step ${t}: ${relErr(step.logits, again.logits)}`);
      }
    } finally {
      await m.release();
    }
  }
});

test('parameter counts: the packed tensors hold exactly parameterCount floats; K/V projections shrink with fewer K/V heads', () => {
  for (const name of TYPES) {
    const spec = parseVariant(name);
    const g = modelKvHeads(TINY, spec);
    const pm = pack(randomWeights(TINY, g, { seed: 1 }), spec);
    const floats = Object.values(pm.tensors).reduce((a, t) => a + t.data.length, 0);
    assert.equal(floats, parameterCount(TINY, g), variantLabel(spec));
  }
  const D = TINY.hidden / TINY.heads;
  // each layer's K and V projections lose (heads − 1) heads of weights and biases
  assert.equal(parameterCount(TINY, 4) - parameterCount(TINY, 1), TINY.layers * 2 * (TINY.hidden + 1) * 3 * D);
  // gpt2-medium has 354,823,168 parameters (Hugging Face's count); the seed's model has 1024 more positions
  const medium = { layers: 24, hidden: 1024, heads: 16, positions: 1024, vocab: 50257, inner: 4096, layerNormEps: 1e-5, activation: 'gelu_new' as const };
  assert.equal(parameterCount(medium, 16), 354_823_168);
  assert.equal(parameterCount({ ...medium, layers: 12, hidden: 768, heads: 12, inner: 3072 }, 12), 124_439_808); // gpt2
  assert.equal(parameterCount({ ...medium, positions: 2048 }, 16), 354_823_168 + 1024 * 1024);
});

test('K/V heads repeated from multi-query to multi-head compute the same function', async () => {
  const mqa = randomWeights(TINY, 1, { seed: 3, std: 0.3, biasStd: 0.1 });
  const mha = convertKvHeads(mqa, 4);
  assert.equal(mha.kvHeads, 4);
  const seq = [1, 2, 3, 4];
  const a = referenceLogits(mqa, seq);
  const b = referenceLogits(mha, seq);
  assert.ok(relErr(b, a) < 1e-12);
  const pooled = convertKvHeads(mha, 1);
  assert.ok(relErr(referenceLogits(pooled, seq), a) < 1e-12, 'mean-pooling identical heads gives them back');
});

test('KV cache: growth keeps contents, reorder follows its sources (with duplicates), bytes are counted', () => {
  const shape = { layers: 2, rows: 4, kvHeads: 2, headDim: 3 };
  const c = new KvCache(shape, 2, 2);
  const width = 2 * shape.kvHeads * shape.headDim;
  const rowVal = (i: number, r: number, t: number, j: number) => 1000 * i + 100 * r + 10 * t + j;
  for (let t = 0; t < 5; t++) {
    const kv = new Float32Array(shape.layers * shape.rows * width).map((_, x) => {
      const j = x % width;
      const r = Math.floor(x / width) % shape.rows;
      const i = Math.floor(x / width / shape.rows);
      return rowVal(i, r, t, j);
    });
    c.append(kv);
  }
  assert.equal(c.capacity, 6);
  const k = (i: number, r: number, h: number, t: number, d: number) => c.k[i]![((r * 2 + h) * c.capacity + t) * 3 + d]!;
  const v = (i: number, r: number, h: number, t: number, d: number) => c.v[i]![((r * 2 + h) * c.capacity + t) * 3 + d]!;
  assert.equal(k(1, 2, 1, 4, 2), rowVal(1, 2, 4, 1 * 3 + 2));
  assert.equal(v(0, 3, 0, 0, 1), rowVal(0, 3, 0, 6 + 1));
  assert.equal(c.allocatedBytes(), 2 * 2 * 4 * 2 * 6 * 3 * 4);
  assert.equal(c.liveBytes(), predictedKvBytes(shape, 5));
  c.mask[1 * c.capacity + 0] = MASK_MIN; // row 1's first position is padding
  c.reorder(Int32Array.from([1, 1, 3, 0]));
  for (const [r, s] of [[0, 1], [1, 1], [2, 3], [3, 0]] as const) {
    for (let t = 0; t < 5; t++) assert.equal(k(0, r, 1, t, 0), rowVal(0, s, t, 3), `row ${r} ← ${s}, t=${t}`);
    assert.equal(c.mask[r * c.capacity], s === 1 ? MASK_MIN : 0);
  }
});

test('weights as constants, as inputs, or as external data compute the same logits', async () => {
  const spec = parseVariant('grouped-query:2');
  const w = randomWeights(TINY, modelKvHeads(TINY, spec), { seed: 5, std: 0.3, biasStd: 0.1 });
  const seq = [1, 2, 3, 4, 5, 6];
  const batch = { rows: 1, seq: seq.length, tokens: ids(seq), positions: ids(seq.map((_, i) => i)), selfMask: causal(seq.length) };
  const logits: Float32Array[] = [];
  for (const settings of [{ weights: 'constant' as const }, { weights: 'input' as const }, { weights: 'constant' as const, externalDataAbove: 0 }]) {
    const m = new DecoderModel(pack(w, spec), { threads: 1, ...settings });
    try {
      logits.push((await m.prefill(batch)).logits);
    } finally {
      await m.release();
    }
  }
  const ref = referenceLogits(w, seq).subarray((seq.length - 1) * TINY.vocab);
  for (const l of logits) assert.ok(relErr(l, ref) < 1e-4);
  assert.ok(relErr(logits[1]!, logits[0]!) < 1e-5 && relErr(logits[2]!, logits[0]!) < 1e-6);
});

test('in the optimised graph every weight matrix is the B operand of a product, where the engine pre-packs it', async () => {
  const onnxProto = (await import('onnx-proto')).default;
  for (const name of TYPES) {
    const spec = parseVariant(name);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-opt-'));
    const file = path.join(dir, 'optimized.onnx');
    const m = new DecoderModel(pack(randomWeights(TINY, modelKvHeads(TINY, spec), { seed: 1 }), spec), { threads: 1, optimizedModelPath: file });
    try {
      await m.prepare(2);
      const graph = onnxProto.onnx.ModelProto.decode(fs.readFileSync(file)).graph!;
      const matrices = graph.initializer!.filter((t) => t.dims!.length === 2 && Number(t.dims![0]) > 1 && Number(t.dims![1]) > 1).map((t) => t.name!);
      assert.ok(matrices.length >= 4 * TINY.layers, `${name}: ${matrices.length} weight matrices found`);
      for (const w of matrices) {
        const users = graph.node!.filter((n) => n.input!.includes(w));
        const products = users.filter((n) => ['MatMul', 'Gemm', 'FusedMatMul', 'MatMulNBits'].includes(n.opType!));
        if (w === 'wpe') continue; // the position table is only gathered from
        assert.ok(products.length > 0, `${name}: ${w} feeds no product (${users.map((n) => n.opType).join(', ')})`);
        for (const n of products) assert.equal(n.input!.indexOf(w), 1, `${name}: ${w} is input ${n.input!.indexOf(w)} of ${n.opType} ${n.name}`);
      }
    } finally {
      await m.release();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
