/**
 * One configuration (batch, sequence length) of a sweep, every variant measured in
 * alternation: the sessions live side by side, and each round runs every variant once in
 * an order that rotates, so a host that drifts within minutes slows them alike and a
 * speedup is a ratio of runs taken side by side, with a paired confidence interval.
 * Then each variant's stage split (a profiled session of its own), its float64 check, and
 * its result. Platform-neutral: the runtime is onnxruntime-node in Node, onnxruntime-web in
 * the page, and what only Node does (the free-memory check, the `.npy` dump) comes in hooks.
 */
import { layerCost, sideBySideBytes } from '../attention/cost.ts';
import { variantLabel } from '../attention/spec.ts';
import type { Runtime, RuntimeFeeds, RuntimeSession } from '../engine/runtime.ts';
import { underRoofline, withSpeedups, type Measured } from '../results/bounds.ts';
import type { Failure, LayerResult } from '../results/schema.ts';
import { seedRepeats, timeRuns } from '../timing/measure.ts';
import { runRounds } from '../timing/rounds.ts';
import { withSamples } from '../timing/stats.ts';
import { jobShape, NO_STAGE_SPLIT, prepareLayer, profileStages, verifyLayer, type LayerJob, type PreparedLayer, type ProfileOptions } from './layer.ts';

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
  /** Refuse (throw) when the variants of a configuration, side by side, would not fit (`what` names them). */
  checkMemory?: (what: string, bytes: number) => void;
  /** Each result with its inputs and its last timed output (Node's `--dump`). */
  afterVariant?: (p: PreparedLayer, output: Float32Array, r: LayerResult) => void;
}

/** The memory the variants of one configuration hold side by side. */
export function groupMemory(jobs: readonly LayerJob[]): { what: string; bytes: number } {
  const first = jobs[0]!;
  return { what: `batch ${first.batch} seq ${first.seq} (${jobs.length} variants side by side)`, bytes: sideBySideBytes(jobs.map((j) => layerCost(jobShape(j), j.mode))) };
}

/**
 * Rounds to run: a fixed count, or `wanted` (a layer: the seed's rule at its sequence
 * length) capped by the budget (per variant), at least MIN_RUNS.
 */
export function plannedRounds(o: Pick<ProfileOptions, 'policy'>, wanted: number, variants: number, roundMs: number): { rounds: number; budgetLimited: boolean } {
  if (o.policy.repeats !== 'auto') return { rounds: o.policy.repeats, budgetLimited: false };
  const byBudget = Math.floor((o.policy.budgetMs * variants) / Math.max(roundMs, 1e-3));
  const rounds = Math.max(MIN_RUNS, Math.min(wanted, byBudget));
  return { rounds, budgetLimited: byBudget < Math.min(TARGET_RUNS, wanted) };
}

interface Live {
  p: PreparedLayer;
  session: RuntimeSession;
  feeds: RuntimeFeeds;
  warmMs: number;
  output: Float32Array;
}

export const failureOf = (j: Pick<LayerJob, 'spec' | 'batch' | 'seq'>, e: unknown): Failure => ({
  variant: variantLabel(j.spec),
  batch: j.batch,
  seq: j.seq,
  error: e instanceof Error ? e.message : String(e),
});

/** Measure every variant of one (batch, seq) on `rt`. `jobs` share batch, sequence length, heads, head size and mode. */
export async function measureGroup(rt: Runtime, jobs: readonly LayerJob[], o: ProfileOptions, hooks: GroupHooks = {}): Promise<GroupOutcome> {
  const memory = groupMemory(jobs);
  hooks.checkMemory?.(memory.what, memory.bytes);
  const failures: Failure[] = [];
  const live: Live[] = [];
  const release = async () => {
    for (const v of live.splice(0)) await v.session.release();
  };
  try {
    for (const job of jobs) {
      try {
        const p = prepareLayer(job, o);
        const session = await rt.createSession(p.layer.model, { sideBySide: true });
        live.push({ p, session, feeds: session.feeds(p.inputs), warmMs: Infinity, output: new Float32Array(0) });
      } catch (e) {
        failures.push(failureOf(job, e));
      }
    }
    // warm-up, in rounds too; the fastest warm run of each sizes the rounds to the budget
    for (let w = 0; w < Math.max(1, o.policy.warmup); w++) {
      for (const v of [...live]) {
        try {
          const [ms] = await timeRuns(1, async () => (v.output = (await v.session.run(v.feeds)).out!), rt.now);
          v.warmMs = Math.min(v.warmMs, ms!);
        } catch (e) {
          failures.push(failureOf(v.p.job, e));
          live.splice(live.indexOf(v), 1);
          await v.session.release().catch(() => undefined);
        }
      }
    }
    if (live.length === 0) return { results: [], failures };
    const plan = plannedRounds(o, seedRepeats(jobs[0]!.seq), live.length, live.reduce((a, v) => a + v.warmMs, 0));
    let runs = 0;
    const samples = await runRounds(live, plan.rounds, async (v, round) => {
      const [ms] = await timeRuns(1, () => v.session.run(v.feeds), rt.now);
      if (++runs % live.length === 0) {
        hooks.onRound?.(round + 1, plan.rounds);
        await rt.pause?.();
      }
      return ms!;
    });
    const done = live.map((v, i) => ({ v, samples: samples[i]! }));
    await release(); // the timing sessions go before the profiled ones come
    const measured: Measured[] = [];
    for (const { v, samples } of done) {
      try {
        measured.push(await finishVariant(rt, v.p, samples, plan.budgetLimited, o));
      } catch (e) {
        failures.push(failureOf(v.p.job, e));
      }
    }
    const results = withSpeedups(measured, o.seed).map((r) => underRoofline(r, o.ceilings));
    if (hooks.afterVariant) {
      for (const { v } of done) {
        const r = results.find((x) => x.variant === variantLabel(v.p.job.spec));
        if (r) hooks.afterVariant(v.p, v.output, r);
      }
    }
    return { results, failures };
  } finally {
    await release();
  }
}

/** A variant's measured fields: its timed runs, stage split, cost and (if asked) float64 check. */
async function finishVariant(rt: Runtime, p: PreparedLayer, samples: number[], budgetLimited: boolean, o: ProfileOptions): Promise<Measured> {
  const { job, layer } = p;
  const cost = layerCost(layer.shape, job.mode);
  const split = o.profiledRuns > 0 ? await profileStages(rt, p, o) : NO_STAGE_SPLIT;
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
  if (o.verify) r.verify = await verifyLayer(rt, job, o);
  return r;
}
