/**
 * A layer sweep: the cartesian product of variants × batch sizes × sequence lengths, run
 * one configuration (batch, seq) at a time with its variants measured in alternation
 * (`group.ts`), and the ceilings probed again between configurations once a few minutes have
 * passed (a shared host drifts). Each finished configuration goes to a sink (Node's journal,
 * the page's storage) before the next starts, so an interrupted sweep keeps its work and a
 * resumed one skips it; a variant that fails is reported and skipped. Platform-neutral:
 * progress and failures go to hooks (Node draws a bar on stderr, the page its own).
 */
import { layerCost } from '../attention/cost.ts';
import { projectionProduct } from '../attention/layouts.ts';
import { layoutOf } from '../attention/registry.ts';
import { checkMode, kvHeads, parseVariant, variantLabel, type Mode, type VariantSpec } from '../attention/spec.ts';
import type { LayersConfig } from '../config/layers.ts';
import type { Dtype } from '../precision/dtypes.ts';
import { UsageError } from '../core/errors.ts';
import type { Runtime } from '../engine/runtime.ts';
import type { Failure, LayerResult } from '../results/schema.ts';
import { shapeLabel, type Ceilings, type MatmulShape } from '../roofline/probes.ts';
import { estimateRates, floorMs } from '../roofline/floor.ts';
import { seedRepeats } from '../timing/measure.ts';
import { plannedRounds, runConfigurations, type RunProgress } from './alternate.ts';
import { failureOf, measureGroup, type GroupHooks } from './group.ts';
import { jobLabel, jobShape, type LayerJob, type ProfileOptions } from './layer.ts';

export interface SweepGrid {
  variants: VariantSpec[];
  batch: number[];
  seq: number[];
  heads: number;
  headDim: number;
  mode: Mode;
  /** Weight dtypes (default: float32 only). */
  weightDtype?: readonly Dtype[];
}

export function sweepJobs(grid: SweepGrid): LayerJob[] {
  return sweepGroups(grid).flat();
}

/**
 * The grid as configurations: per (batch, seq), in the grid's order, its variants at every
 * weight dtype (dtype-major), all measured side by side: a speedup over multi-head is taken
 * at the same dtype, and a dtype's gain from the same rounds.
 */
export function sweepGroups(grid: SweepGrid): LayerJob[][] {
  const groups: LayerJob[][] = [];
  const dtypes = grid.weightDtype?.length ? grid.weightDtype : (['float32'] as const);
  for (const batch of grid.batch)
    for (const seq of grid.seq)
      groups.push(dtypes.flatMap((weightDtype) => grid.variants.map((spec) => ({ spec, batch, seq, heads: grid.heads, headDim: grid.headDim, mode: grid.mode, weightDtype }))));
  return groups;
}

type JobKey = Pick<LayerResult, 'attention' | 'batch' | 'seq' | 'mode' | 'heads' | 'headDim' | 'weightDtype'>;

export const sameJob = (j: LayerJob, r: JobKey) =>
  variantLabel(j.spec) === r.attention && j.batch === r.batch && j.seq === r.seq && j.mode === r.mode && j.heads === r.heads && j.headDim === r.headDim && j.weightDtype === r.weightDtype;

/** Results in the grid's order (resumed results first would scramble tables). */
export function inGridOrder<T extends JobKey>(grid: SweepGrid, results: readonly T[]): T[] {
  const all = sweepJobs(grid);
  const rank = (r: T) => all.findIndex((j) => sameJob(j, r));
  return [...results].sort((a, b) => rank(a) - rank(b));
}

/**
 * Predicted milliseconds for one configuration: each variant's roofline floor times a slack
 * factor, times every run it will do (warm-up, the rounds within the budget, profiled runs,
 * the float64 check's run).
 */
export function estimateGroupMs(jobs: readonly LayerJob[], o: ProfileOptions, c: Ceilings | null): number {
  const runMs = jobs.map((j) => {
    const cost = layerCost(jobShape(j), j.mode, j.weightDtype);
    return 1.5 * floorMs(cost, estimateRates(c)) + 0.2;
  });
  const roundMs = runMs.reduce((a, b) => a + b, 0);
  const { rounds } = plannedRounds(o, seedRepeats(jobs[0]!.seq), jobs.length, roundMs);
  const perVariant = Math.max(1, o.policy.warmup) + (o.profileRuns ? o.profileRuns + 1 : 0) + (o.verify ? 1 : 0);
  return roundMs * (rounds + perVariant) + 100 * jobs.length;
}

/** Where a sweep stands: the estimated milliseconds done of the total, the variants finished, what runs now. */
export interface SweepProgress extends RunProgress {
  finished: number;
  variants: number;
}

export interface SweepOptions extends ProfileOptions {
  /** Results already measured (from a journal, the page's storage); their configurations are skipped. */
  done?: readonly LayerResult[];
  /** Each finished configuration's results (and failures), before the next configuration starts. */
  sink?: (results: readonly LayerResult[], failures: readonly Failure[]) => void | Promise<void>;
  onProgress?: (p: SweepProgress) => void;
  onFailure?: (f: Failure) => void;
  /** Probe the ceilings again between configurations, once this many ms have passed since the last probing. */
  reprobe?: { afterMs: number; probe: (c: Ceilings) => Promise<Ceilings> };
  /** Stops the sweep between configurations (a cancel). */
  signal?: AbortSignal;
  /** Node's memory refusal and `.npy` dump (see GroupHooks). */
  checkMemory?: GroupHooks['checkMemory'];
  afterVariant?: GroupHooks['afterVariant'];
}

export interface SweepOutcome {
  results: LayerResult[];
  failures: Failure[];
  /** The ceilings after the last probing. */
  ceilings: Ceilings | null;
  /** Stopped by the signal before every configuration ran. */
  cancelled: boolean;
}

/** The configurations of `grid` left to run after `done`. */
export const remainingGroups = (grid: SweepGrid, done: readonly LayerResult[]): LayerJob[][] =>
  sweepGroups(grid)
    .map((g) => g.filter((j) => !done.some((r) => sameJob(j, r))))
    .filter((g) => g.length > 0);

export async function runSweep(rt: Runtime, grid: SweepGrid, o: SweepOptions): Promise<SweepOutcome> {
  const done = o.done ?? [];
  const kept: LayerResult[] = sweepJobs(grid).flatMap((j) => done.filter((r) => sameJob(j, r)).slice(0, 1));
  const todo = remainingGroups(grid, done);
  let ceilings = o.ceilings;
  let lastProbe = rt.now();
  const variants = todo.reduce((a, g) => a + g.length, 0);
  let finished = 0;
  const out = await runConfigurations(rt, {
    groups: todo,
    estimates: todo.map((g) => estimateGroupMs(g, o, ceilings)),
    label: (g) => `${g.length > 1 ? `${g.length} variants` : jobLabel(g[0]!)} b=${g[0]!.batch} s=${g[0]!.seq}`,
    measure: (g, onRound) =>
      measureGroup(rt, g, { ...o, ceilings }, { onRound, ...(o.checkMemory ? { checkMemory: o.checkMemory } : {}), ...(o.afterVariant ? { afterVariant: o.afterVariant } : {}) }),
    // a configuration that cannot run at all (e.g. refused for memory): its variants are skipped
    failAll: (g, e) => g.map((j) => failureOf(j, e)),
    between: async (_, tell) => {
      if (!o.reprobe || !ceilings || rt.now() - lastProbe <= o.reprobe.afterMs) return;
      tell('probing the ceilings again');
      ceilings = await o.reprobe.probe(ceilings);
      lastProbe = rt.now();
    },
    ...(o.sink ? { sink: o.sink } : {}),
    ...(o.onFailure ? { onFailure: o.onFailure } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onProgress: (p, g) => {
      if (g) finished += g.length;
      o.onProgress?.({ ...p, finished, variants });
    },
  });
  return { results: inGridOrder(grid, [...kept, ...out.results]), failures: out.failures, ceilings, cancelled: out.cancelled };
}

/** Check the variants against the heads, head size and mode before any work starts. */
export function validateGrid(c: Pick<LayersConfig, 'variants' | 'heads' | 'headDim' | 'mode'>): VariantSpec[] {
  if (c.variants.length === 0) throw new UsageError('--variants: no variant given');
  return c.variants.map((name) => {
    const spec = parseVariant(name);
    kvHeads(spec, c.heads, c.headDim);
    checkMode(spec, c.mode);
    return spec;
  });
}

/**
 * The products the run multiplies, for the compute probe: every configuration's projection
 * (its weights a constant; multi-query's as W·Hᵀ, multi-query-separate's as three), its two
 * batched products and, in full mode, its output projection. Each configuration's own, not
 * only the largest's: a product's rate depends on its size (a small one can run from the
 * cache), and the matmul ceiling must be the best rate of any product the run times, else a
 * stage beats it (qkv at batch 8, sequence 128 ran at 197 GFLOP/s against a ceiling probed at
 * sequence 1024 only, 192).
 */
export function runShapes(jobs: readonly LayerJob[]): MatmulShape[] {
  const seen = new Map<string, MatmulShape>();
  for (const j of jobs) for (const s of jobProducts(j)) seen.set(shapeLabel(s), s);
  return [...seen.values()];
}

/** The products one configuration's graph multiplies: its layout's projection, the attention's two batched products, and in full mode the output projection. */
function jobProducts(j: LayerJob): MatmulShape[] {
  const s = jobShape(j);
  return [
    ...layoutOf(j.spec).projections(s),
    // the two batched products of the attention: scores q·kᵀ, then weights·v
    { batch: s.batch * s.kvHeads, m: s.seq * (s.heads / s.kvHeads), k: s.headDim, n: s.seq, constantB: false },
    { batch: s.batch * s.kvHeads, m: s.seq * (s.heads / s.kvHeads), k: s.seq, n: s.headDim, constantB: false },
    ...(j.mode === 'full' ? [projectionProduct(s, s.heads * s.headDim)] : []),
  ];
}
