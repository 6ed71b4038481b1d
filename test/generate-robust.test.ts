/**
 * Numbers that cannot be trusted are not reported, and sizes are checked before anything is
 * built: non-finite weights refused at load naming the tensor, non-finite logits stopping a
 * generation naming the step, a temperature that overflows and a seed above 2³² refused up
 * front, overlapping safetensors offsets refused, and a huge --batch refused by the memory
 * check before a single prompt is built.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { GenerateConfig } from '../src/config/generate.ts';
import { parseConfig } from '../src/config/parse.ts';
import { UsageError } from '../src/core/errors.ts';
import { applyTemperature, MIN_TEMPERATURE } from '../src/generate/logits.ts';
import { planGenerate } from '../src/generate/plan.ts';
import { argmaxExcept, beamSearch, greedyOrSample, type SearchOptions, type StepModel } from '../src/generate/search.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { readHeader } from '../src/model/safetensors.ts';
import { randomWeights } from '../src/model/weights.ts';
import { writeGpt2 } from './checkpoint-helpers.ts';
import { cli, tmpDir } from './helpers.ts';

const TINY: ModelConfig = { layers: 1, hidden: 16, heads: 2, positions: 32, vocab: 60, inner: 64, layerNormEps: 1e-5, activation: 'gelu_new' };
const GEN = ['generate', '--attention', 'multi-head', '--batch', '2', '--prompt-length', '3', '--max-new-tokens', '4', '--repeats', '1', '--threads', '1', '--no-progress'];

/** Exit 2 with one error line (after any progress notes), matching `pattern`, and no stack trace. */
function refused(r: { status: number | null; stdout: string; stderr: string }, pattern: RegExp, what: string): void {
  assert.equal(r.status, 2, `${what}: exit 2\n${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines.at(-1)!, /^attnbench: error: /, `${what}: ends in one error line`);
  assert.equal(lines.filter((l) => l.startsWith('attnbench: error')).length, 1, `${what}: one error line`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
  assert.match(lines.at(-1)!, pattern, what);
}

test('a huge --batch is refused by the memory check before any prompt is built, in every form', () => {
  const plan = (input: Record<string, unknown>) => () => planGenerate(parseConfig(GenerateConfig, input));
  const memory = /needs about [\d.]+ GiB of memory, only [\d.]+ GiB free/;
  for (const [what, input] of [
    ['200k rows (a stack overflow in Math.max(...) before)', { batch: 200_000 }],
    ['10⁸ rows (the heap ran out before)', { batch: 100_000_000 }],
    ['a --prompt text × 10⁸', { prompt: ['hello'], batch: 100_000_000 }],
    ['10⁵ prompts × 10⁴ beams', { batch: 100_000, numBeams: 10_000 }],
    ['a prompt of 10⁹ random tokens', { promptLength: 1_000_000_000, positions: 1_000_000_001, maxNewTokens: 1 }],
  ] as const) {
    assert.throws(plan(input), (e: Error) => e instanceof UsageError && memory.test(e.message), what);
  }
  const r = cli(['generate', '--batch', '100000000', '--no-progress']);
  refused(r, memory, 'generate --batch 1e8');
  assert.doesNotMatch(r.stderr, /measuring/, 'refused before the ceilings are measured');
});

test('a temperature small enough to overflow, and a seed above 2³², are refused up front', () => {
  refused(cli(['generate', '--do-sample', '--temperature', '1e-45', '--no-progress']), /--temperature 1e-45 is below 1e-30: the logits divided by it overflow float32/, 'temperature 1e-45');
  assert.ok(Number.isFinite(applyTemperature(Float32Array.of(3e8, -3e8), MIN_TEMPERATURE)[1]!), 'at the smallest temperature a logit of 3·10⁸ stays finite');
  refused(cli(['generate', '--seed', '4294967296', '--no-progress']), /--seed: must be at most 4294967295 \(seeds are 32-bit/, 'generate --seed 2^32');
  refused(cli(['layers', '--seed', '99999999999999999999', '--no-progress']), /--seed: must be at most 4294967295/, 'layers --seed 1e20');
  assert.equal(parseConfig(GenerateConfig, { seed: 2 ** 32 - 1 }).seed, 2 ** 32 - 1, 'the largest 32-bit seed is taken');
});

/** A checkpoint of the tiny model with `edit` applied to its weights. */
function checkpoint(edit: (w: ReturnType<typeof randomWeights>) => void): string {
  const w = randomWeights(TINY, TINY.heads, { seed: 3 });
  edit(w);
  const dir = tmpDir();
  writeGpt2(dir, w);
  return dir;
}

test('non-finite weights are refused at load, naming the tensor; nothing is written', () => {
  const out = path.join(tmpDir(), 'g.json');
  const nan = checkpoint((w) => (w.blocks[0]!.fc[7] = NaN));
  refused(cli([...GEN, '--model', nan, '--out', out]), /model\.safetensors: tensor h\.0\.mlp\.c_fc\.weight holds NaN at element 7/, 'NaN weight');
  const inf = checkpoint((w) => (w.wte[3] = -Infinity));
  refused(cli([...GEN, '--model', inf, '--out', out]), /tensor wte\.weight holds -Infinity at element 3/, '-Infinity weight');
  assert.ok(!fs.existsSync(out));
});

test('logits that are not finite stop the generation with the step named, not token 0 forever', () => {
  // finite weights whose logits overflow float32: a final layer norm gain of 3·10³⁸
  const dir = checkpoint((w) => w.lnf.g.fill(3e38));
  const out = path.join(tmpDir(), 'g.json');
  refused(cli([...GEN, '--model', dir, '--out', out]), /generation stopped at the prefill: the logits of row 0 hold (NaN|Infinity|-Infinity) \(token \d+\); numbers that are not finite cannot be trusted/, 'overflowing logits');
  assert.ok(!fs.existsSync(out), 'no result file from garbage');
});

/** Logits over 3 tokens, finite until step `badAt`, then NaN in row 1. */
class Poisoned implements StepModel {
  readonly vocab = 3;
  private t = 0;
  constructor(
    readonly rows: number,
    private readonly badAt: number,
    private readonly value = NaN,
  ) {}
  private logits(): Float32Array {
    const x = Float32Array.from({ length: this.rows * this.vocab }, (_, i) => (i % 3) * 0.5);
    if (this.t === this.badAt) x[this.vocab + 2] = this.value;
    return x;
  }
  async prefill() {
    return this.logits();
  }
  async step() {
    this.t++;
    return this.logits();
  }
  reorder() {}
}

const SEARCH: SearchOptions = { maxNewTokens: 6, minNewTokens: 0, eos: 99, pad: 0, doSample: false, temperature: 1, topK: 0, topP: 1, seed: 1, numBeams: 1, lengthPenalty: 1, earlyStopping: false };

test('each strategy stops at the step whose logits are not finite, naming it', async () => {
  const stops = (at: RegExp) => (e: Error) => e instanceof UsageError && at.test(e.message) && !e.message.includes('\n');
  await assert.rejects(greedyOrSample(new Poisoned(2, 3), SEARCH), stops(/^generation stopped at decode step 3: the logits of row 1 hold NaN \(token 2\)/));
  await assert.rejects(greedyOrSample(new Poisoned(2, 0, Infinity), SEARCH), stops(/at the prefill: the logits of row 1 hold Infinity/));
  await assert.rejects(greedyOrSample(new Poisoned(2, 2, -Infinity), { ...SEARCH, doSample: true }), stops(/at decode step 2: the logits of row 1 hold -Infinity/));
  await assert.rejects(beamSearch(new Poisoned(4, 1), { ...SEARCH, numBeams: 2 }), stops(/at decode step 1: the logits of row 1 hold NaN/));
  // the fused check leaves greedy's choice as it was: the first maximum, eos skipped when asked
  assert.equal(argmaxExcept(Float32Array.of(1, 3, 3, 2), -1), 1);
  assert.equal(argmaxExcept(Float32Array.of(5, 3, 4), 0), 2);
  assert.equal(argmaxExcept(Float32Array.of(3, 5, 5), 1), 2, 'the skipped index ties with a later one');
  assert.equal(argmaxExcept(Float32Array.of(5, 3, 5), 2), 0);
  assert.equal(argmaxExcept(Float32Array.of(1, 2), 7), 1, 'a skip beyond the vocabulary skips nothing');
  assert.equal(argmaxExcept(Float32Array.of(-Infinity, 0), -1), -1, '−∞ from the model is not finite either');
});

test('safetensors whose tensors share bytes (overlapping data_offsets) are refused, naming both', () => {
  const file = path.join(tmpDir(), 'model.safetensors');
  const write = (header: Record<string, unknown>, dataBytes: number) => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  };
  write({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, 24);
  assert.throws(() => readHeader(file), (e: Error) => e instanceof UsageError && /tensor b: data_offsets overlap those of tensor a/.test(e.message));
  // one inside another, listed in the other order
  write({ inner: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, outer: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 16);
  assert.throws(() => readHeader(file), /tensor inner: data_offsets overlap those of tensor outer/);
  // out of order (end before begin)
  write({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 8);
  assert.throws(() => readHeader(file), /tensor a: bad data_offsets \[8,4\]/);
  // adjacent tensors and an empty one are fine
  write({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16);
  assert.equal(readHeader(file).tensors.size, 3);
});
