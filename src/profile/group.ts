/**
 * One configuration (batch, sequence length) of a sweep, every variant measured in
 * alternation: the sessions live side by side, and each round runs every variant once in
 * an order that rotates, so a host that drifts within minutes slows them alike and a
 * speedup is a ratio of runs taken side by side, with a paired confidence interval.
 * Then each variant's stage split (a profiled session of its own), its float64 check and
 * dump, and its result.
 */
import { layerCost, sideBySideBytes } from '../attention/cost.ts';
import { variantLabel } from '../attention/spec.ts';
import { checkMemory } from '../core/memory.ts';
import { Engine } from '../engine/session.ts';
import type { Failure, LayerResult } from '../results/schema.ts';
import { seedRepeats, timeRuns } from '../timing/measure.ts';
import { runRounds } from '../timing/rounds.ts';
import { withSamples } from '../timing/stats.ts';
import { underRoofline, withSpeedups, type Measured } from '../results/bounds.ts';
import { dumpLayer } from './dump.ts';
import { jobShape, NO_STAGE_SPLIT, prepareLayer, profileStages, sideBySide, verifyLayer, type LayerJob, type PreparedLayer, type ProfileOptions } from './layer.ts';

/** Timed runs the protocol aims for; fewer only when the time budget allows no more (and the result says so). */
export const TARGET_RUNS = 10;
/** The fewest timed runs ever taken, so every figure has a spread. */
export const MIN_RUNS = 3;

export interface GroupOutcome {
  results: LayerResult[];
  failures: Failure[];
}

export interface GroupHooks {
  /** After each round: rounds done and planned (progress). */
  onRound?: (done: number, planned: number) => void;
}

/** The memory the variants of one configuration hold side by side: refused up front when it exceeds what is free. */
export function checkGroupMemory(jobs: readonly LayerJob[]): void {
  const first = jobs[0]!;
  checkMemory(`batch ${first.batch} seq ${first.seq} (${jobs.length} variants side by side)`, sideBySideBytes(jobs.map((j) => layerCost(jobShape(j), j.mode))));
}

/** Rounds to run: a fixed count, or the seed's rule capped by the budget (per variant), at least MIN_RUNS. */
export function plannedRounds(o: ProfileOptions, seq: number, variants: number, roundMs: number): { rounds: number; budgetLimited: boolean } {
  if (o.policy.repeats !== 'auto') return { rounds: o.policy.repeats, budgetLimited: false };
  const byBudget = Math.floor((o.policy.budgetMs * variants) / Math.max(roundMs, 1e-3));
  const rounds = Math.max(MIN_RUNS, Math.min(seedRepeats(seq), byBudget));
  return { rounds, budgetLimited: byBudget < Math.min(TARGET_RUNS, seedRepeats(seq)) };
}

interface Live {
  p: PreparedLayer;
  engine: Engine;
  warmMs: number;
  output: Float32Array;
}

const failure = (j: LayerJob, e: unknown): Failure => ({ variant: variantLabel(j.spec), batch: j.batch, seq: j.seq, error: e instanceof Error ? e.message : String(e) });

/** Measure every variant of one (batch, seq). `jobs` share batch, sequence length, heads, head size and mode. */
export async function measureGroup(jobs: readonly LayerJob[], o: ProfileOptions, hooks: GroupHooks = {}): Promise<GroupOutcome> {
  checkGroupMemory(jobs);
  const failures: Failure[] = [];
  const live: Live[] = [];
  for (const job of jobs) {
    try {
      const p = prepareLayer(job, o);
      const engine = await Engine.create(p.layer.model, sideBySide(o));
      live.push({ p, engine, warmMs: Infinity, output: new Float32Array(0) });
    } catch (e) {
      failures.push(failure(job, e));
    }
  }
  const timed = new Map<Live, number[]>();
  const release = async () => {
    for (const v of live.splice(0)) await v.engine.release();
  };
  try {
    // warm-up, in rounds too; the fastest warm run of each sizes the rounds to the budget
    for (let w = 0; w < Math.max(1, o.policy.warmup); w++) {
      for (const v of [...live]) {
        try {
          const [ms] = await timeRuns(1, async () => (v.output = (await v.engine.run(v.p.feeds)).out!.data as Float32Array));
          v.warmMs = Math.min(v.warmMs, ms!);
        } catch (e) {
          failures.push(failure(v.p.job, e));
          live.splice(live.indexOf(v), 1);
          await v.engine.release().catch(() => undefined);
        }
      }
    }
    if (live.length === 0) return { results: [], failures };
    const plan = plannedRounds(o, jobs[0]!.seq, live.length, live.reduce((a, v) => a + v.warmMs, 0));
    let runs = 0;
    const samples = await runRounds(live, plan.rounds, async (v, round) => {
      const [ms] = await timeRuns(1, () => v.engine.run(v.p.feeds));
      if (++runs % live.length === 0) hooks.onRound?.(round + 1, plan.rounds);
      return ms!;
    });
    live.forEach((v, i) => timed.set(v, samples[i]!));
    const done = [...live];
    await release(); // the timing sessions go before the profiled ones come
    const measured: Measured[] = [];
    for (const v of done) {
      try {
        measured.push(await finishVariant(v, timed.get(v)!, plan.budgetLimited, o));
      } catch (e) {
        failures.push(failure(v.p.job, e));
      }
    }
    const results = withSpeedups(measured, o.seed).map((r) => underRoofline(r, o.ceilings));
    if (o.dumpDir) {
      for (const v of done) {
        const r = results.find((x) => x.variant === variantLabel(v.p.job.spec));
        if (r) dumpLayer(o.dumpDir, v.p.layer, v.p.physical, v.output, r);
      }
    }
    return { results, failures };
  } finally {
    await release();
  }
}

/** A variant's measured fields: its timed runs, stage split, cost and (if asked) float64 check. */
async function finishVariant(v: Live, samples: number[], budgetLimited: boolean, o: ProfileOptions): Promise<Measured> {
  const { job, layer } = v.p;
  const cost = layerCost(layer.shape, job.mode);
  const split = o.profiledRuns > 0 ? await profileStages(v.p, o) : NO_STAGE_SPLIT;
  const r: Measured = {
    variant: variantLabel(job.spec),
    mode: job.mode,
    batch: job.batch,
    seq: job.seq,
    heads: job.heads,
    kvHeads: layer.shape.kvHeads,
    headDim: job.headDim,
    dtype: 'float32',
    totalMs: withSamples(samples),
    budgetLimited,
    ...split,
    flops: cost.flops,
    bytes: cost.bytes,
    speedup: null,
    memoryBytes: cost.memoryBytes,
  };
  if (o.verify) r.verify = await verifyLayer(job, o);
  return r;
}

