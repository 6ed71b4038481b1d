/** The generation summary is pure: made-up timings in, the result record out, no model run. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median } from 'simple-statistics';
import { parseVariant } from '../src/attention/spec.ts';
import type { GenerationOutput } from '../src/generate/generate.ts';
import { summarizeType, withSpeedups, type SummaryContext, type TimedGeneration, type TypeTiming } from '../src/generate/summary.ts';
import { gpt2Config } from '../src/model/config.ts';
import { summarize } from '../src/timing/stats.ts';

// 2 layers, hidden 32 in 4 heads of 8, 64 positions, vocabulary 300; 3 rows
const model = gpt2Config({ layers: 2, hidden: 32, heads: 4, positions: 64, vocab: 300 });
const ROWS = 3;
const ceilings = { matmulGflops: summarize([100]), copyGBps: summarize([10]), method: 'made up' };
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

const timing = (variant: string, kvHeads: number, runs: TimedGeneration[], probes = [12, 14]): TypeTiming => ({
  spec: parseVariant(variant),
  kvHeads,
  converted: null,
  runs,
  copyProbesGBps: probes,
  texts: ['a', 'b', 'c'],
  textSeconds: 0.001,
  peakRssBytes: 1e9,
});

/** The floor of one step, written out by hand: weights once plus the live cache once at the copy bandwidth, or the FLOPs at the matmul ceiling. */
function floorByHand(kvHeads: number, ctx: number, copyGBps: number): number {
  const nm = 32, D = 8, L = 2, V = 300, inner = 128;
  const perLayer = nm * (nm + 2 * kvHeads * D) + (nm + 2 * kvHeads * D) + nm * nm + nm + (nm * inner + inner + inner * nm + nm) + 4 * nm;
  const weightFloats = V * nm + L * perLayer + 2 * nm + nm; // every block, the final norm, the tied LM head, one embedding row
  const bytes = 4 * weightFloats + 2 * L * ROWS * kvHeads * D * ctx * 4;
  const flops = 2 * ROWS * (weightFloats - nm) + 4 * ROWS * 4 * D * ctx;
  return Math.max(bytes / (copyGBps * 1e6), flops / (100 * 1e6));
}

test('one type: step series, statistics, floors, cache sizes and throughput from the timings', () => {
  const t = timing('multi-query-1', 1, [run([2, 4, 6], 1.0, 1), run([4, 2, 8], 3.0, 1)]);
  const r = summarizeType(t, context);
  assert.equal(r.attention, 'multi-query-1');
  assert.deepEqual(r.steps.map((s) => [s.context, s.ms]), [[6, 3], [7, 3], [8, 7]], 'median per step over the runs');
  assert.deepEqual(r.decodeMsPerToken, summarize([2, 4, 6, 4, 2, 8]), 'every step of every run');
  const copy = median([10, 12, 14]);
  assert.equal(r.roofline!.copyGBps, copy, 'the floor uses the median of the ceiling and the probes');
  for (const s of r.steps) assert.ok(Math.abs(s.floorMs! - floorByHand(1, s.context, copy)) < 1e-12, `floor at ${s.context}`);
  assert.ok(Math.abs(r.floorMs! - floorByHand(1, 7, copy)) < 1e-12, 'the floor at the median context');
  assert.equal(r.vsFloor, r.decodeMsPerToken.median / r.floorMs!);
  assert.deepEqual(r.atMaxContext && [r.atMaxContext.context, r.atMaxContext.ms], [8, 3], 'the last (up to 8) steps');
  assert.equal(r.kvCacheBytes.predicted, 2 * 2 * ROWS * 1 * 8 * 8 * 4);
  assert.equal(r.generateSeconds.median, 2);
  assert.equal(r.tokensPerSecond, (ROWS * 4) / 2);
  assert.equal(r.decodeTokensPerSecond, (1000 * ROWS) / 4);
  assert.equal(r.prefillMs.median, 20);
  assert.equal(r.cacheGrowMs, 0.5);
  assert.equal(r.beamReorderMsPerStep, null, 'no beams, no reorders');
  assert.equal(r.speedupVsMha, null, 'filled in against multi-head later');
});

test('speedups: multi-head over each type in the same run, and none without multi-head', () => {
  const mha = summarizeType(timing('multi-head', 4, [run([6, 6, 12], 4, 4)]), context);
  const mqa = summarizeType(timing('multi-query-1', 1, [run([3, 3, 4], 2, 1)]), context);
  const [a, b] = withSpeedups([mha, mqa]);
  assert.equal(a!.speedupVsMha, 1);
  assert.equal(b!.speedupVsMha, 6 / 3);
  assert.equal(b!.speedupVsMhaAtMaxContext, 6 / 3, 'medians of the last steps: 6 and 3');
  assert.equal(b!.generateSpeedupVsMha, 4 / 2);
  assert.equal(withSpeedups([mqa])[0]!.speedupVsMha, null);
});

test('without a KV cache there is no roofline floor and no cache to predict', () => {
  const r = summarizeType(timing('multi-head', 4, [run([5, 6, 7], 1, 4)]), { ...context, kvCache: false });
  assert.equal(r.roofline, null);
  assert.equal(r.floorMs, null);
  assert.equal(r.vsFloor, null);
  assert.ok(r.steps.every((s) => s.floorMs === null));
  assert.equal(r.kvCacheBytes.predicted, 0);
});
