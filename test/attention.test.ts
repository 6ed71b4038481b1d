/** Every variant against the float64 reference, and the identities between variants. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildLayer, layerInputs, layerShape } from '../src/attention/layer.ts';
import { Engine } from '../src/engine/session.ts';
import { randomParams } from '../src/attention/params.ts';
import { maxRelError, referenceAttention } from '../src/attention/reference.ts';
import { parseVariant, type Mode } from '../src/attention/spec.ts';
import { runLayerOnce } from './helpers.ts';

/** Random small shapes with a K/V head count that divides the heads. */
const shapes = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    seq: fc.integer({ min: 1, max: 24 }),
    heads: fc.constantFrom(1, 2, 4, 6, 8),
    headDim: fc.constantFrom(1, 4, 8, 16),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  })
  .chain((s) => fc.record({ shape: fc.constant(s), groups: fc.constantFrom(...divisors(s.heads)) }));

function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

const VARIANTS: Record<Mode, string[]> = {
  seed: ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query', 'multi-query-separate'],
  full: ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query', 'multi-query-separate', 'fused-gqa'],
};

for (const mode of ['seed', 'full'] as const) {
  for (const kind of VARIANTS[mode]) {
    test(`${kind} (${mode} mode) matches the float64 reference on random shapes`, async () => {
      await fc.assert(
        fc.asyncProperty(shapes, async ({ shape: s, groups }) => {
          const spec = parseVariant(kind === 'grouped-query' || kind === 'fused-gqa' ? `${kind}:${groups}` : kind);
          // the engine's fused kernel takes head sizes in multiples of 8 only (checked in lists.test.ts)
          const shape = layerShape(spec, kind === 'fused-gqa' ? { ...s, headDim: Math.max(8, s.headDim) } : s);
          const params = randomParams(shape, mode, s.seed);
          const got = await runLayerOnce(spec, shape, mode, params);
          const err = maxRelError(got, referenceAttention(params, shape, mode));
          assert.ok(err < 1e-5, `max relative error ${err} at ${JSON.stringify(shape)}`);
        }),
        { numRuns: 12 },
      );
    });
  }
}

test('grouped-query with g = nh computes the same numbers as multi-head, and g = 1 as multi-query-1', async () => {
  for (const mode of ['seed', 'full'] as const) {
    const dims = { batch: 2, seq: 9, heads: 4, headDim: 8 };
    const mha = layerShape(parseVariant('multi-head'), dims);
    const p = randomParams(mha, mode, 11);
    const a = await runLayerOnce(parseVariant('multi-head'), mha, mode, p);
    const b = await runLayerOnce(parseVariant('grouped-query:4'), layerShape(parseVariant('grouped-query:4'), dims), mode, p);
    assert.ok(maxRelError(b, a) < 1e-6, `${mode}: GQA(nh) differs from MHA by ${maxRelError(b, a)}`);

    const mqa = layerShape(parseVariant('multi-query-1'), dims);
    const q = randomParams(mqa, mode, 12);
    const c = await runLayerOnce(parseVariant('multi-query-1'), mqa, mode, q);
    const d = await runLayerOnce(parseVariant('grouped-query:1'), layerShape(parseVariant('grouped-query:1'), dims), mode, q);
    assert.ok(maxRelError(d, c) < 1e-6, `${mode}: GQA(1) differs from MQA-1 by ${maxRelError(d, c)}`);
  }
});

test('the reference itself: one head, one position is q·k·v by hand', () => {
  const shape = { batch: 1, seq: 1, heads: 1, kvHeads: 1, headDim: 1 };
  const p = { hidden: Float32Array.of(2), wq: Float32Array.of(3), wk: Float32Array.of(5), wv: Float32Array.of(7) };
  assert.deepEqual([...referenceAttention(p, shape, 'seed')], [2 * 3 * (2 * 5) * (2 * 7)]);
  // full mode: softmax over one position is 1, so out = (hidden·wv + bv)·wo + bo
  const full = { ...p, bq: Float32Array.of(0), bk: Float32Array.of(0), bv: Float32Array.of(1), wo: Float32Array.of(0.5), bo: Float32Array.of(-1) };
  assert.deepEqual([...referenceAttention(full, shape, 'full')], [(2 * 7 + 1) * 0.5 - 1]);
});

test('weights as constants: the same output as weights fed as inputs, and in the optimised graph each weight is the B operand of its product', async () => {
  const onnx = (await import('onnx-proto')).default.onnx;
  for (const mode of ['seed', 'full'] as const) {
    for (const name of ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:2', 'multi-query-separate', ...(mode === 'full' ? ['fused-gqa:2'] : [])]) {
      const spec = parseVariant(name);
      const shape = layerShape(spec, { batch: 2, seq: 8, heads: 4, headDim: 8 });
      const params = randomParams(shape, mode, 3);
      const asInputs = buildLayer(spec, shape, mode);
      const asConstants = buildLayer(spec, shape, mode, params);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-opt-'));
      const file = path.join(dir, 'optimized.onnx');
      const run = async (layer: typeof asInputs, optimizedModelPath?: string) => {
        const e = await Engine.create(layer.model, { threads: 1, graphOpt: 'all', ...(optimizedModelPath ? { optimizedModelPath } : {}) });
        try {
          return (await e.run(e.feeds(layerInputs(layer, params)))).out!;
        } finally {
          await e.release();
        }
      };
      try {
        assert.ok(maxRelError(await run(asConstants, file), await run(asInputs)) < 1e-6, `${name} ${mode}: same output`);
        const graph = onnx.ModelProto.decode(fs.readFileSync(file)).graph!;
        const weights = graph.initializer!.filter((t) => t.dims!.length === 2 && Number(t.dims![0]) > 1 && Number(t.dims![1]) > 1).map((t) => t.name!);
        assert.ok(weights.length >= 1, `${name} ${mode}: its weight matrices stay constants`);
        for (const w of weights) {
          const products = graph.node!.filter((n) => n.input!.includes(w) && ['MatMul', 'Gemm', 'FusedMatMul'].includes(n.opType!));
          assert.ok(products.length > 0, `${name} ${mode}: ${w} feeds a product`);
          // Megatron's layout applies its projection as W·Hᵀ: there the weight is the A operand by design
          const slot = name === 'multi-query' && w === 'w_qkv' ? 0 : 1;
          for (const n of products) assert.equal(n.input!.indexOf(w), slot, `${name} ${mode}: ${w} is input ${n.input!.indexOf(w)} of ${n.opType}`);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
});
