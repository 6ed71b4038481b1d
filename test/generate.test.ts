/** Logits processors and decoding strategies on hand-made logits, and generation on a tiny model. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVariant } from '../src/attention/spec.ts';
import { generate, type GenerationOptions } from '../src/generate/generate.ts';
import { applyTemperature, applyTopK, applyTopP, argmax, minNewTokens, sampleFrom, softmax, suppressToken } from '../src/generate/logits.ts';
import { beamSearch, greedyOrSample, topCandidates, type SearchOptions, type StepModel } from '../src/generate/search.ts';
import { modelKvHeads, type ModelConfig } from '../src/model/config.ts';
import { DecoderModel } from '../src/model/model.ts';
import { pack, randomWeights, type ModelWeights } from '../src/model/weights.ts';

const TINY: ModelConfig = { layers: 2, hidden: 32, heads: 4, positions: 96, vocab: 200, inner: 128, layerNormEps: 1e-5, activation: 'gelu_new' };
const EOS = 199;

const SEARCH: SearchOptions = {
  maxNewTokens: 2,
  minNewTokens: 0,
  eos: 4,
  pad: 4,
  doSample: false,
  temperature: 1,
  topK: 0,
  topP: 1,
  seed: 1,
  numBeams: 1,
  lengthPenalty: 1,
  earlyStopping: false,
};

test('temperature, top-k (ties kept), top-p (nucleus, at least one token), eos suppression', () => {
  assert.deepEqual([...applyTemperature(Float32Array.of(2, 4), 2)], [1, 2]);
  assert.deepEqual([...applyTopK(Float32Array.of(1, 3, 3, 2), 2)], [-Infinity, 3, 3, -Infinity]);
  assert.deepEqual([...applyTopK(Float32Array.of(1, 3, 3, 2), 3)], [-Infinity, 3, 3, 2]);
  assert.deepEqual([...applyTopK(Float32Array.of(1, 2), 0)], [1, 2], 'k = 0 keeps all');
  const row = () => Float32Array.from([0.5, 0.3, 0.15, 0.05], Math.log);
  const kept = (r: Float32Array) => [...r].map((x) => x > -Infinity);
  assert.deepEqual(kept(applyTopP(row(), 0.75)), [true, true, false, false]);
  assert.deepEqual(kept(applyTopP(row(), 0.9)), [true, true, true, false]);
  assert.deepEqual(kept(applyTopP(row(), 0.01)), [true, false, false, false]);
  assert.deepEqual(kept(applyTopP(row(), 1)), [true, true, true, true]);
  assert.equal(argmax(suppressToken(Float32Array.of(0, 5, 1), 1)), 2);
  // the end-of-sequence rule: eos (1 here) forbidden before 2 new tokens, in logits and log-probabilities alike
  const rule = minNewTokens(2, 1);
  assert.deepEqual([0, 1, 2, 3].map((t) => rule.at(t)), [1, 1, -1, -1]);
  assert.equal(argmax(rule.apply(Float64Array.of(0, 5, 1), 1)), 2);
  assert.equal(argmax(rule.apply(Float32Array.of(0, 5, 1), 2)), 1);
  assert.deepEqual([...minNewTokens(5, 9).apply(Float32Array.of(1, 2), 0)], [1, 2], 'an eos beyond a small vocabulary forbids nothing');
  const p = softmax(Float32Array.of(0, Math.log(3)));
  assert.ok(Math.abs(p[1]! - 0.75) < 1e-6);
  assert.equal(sampleFrom(Float32Array.of(0, Math.log(3)), 0.2), 0);
  assert.equal(sampleFrom(Float32Array.of(0, Math.log(3)), 0.3), 1);
  assert.equal(sampleFrom(Float32Array.of(-Infinity, 0, -Infinity), 0.999), 1);
  assert.deepEqual(topCandidates(Float64Array.of(1, 5, 3, 5, 2), 3), [
    { score: 5, index: 1 },
    { score: 5, index: 3 },
    { score: 3, index: 2 },
  ]);
});

/**
 * A hand-made model over tokens 0..3 and eos 4: each row's next-token log-probabilities
 * depend on its last token only. It keeps its own histories, so reorders must be right.
 */
class TableModel implements StepModel {
  readonly vocab = 5;
  histories: number[][];
  reorders: number[][] = [];
  constructor(
    readonly rows: number,
    readonly table: Record<number, number[]>,
  ) {
    this.histories = Array.from({ length: rows }, () => [0]);
  }
  private logits(): Float32Array {
    return Float32Array.from(this.histories.flatMap((h) => this.table[h.at(-1)!]!.map((p) => Math.log(p))));
  }
  async prefill() {
    return this.logits();
  }
  async step(tokens: Int32Array) {
    tokens.forEach((t, r) => this.histories[r]!.push(t));
    return this.logits();
  }
  reorder(src: Int32Array) {
    this.reorders.push([...src]);
    this.histories = Array.from(src, (s) => [...this.histories[s]!]);
  }
}

//                   0      1      2      3      eos
const TABLE = {
  0: [0.005, 0.5, 0.4, 0.005, 0.09], // after the prompt
  1: [0.34, 0.33, 0.32, 0.0099, 1e-4], // flat after 1
  2: [0.04, 0.04, 0.9, 0.0199, 1e-4], // 2 is followed by 2
  3: [0.25, 0.25, 0.25, 0.2499, 1e-4],
  4: [0.25, 0.25, 0.25, 0.2499, 1e-4], // a finished row goes on with padding
};

test('greedy follows the argmax; beam search finds the more likely sequence and reorders its rows', async () => {
  assert.deepEqual(await greedyOrSample(new TableModel(1, TABLE), SEARCH), [[1, 0]]);
  const m = new TableModel(2, TABLE);
  assert.deepEqual(await beamSearch(m, { ...SEARCH, numBeams: 2 }), [[2, 2]]);
  // after the first step the beams are (1, 2): row 1 came from row 0
  assert.deepEqual(m.reorders, [[0, 0]]);
  // two prompts of two beams each
  const two = new TableModel(4, TABLE);
  assert.deepEqual(await beamSearch(two, { ...SEARCH, numBeams: 2 }), [[2, 2], [2, 2]]);
  assert.deepEqual(two.reorders, [[0, 0, 2, 2]]);
});

test('beam search: finished hypotheses, length penalty and early stopping', async () => {
  // eos right away has log-prob −1; the path 1,1,1 has −0.5 per token
  const e = Math.exp;
  const table = {
    0: [0.01, e(-0.5), 0.01, 1 - 0.02 - e(-0.5) - e(-1), e(-1)],
    1: [0.01, e(-0.5), 1 - 0.01 - e(-0.5) - 2e-6, 1e-6, 1e-6],
    2: [0.25, 0.25, 0.25, 0.25 - 1e-6, 1e-6],
    3: [0.25, 0.25, 0.25, 0.25 - 1e-6, 1e-6],
  };
  const o = { ...SEARCH, maxNewTokens: 3, numBeams: 2 };
  // length penalty 1: −1.5 / 3 beats −1 / 1
  assert.deepEqual(await beamSearch(new TableModel(2, table), o), [[1, 1, 1]]);
  // length penalty 0: raw sums, the early eos wins (eos, then padding to the longest)
  assert.deepEqual(await beamSearch(new TableModel(2, table), { ...o, lengthPenalty: 0 }), [[4]]);
  // min-new-tokens forbids that eos
  assert.deepEqual(await beamSearch(new TableModel(2, table), { ...o, lengthPenalty: 0, minNewTokens: 3 }), [[1, 1, 1]]);
  // one beam and early stopping: done as soon as one hypothesis is finished
  const early = new TableModel(1, { ...table, 0: [0.01, 0.3, 0.01, 0.01, 0.67] });
  assert.deepEqual(await beamSearch(early, { ...o, numBeams: 1, earlyStopping: true }), [[4]]);
  assert.equal(early.histories[0]!.length, 1, 'no step after the search was done');
});

test('sampling is reproducible with a seed; top-k 1 is greedy', async () => {
  const o = { ...SEARCH, maxNewTokens: 12, doSample: true, topK: 0 };
  const a = await greedyOrSample(new TableModel(3, TABLE), o);
  const b = await greedyOrSample(new TableModel(3, TABLE), o);
  assert.deepEqual(a, b);
  const seeds = await Promise.all([2, 3, 4, 5].map((seed) => greedyOrSample(new TableModel(3, TABLE), { ...o, seed })));
  assert.ok(seeds.some((s) => JSON.stringify(s) !== JSON.stringify(a)), 'other seeds draw other tokens');
  const greedy = await greedyOrSample(new TableModel(3, TABLE), { ...o, doSample: false, minNewTokens: 12 });
  assert.deepEqual(await greedyOrSample(new TableModel(3, TABLE), { ...o, topK: 1, minNewTokens: 12 }), greedy);
  // a row that draws eos is padded after it, and generation stops when every row has
  const eosOnly = await greedyOrSample(new TableModel(2, { 0: [1e-9, 1e-9, 1e-9, 1e-9, 1] }), { ...o, maxNewTokens: 5 });
  assert.deepEqual(eosOnly, [[4], [4]]);
});

// ---------- on the tiny model ----------

const OPTS: GenerationOptions = {
  maxNewTokens: 10,
  minNewTokens: 10,
  eos: EOS,
  pad: EOS,
  doSample: false,
  temperature: 1,
  topK: 0,
  topP: 1,
  seed: 1,
  numBeams: 1,
  lengthPenalty: 1,
  earlyStopping: false,
  kvCache: true,
  cacheChunk: 8,
};

async function withModel<T>(name: string, w: ModelWeights | undefined, fn: (m: DecoderModel) => Promise<T>): Promise<T> {
  const spec = parseVariant(name);
  const m = new DecoderModel(pack(w ?? randomWeights(TINY, modelKvHeads(TINY, spec), { seed: 21, std: 0.5, biasStd: 0.1 }), spec), { threads: 1 });
  try {
    return await fn(m);
  } finally {
    await m.release();
  }
}

const PROMPTS = [[11, 12, 13, 14, 15, 16], [21, 22], [31, 32, 33, 34]];

for (const name of ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:2']) {
  test(`${name}: greedy is deterministic, equal without the cache, and each left-padded row generates what it does alone`, async () => {
    await withModel(name, undefined, async (m) => {
      const a = await generate(m, PROMPTS, OPTS);
      const b = await generate(m, PROMPTS, OPTS);
      assert.deepEqual(b.generated, a.generated);
      assert.ok(new Set(a.generated.flat()).size > 3, `a degenerate model would make this test weak: ${a.generated}`);
      assert.deepEqual((await generate(m, PROMPTS, { ...OPTS, kvCache: false })).generated, a.generated);
      for (const [i, p] of PROMPTS.entries()) assert.deepEqual((await generate(m, [p], OPTS)).generated[0], a.generated[i], `row ${i}`);
      // Hugging Face's sequences: the left-padded prompt, then the generated ids
      assert.deepEqual(a.sequences[1], [EOS, EOS, EOS, EOS, 21, 22, ...a.generated[1]!]);
      assert.equal(a.timing.steps.length, OPTS.maxNewTokens - 1);
      assert.deepEqual(a.timing.steps.map((s) => s.context), Array.from({ length: 9 }, (_, i) => 7 + i));
    });
  });
}

test('beam search on the model: the cache reorder gives the same beams as recomputing without a cache', async () => {
  await withModel('grouped-query:2', undefined, async (m) => {
    const o = { ...OPTS, numBeams: 3 };
    const cached = await generate(m, PROMPTS, o);
    const uncached = await generate(m, PROMPTS, { ...o, kvCache: false });
    assert.deepEqual(cached.generated, uncached.generated);
    assert.ok(cached.timing.reorderMs.length > 0, 'the cache was reordered');
    const greedy = await generate(m, PROMPTS, OPTS);
    assert.notDeepEqual(cached.generated, greedy.generated, 'beams found other sequences than greedy here');
  });
});

test('sampling on the model is reproducible with --seed', async () => {
  await withModel('multi-query-1', undefined, async (m) => {
    const o = { ...OPTS, doSample: true, topK: 20, topP: 0.9, temperature: 0.8 };
    const a = await generate(m, PROMPTS, o);
    assert.deepEqual((await generate(m, PROMPTS, o)).generated, a.generated);
    assert.notDeepEqual((await generate(m, PROMPTS, { ...o, seed: 2 })).generated, a.generated);
  });
});

test("fused-gqa (the engine's GroupQueryAttention on the cache) generates what grouped-query does with the same weights", async () => {
  const w = randomWeights(TINY, 2, { seed: 5, std: 0.5, biasStd: 0.1 });
  const equal = [[1, 2, 3, 4], [5, 6, 7, 8]];
  const a = await withModel('grouped-query:2', w, (m) => generate(m, equal, OPTS));
  const b = await withModel('fused-gqa:2', w, (m) => generate(m, equal, OPTS));
  assert.deepEqual(b.generated, a.generated);
});
