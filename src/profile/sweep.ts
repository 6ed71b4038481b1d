/**
 * A layer sweep: the cartesian product of variants × batch sizes × sequence lengths, run
 * one configuration (batch, seq) at a time with its variants measured in alternation
 * (`group.ts`), a progress bar on stderr, and the ceilings probed again between
 * configurations once a few minutes have passed (this host drifts). Each finished
 * configuration is appended to a journal, so `--resume` can continue an interrupted sweep;
 * a variant that fails is reported and skipped.
 */
import { layerCost } from '../attention/cost.ts';
import { variantLabel, type Mode, type VariantSpec } from '../attention/spec.ts';
import { progressBar } from '../core/progress.ts';
import type { Failure, LayerResult } from '../results/schema.ts';
import { ceilingRates, floorMs, type Rates } from '../roofline/floor.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { measureGroup, plannedRounds } from './group.ts';
import { jobLabel, jobShape, type LayerJob, type ProfileOptions } from './layer.ts';

export interface SweepGrid {
  variants: VariantSpec[];
  batch: number[];
  seq: number[];
  heads: number;
  headDim: number;
  mode: Mode;
}

export function sweepJobs(grid: SweepGrid): LayerJob[] {
  return sweepGroups(grid).flat();
}

/** The grid as configurations: per (batch, seq), in the grid's order, its variants. */
export function sweepGroups(grid: SweepGrid): LayerJob[][] {
  const groups: LayerJob[][] = [];
  for (const batch of grid.batch)
    for (const seq of grid.seq) groups.push(grid.variants.map((spec) => ({ spec, batch, seq, heads: grid.heads, headDim: grid.headDim, mode: grid.mode })));
  return groups;
}

export const sameJob = (j: LayerJob, r: LayerResult) =>
  variantLabel(j.spec) === r.variant && j.batch === r.batch && j.seq === r.seq && j.mode === r.mode && j.heads === r.heads && j.headDim === r.headDim;

/** Rates to estimate with before the ceilings are measured. */
const GUESSED_RATES: Rates = { matmulGflops: 100, readGBps: 10 };

/**
 * Predicted milliseconds for one configuration: each variant's roofline floor times a slack
 * factor, times every run it will do (warm-up, the rounds within the budget, profiled runs,
 * the float64 check's run).
 */
export function estimateGroupMs(jobs: readonly LayerJob[], o: ProfileOptions, c: Ceilings | null): number {
  const runMs = jobs.map((j) => {
    const cost = layerCost(jobShape(j), j.mode);
    return 1.5 * floorMs(cost, c ? ceilingRates(c) : GUESSED_RATES) + 0.2;
  });
  const roundMs = runMs.reduce((a, b) => a + b, 0);
  const { rounds } = plannedRounds(o, jobs[0]!.seq, jobs.length, roundMs);
  const perVariant = Math.max(1, o.policy.warmup) + (o.profiledRuns ? o.profiledRuns + 1 : 0) + (o.verify ? 1 : 0);
  return roundMs * (rounds + perVariant) + 100 * jobs.length;
}

/** Where finished configurations go as they finish (the journal). */
export interface SweepSink {
  appendResults(results: readonly LayerResult[]): void;
}

export interface SweepOptions extends ProfileOptions {
  /** Results already measured (from a journal); their configurations are skipped. */
  done?: readonly LayerResult[];
  sink?: SweepSink;
  progress?: boolean;
  onResult?: (r: LayerResult) => void;
  /** Probe the ceilings again between configurations, once this many ms have passed since the last probing. */
  reprobe?: { afterMs: number; probe: (c: Ceilings) => Promise<Ceilings> };
}

export interface SweepOutcome {
  results: LayerResult[];
  failures: Failure[];
  /** The ceilings after the last probing. */
  ceilings: Ceilings | null;
}

export async function runSweep(grid: SweepGrid, o: SweepOptions): Promise<SweepOutcome> {
  const all = sweepJobs(grid);
  const done = o.done ?? [];
  const results: LayerResult[] = all.flatMap((j) => done.filter((r) => sameJob(j, r)).slice(0, 1));
  const todo = sweepGroups(grid)
    .map((g) => g.filter((j) => !done.some((r) => sameJob(j, r))))
    .filter((g) => g.length > 0);
  const failures: Failure[] = [];
  let ceilings = o.ceilings;
  const estimates = todo.map((g) => estimateGroupMs(g, o, ceilings));
  const total = estimates.reduce((a, b) => a + b, 0);
  const variants = todo.reduce((a, g) => a + g.length, 0);

  const bar = progressBar(o.progress !== false && todo.length > 0, '{count}/{jobs} | {config} | elapsed {duration_formatted} | ETA {eta_formatted}', { etaBuffer: 1000 });
  bar?.start(Math.max(1, Math.round(total)), 0, { count: 0, jobs: variants, config: '' });
  let progressed = 0;
  let finished = 0;
  let lastProbe = performance.now();
  for (const [i, group] of todo.entries()) {
    if (o.reprobe && ceilings && i > 0 && performance.now() - lastProbe > o.reprobe.afterMs) {
      bar?.update(Math.round(progressed), { config: 'probing the ceilings again' });
      ceilings = await o.reprobe.probe(ceilings);
      lastProbe = performance.now();
    }
    const label = `${group.length > 1 ? `${group.length} variants` : jobLabel(group[0]!)} b=${group[0]!.batch} s=${group[0]!.seq}`;
    bar?.update(Math.round(progressed), { count: finished, config: label });
    try {
      const out = await measureGroup(group, { ...o, ceilings }, {
        onRound: (r, n) => bar?.update(Math.round(progressed + (estimates[i]! * r) / (n + 2)), { config: `${label} round ${r}/${n}` }),
      });
      results.push(...out.results);
      o.sink?.appendResults(out.results);
      for (const r of out.results) o.onResult?.(r);
      for (const f of out.failures) report(f);
      failures.push(...out.failures);
    } catch (e) {
      // a configuration that cannot run at all (e.g. refused for memory): its variants are skipped
      for (const j of group) {
        const f = { variant: variantLabel(j.spec), batch: j.batch, seq: j.seq, error: e instanceof Error ? e.message : String(e) };
        report(f);
        failures.push(f);
      }
    }
    progressed += estimates[i]!;
    finished += group.length;
    bar?.update(Math.round(progressed), { count: finished });
  }
  bar?.stop();
  // keep the grid's order (resumed results first would scramble tables)
  results.sort((a, b) => all.findIndex((j) => sameJob(j, a)) - all.findIndex((j) => sameJob(j, b)));
  return { results, failures, ceilings };
}

function report(f: Failure): void {
  process.stderr.write(`\nattnbench: skipped ${f.variant} b=${f.batch} s=${f.seq}: ${f.error.split('\n')[0]}\n`);
}
