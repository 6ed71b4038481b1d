/** The generation summary is pure: made-up timings in, the result record out, no model run. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median } from 'simple-statistics';
import { parseVariant } from '../src/attention/spec.ts';
import type { GenerationOutput } from '../src/generate/generate.ts';
import { summarizeType, withSpeedups, type SummaryContext, type TimedGeneration, type TypeTiming } from '../src/generate/summary.ts';
import { gpt2Config } from '../src/model/config.ts';
import type { Ceilings } from '../src/roofline/probes.ts';
import { summarize, withSamples } from '../src/timing/stats.ts';

// 2 layers, hidden 32 in 4 heads of 8, 64 positions, vocabulary 300; 3 rows
const model = gpt2Config({ layers: 2, hidden: 32, heads: 4, positions: 64, vocab: 300 });
const ROWS = 3;
const probe = { at: 'now', label: 'made up', matmul: [{ shape: '1×1×1', flops: 2, gflops: withSamples([90, 100]) }], readGBps: withSamples([9, 10]), streamGBps: withSamples([8, 9]), copyGBps: withSamples([7, 8]) };
const ceilings: Ceilings = { matmulGflops: 100, readGBps: 10, copyGBps: 8, peak: null, probes: [probe], method: 'made up' };
const context: SummaryContext = { model, rows: ROWS, kvCache: true, ceilings };

/** A generation of 4 new tokens after a prompt of 5: the prefill's token, then steps at contexts 6, 7, 8. */
function run(stepMs: number[], seconds: number, kvHeads: number): TimedGeneration {
  const output: GenerationOutput = {
    sequences: [],
    generated: Array.from({ length: ROWS }, () => [1, 2, 3, 4]),
    timing: { prefillMs: 10 * seconds, steps: stepMs.map((ms, i) => ({ context: 6 + i, ms })), reorderMs: [], growMs: 0.5, kvAllocatedBytes: 2 * 2 * ROWS * kvHeads * 8 * 256 * 4, finalLength: 8 },
  };
  return { output, seconds };
}

const timing = (variant: string, kvHeads: number, runs: TimedGeneration[]): TypeTiming => ({
  spec: parseVariant(variant),
  kvHeads,
  converted: null,
  runs,
  texts: ['a', 'b', 'c'],
  textSeconds: 0.001,
  peakRssBytes: 1e9,
  predictedMemoryBytes: 2e8,
  profiledStep: null,
});

/**
 * The task floor of one step, written out by hand: the weights once, the live cache once
 * (the ctx − 1 cached positions), the new K/V rows and the logits written, at the read
 * bandwidth; or the FLOPs at the matmul ceiling.
 */
function floorByHand(kvHeads: number, ctx: number): number {
  const nm = 32, D = 8, L = 2, V = 300, inner = 128;
  const perLayer = nm * (nm + 2 * kvHeads * D) + (nm + 2 * kvHeads * D) + nm * nm + nm + (nm * inner + inner + inner * nm + nm) + 4 * nm;
  const weightFloats = V * nm + L * perLayer + 2 * nm + nm; // every block, the final norm, the tied LM head, one embedding row
  const kvPerPosition = 2 * L * ROWS * kvHeads * D * 4;
  const bytes = 4 * weightFloats + kvPerPosition * (ctx - 1) + kvPerPosition + 4 * ROWS * V;
  const flops = 2 * ROWS * (weightFloats - nm) + 4 * ROWS * 4 * D * ctx;
  return Math.max(bytes / (10 * 1e6), flops / (100 * 1e6));
}

test('one type: step series, statistics, floors, cache sizes and throughput from the timings', () => {
  const t = timing('multi-query-1', 1, [run([2, 4, 6], 1.0, 1), run([4, 2, 8], 3.0, 1)]);
  const r = summarizeType(t, context);
  assert.equal(r.attention, 'multi-query-1');
  assert.deepEqual(r.steps.map((s) => [s.context, s.ms]), [[6, 3], [7, 3], [8, 7]], 'median per step over the runs');
  assert.deepEqual(r.decodeMsPerToken, summarize([2, 4, 6, 4, 2, 8]), 'every step of every run');
  assert.equal(r.roofline!.readGBps, 10, "the floor divides by the ceilings' bound: the fastest streaming read");
  for (const s of r.steps) assert.ok(Math.abs(s.taskFloorMs! - floorByHand(1, s.context)) < 1e-12, `floor at ${s.context}: ${s.taskFloorMs} vs ${floorByHand(1, s.context)}`);
  assert.ok(Math.abs(r.taskFloorMs! - floorByHand(1, 7)) < 1e-12, 'the floor at the median context');
  assert.equal(r.vsTaskFloor, r.decodeMsPerToken.median / r.taskFloorMs!);
  assert.deepEqual(r.flags, [], 'no step below its floor');
  assert.deepEqual(r.atMaxContext && [r.atMaxContext.context, r.atMaxContext.ms], [8, 3], 'the last (up to 8) steps');
  assert.equal(r.kvCacheBytes.predicted, 2 * 2 * ROWS * 1 * 8 * 8 * 4);
  assert.equal(r.generateSeconds.median, 2);
  assert.equal(r.tokensPerSecond, (ROWS * 4) / 2);
  assert.equal(r.decodeTokensPerSecond, (1000 * ROWS) / 4);
  assert.equal(r.prefillMs.median, 20);
  assert.equal(r.cacheGrowMs, 0.5);
  assert.equal(r.beamReorderMsPerStep, null, 'no beams, no reorders');
  assert.equal(r.speedup, null, 'filled in against multi-head later');
});

test('speedups: multi-head over each type in the same rounds, with intervals; none without multi-head', () => {
  const tm = timing('multi-head', 4, [run([6, 6, 12], 4, 4), run([6, 8, 12], 4.4, 4)]);
  const tq = timing('multi-query-1', 1, [run([3, 3, 4], 2, 1), run([3, 4, 4], 2.2, 1)]);
  const [mha, mqa] = [summarizeType(tm, context), summarizeType(tq, context)];
  const [a, b] = withSpeedups([mha, mqa], [tm, tq]);
  assert.equal(a!.speedup, null, 'multi-head has no speedup over itself');
  const step = b!.speedup!;
  assert.equal(step.ratio, median([6, 6, 12, 6, 8, 12]) / median([3, 3, 4, 3, 4, 4]), 'the median of every step of every round');
  assert.ok(step.low <= step.ratio && step.ratio <= step.high && step.n === 2 && step.method === 'paired-bootstrap');
  // resampling whole rounds: the ratio of each round alone bounds the interval
  assert.ok(step.low >= 6 / 4 - 1e-12 && step.high <= 8 / 3.5 + 1e-12, JSON.stringify(step));
  assert.equal(b!.speedupAtMaxContext, median([6, 7, 12]) / median([3, 3.5, 4]), 'medians of the last steps');
  assert.equal(b!.generateSpeedup!.ratio, 4.2 / 2.1);
  assert.equal(withSpeedups([mqa], [tq])[0]!.speedup, null);
});

test('a type whose device check failed keeps its record and its check, but gets no speedup; a wrong multi-head gives none to any type', () => {
  const check = (maxRelError: number) => ({ maxRelError, tolerance: 1e-4, ok: maxRelError <= 1e-4, against: 'cpu provider' as const, batch: ROWS, seq: 5, prefillMaxRelError: maxRelError });
  const tm = { ...timing('multi-head', 4, [run([6, 6, 12], 4, 4), run([6, 8, 12], 4.4, 4)]), verify: check(2e-7) };
  const tq = { ...timing('multi-query-1', 1, [run([3, 3, 4], 2, 1), run([3, 4, 4], 2.2, 1)]), verify: check(2e-7) };
  const tf = { ...timing('fused-gqa:2', 2, [run([2, 2, 3], 1.5, 2), run([2, 3, 3], 1.6, 2)]), verify: check(6e-4) };
  const [, q, f] = withSpeedups([tm, tq, tf].map((t) => summarizeType(t, context)), [tm, tq, tf]);
  assert.ok(q!.speedup !== null && q!.verify!.ok, 'a right type has its speedup');
  assert.equal(f!.verify!.ok, false);
  assert.equal(f!.verify!.maxRelError, 6e-4);
  assert.equal(f!.speedup, null);
  assert.equal(f!.generateSpeedup, null);
  assert.equal(f!.speedupAtMaxContext, null);
  assert.ok(f!.decodeMsPerToken.n === 6, 'its times are kept');
  const wrongBase = { ...tm, verify: check(1e-1) };
  const all = withSpeedups([wrongBase, tq].map((t) => summarizeType(t, context)), [wrongBase, tq]);
  assert.equal(all[1]!.speedup, null, 'no speedup over a wrong baseline');
  // a CPU run records no check at all
  assert.equal(summarizeType(timing('multi-head', 4, [run([6, 6, 12], 4, 4)]), context).verify, undefined);
});

test('a step faster than its task floor is flagged: the bound is wrong, not the code fast', () => {
  const r = summarizeType(timing('multi-head', 4, [run([1e-6, 6, 7], 1, 4)]), context);
  assert.deepEqual(r.flags, ['a step at context 6 below its task floor']);
});

test('without a KV cache there is no roofline floor and no cache to predict', () => {
  const r = summarizeType(timing('multi-head', 4, [run([5, 6, 7], 1, 4)]), { ...context, kvCache: false });
  assert.equal(r.roofline, null);
  assert.equal(r.taskFloorMs, null);
  assert.equal(r.vsTaskFloor, null);
  assert.ok(r.steps.every((s) => s.taskFloorMs === null));
  assert.equal(r.kvCacheBytes.predicted, 0);
});
