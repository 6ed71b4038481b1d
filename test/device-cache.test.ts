/**
 * The decoder whose graph writes its own cache (`cacheUpdate: 'graph'`, the WebGPU design)
 * and the device cache class, run on the CPU provider (where its tensors are JS arrays, so
 * everything is readable): the same tokens as the JS cache through growth, beams and the
 * device-side argmax, and the cache's own bookkeeping. test/webgpu.test.ts runs it on WebGPU.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVariant } from '../src/attention/spec.ts';
import { MASK_MIN } from '../src/core/constants.ts';
import { f32 } from '../src/engine/session.ts';
import { DeviceKvCache } from '../src/generate/device-kv-cache.ts';
import { generate, type GenerationOptions } from '../src/generate/generate.ts';
import { KvCache } from '../src/generate/kv-cache.ts';
import { checkFirstStep } from '../src/generate/verify.ts';
import { modelKvHeads, type ModelConfig } from '../src/model/config.ts';
import { buildStepGraph, STEP_INPUTS, STEP_OUTPUTS } from '../src/model/graph.ts';
import { DecoderModel } from '../src/model/model.ts';
import { pack, randomWeights } from '../src/model/weights.ts';

const TINY: ModelConfig = { layers: 2, hidden: 32, heads: 4, positions: 96, vocab: 200, inner: 64, layerNormEps: 1e-5, activation: 'gelu_new' };
const OPTS: GenerationOptions = { maxNewTokens: 12, minNewTokens: 2, eos: 7, pad: 199, doSample: false, temperature: 1, topK: 0, topP: 1, seed: 1, numBeams: 1, lengthPenalty: 1, earlyStopping: false, kvCache: true, cacheChunk: 8 };
const PROMPTS = [[3, 4, 5, 6, 7, 8], [9, 10], [11, 12, 13]];
const packed = (name: string) => {
  const spec = parseVariant(name);
  return pack(randomWeights(TINY, modelKvHeads(TINY, spec), { seed: 3, std: 0.4, biasStd: 0.1 }), spec);
};

test('the step graph writes the cache only when asked: the default graph keeps its inputs and outputs', () => {
  const names = (g: ReturnType<typeof buildStepGraph>) => {
    const m = (g as unknown as { inputs: { name: string }[]; outputs: { name: string }[] });
    return { inputs: m.inputs.map((i) => i.name), outputs: m.outputs.map((o) => o.name) };
  };
  const pm = packed('grouped-query:2');
  const plain = names(buildStepGraph(pm, 2, 'constant'));
  assert.deepEqual(plain.outputs, [STEP_OUTPUTS.logits, STEP_OUTPUTS.kv]);
  assert.ok(!plain.inputs.includes(STEP_INPUTS.cacheIndex));
  assert.deepEqual(buildStepGraph(pm, 2, 'constant', {}).toBytes(), buildStepGraph(pm, 2, 'constant').toBytes(), 'no option, the same bytes');
  const inGraph = names(buildStepGraph(pm, 2, 'constant', { cacheUpdate: 'graph', argmax: true }));
  assert.deepEqual(inGraph.outputs, ['present_k_0', 'present_v_0', 'present_k_1', 'present_v_1', STEP_OUTPUTS.logits, STEP_OUTPUTS.nextIds]);
  assert.ok(inGraph.inputs.includes(STEP_INPUTS.cacheIndex));
});

for (const name of ['multi-head', 'multi-query', 'grouped-query:2', 'fused-gqa:2']) {
  test(`${name}: the graph-written cache gives the JS cache's tokens (greedy with growth, device argmax, beams) and logits`, async () => {
    const pm = packed(name);
    const js = new DecoderModel(pm, { threads: 1 });
    const inGraph = new DecoderModel(pm, { threads: 1, cacheUpdate: 'graph' });
    const argmax = new DecoderModel(pm, { threads: 1, cacheUpdate: 'graph', argmax: true });
    try {
      const want = await generate(js, PROMPTS, OPTS);
      const got = await generate(inGraph, PROMPTS, OPTS);
      assert.deepEqual(got.generated, want.generated);
      assert.ok(got.timing.growMs > 0 && got.timing.finalLength === want.timing.finalLength, 'it grew, to the same length');
      assert.deepEqual((await generate(argmax, PROMPTS, OPTS)).generated, want.generated);
      const beams = { ...OPTS, numBeams: 3, maxNewTokens: 8 };
      const beamWant = await generate(js, PROMPTS.slice(0, 2), beams);
      const beamGot = await generate(inGraph, PROMPTS.slice(0, 2), beams);
      assert.deepEqual(beamGot.generated, beamWant.generated);
      assert.equal(beamGot.timing.reorderMs.length, beamWant.timing.reorderMs.length);
      const check = await checkFirstStep(inGraph, PROMPTS);
      assert.ok(check.error < 1e-6 && check.prefillError < 1e-6 && !check.wrong, JSON.stringify(check));
      await assert.rejects(() => generate(inGraph, PROMPTS, { ...OPTS, kvCache: false }), /cacheUpdate: 'caller'/);
    } finally {
      await Promise.all([js.release(), inGraph.release(), argmax.release()]);
    }
  });
}

test('the device cache: adopts a step\'s tensors and masks, grows by chunks keeping its content, reorders rows, copies a host cache', async () => {
  const shape = { layers: 1, rows: 2, kvHeads: 1, headDim: 2 };
  const c = await DeviceKvCache.create(shape, 3, { device: 'cpu', chunk: 4, reorder: true });
  assert.equal(c.capacity, 4);
  const idx = c.indexTensor(2);
  assert.deepEqual(idx.dims, [2, 1, 2, 3]);
  assert.deepEqual([...(idx.data as BigInt64Array)].map(Number), [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1]);
  // a prefill of 2 positions, row 0's first one padding
  const t = (xs: number[]) => f32(Float32Array.from(xs), [2, 1, 4, 2]);
  c.adopt([t([1, 1, 2, 2, 0, 0, 0, 0, 5, 5, 6, 6, 0, 0, 0, 0]), t([-1, -1, -2, -2, 0, 0, 0, 0, -5, -5, -6, -6, 0, 0, 0, 0])], 2, [false, true, true, true]);
  assert.deepEqual([...c.mask], [MASK_MIN, 0, MASK_MIN, MASK_MIN, 0, 0, MASK_MIN, MASK_MIN]);
  assert.equal(c.length, 2);
  assert.deepEqual([...(c.indexTensor(1).data as BigInt64Array)].map(Number), [0, 0, 2, 1, 0, 2]);
  await c.ensure(2); // 4 positions hold 2 + 2
  assert.equal(c.capacity, 4);
  await c.ensure(3);
  assert.equal(c.capacity, 8);
  assert.ok(c.growMs > 0);
  const [k] = c.tensors(0);
  assert.deepEqual(k.dims, [2, 1, 8, 2]);
  assert.deepEqual([...(k.data as Float32Array)], [1, 1, 2, 2, ...new Array(12).fill(0), 5, 5, 6, 6, ...new Array(12).fill(0)]);
  assert.deepEqual([...c.mask], [MASK_MIN, 0, ...new Array(6).fill(MASK_MIN), 0, 0, ...new Array(6).fill(MASK_MIN)]);
  await c.reorder([1, 1]);
  assert.deepEqual([...(c.tensors(0)[1].data as Float32Array)].slice(0, 4), [-5, -5, -6, -6]);
  assert.deepEqual([...c.mask].slice(0, 2), [0, 0]);
  assert.equal(c.allocatedBytes(), 2 * 2 * 8 * 2 * 4);
  assert.equal(c.liveBytes(), 2 * 2 * 2 * 2 * 4);
  await c.release();

  const host = new KvCache(shape, 4, 4);
  host.k[0]!.set([1, 2, 3, 4]);
  host.mask.fill(0, 0, 2);
  host.length = 2;
  const copy = await DeviceKvCache.fromHost(host, { device: 'cpu' });
  assert.deepEqual([...(copy.tensors(0)[0].data as Float32Array)], [...host.k[0]!]);
  assert.deepEqual([copy.length, copy.capacity, [...copy.mask]], [2, 4, [...host.mask]]);
  await copy.release();
});

test("the graph's argmax that skips eos gives the JS search's tokens while eos must be skipped (before --min-new-tokens), so only ids come back", async () => {
  const pm = packed('grouped-query:2');
  const js = new DecoderModel(pm, { threads: 1 });
  try {
    // the token an unconstrained greedy search picks most often: skipping it changes the output
    const free = (await generate(js, PROMPTS, { ...OPTS, minNewTokens: 0, eos: 199 })).generated.flat();
    const eos = [...new Set(free)].sort((a, b) => free.filter((t) => t === b).length - free.filter((t) => t === a).length)[0]!;
    const opts = { ...OPTS, eos, minNewTokens: OPTS.maxNewTokens };
    const want = await generate(js, PROMPTS, opts);
    assert.ok(!want.generated.flat().includes(eos), 'eos skipped on every step');
    const avoiding = new DecoderModel(pm, { threads: 1, cacheUpdate: 'graph', argmax: true, argmaxAvoid: eos });
    let fromGraph = 0;
    const step = avoiding.forwardResident.bind(avoiding);
    avoiding.forwardResident = async (b, c) => {
      const out = await step(b, c);
      if (out.nextIdsAvoiding) fromGraph++;
      return out;
    };
    try {
      assert.deepEqual((await generate(avoiding, PROMPTS, opts)).generated, want.generated);
      assert.equal(fromGraph, OPTS.maxNewTokens, 'the prefill and every step gave the ids that skip eos');
    } finally {
      await avoiding.release();
    }
  } finally {
    await js.release();
  }
});
