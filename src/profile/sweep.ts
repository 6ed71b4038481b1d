/**
 * A layer sweep: the cartesian product of variants × batch sizes × sequence lengths,
 * run one configuration at a time with a progress bar on stderr. Each finished
 * configuration is appended to a journal, so `--resume` can continue an interrupted
 * sweep; a configuration that fails is reported and skipped.
 */
import { layerCost } from '../attention/cost.ts';
import { variantLabel, type Mode, type VariantSpec } from '../attention/spec.ts';
import { progressBar } from '../core/progress.ts';
import { appendJournal } from '../results/io.ts';
import type { Failure, LayerResult } from '../results/schema.ts';
import { ceilingRates, floorMs, type Rates } from '../roofline/floor.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { chooseRepeats } from '../timing/measure.ts';
import { jobLabel, jobShape, profileLayer, type LayerJob, type ProfileOptions } from './layer.ts';

export interface SweepGrid {
  variants: VariantSpec[];
  batch: number[];
  seq: number[];
  heads: number;
  headDim: number;
  mode: Mode;
}

export function sweepJobs(grid: SweepGrid): LayerJob[] {
  const jobs: LayerJob[] = [];
  for (const batch of grid.batch)
    for (const seq of grid.seq)
      for (const spec of grid.variants) jobs.push({ spec, batch, seq, heads: grid.heads, headDim: grid.headDim, mode: grid.mode });
  return jobs;
}

const sameJob = (j: LayerJob, r: LayerResult) =>
  variantLabel(j.spec) === r.variant && j.batch === r.batch && j.seq === r.seq && j.mode === r.mode && j.heads === r.heads && j.headDim === r.headDim;

/** Rates to estimate with before the ceilings are measured. */
const GUESSED_RATES: Rates = { matmulGflops: 100, copyGBps: 10 };

/**
 * Predicted milliseconds for one configuration: the roofline floor times a slack factor,
 * times every run it will do (warm-up, repeats within the budget, profiled runs).
 */
export function estimateJobMs(j: LayerJob, o: ProfileOptions, c: Ceilings | null): number {
  const cost = layerCost(jobShape(j), j.mode);
  const runMs = 1.5 * floorMs(cost, c ? ceilingRates(c) : GUESSED_RATES) + 0.2;
  const p = o.policy;
  return runMs * (Math.max(1, p.warmup) + 1 + chooseRepeats(p, j.seq, runMs) + (o.profiledRuns ? o.profiledRuns + 1 : 0)) + 30;
}

export interface SweepOptions extends ProfileOptions {
  /** Results already measured (from a journal); their configurations are skipped. */
  done?: LayerResult[];
  journal?: string;
  progress?: boolean;
  onResult?: (r: LayerResult) => void;
}

export interface SweepOutcome {
  results: LayerResult[];
  failures: Failure[];
}

export async function runSweep(grid: SweepGrid, o: SweepOptions): Promise<SweepOutcome> {
  const all = sweepJobs(grid);
  const done = o.done ?? [];
  const results: LayerResult[] = all.flatMap((j) => done.filter((r) => sameJob(j, r)).slice(0, 1));
  const todo = all.filter((j) => !done.some((r) => sameJob(j, r)));
  const failures: Failure[] = [];
  const estimates = todo.map((j) => estimateJobMs(j, o, o.ceilings));
  const totalEstimate = estimates.reduce((a, b) => a + b, 0);

  const bar = progressBar(o.progress !== false && todo.length > 0, '{count}/{jobs} | {config} | elapsed {duration_formatted} | ETA {eta_formatted}', { etaBuffer: 1000 });
  bar?.start(Math.max(1, Math.round(totalEstimate)), 0, { count: 0, jobs: todo.length, config: '' });

  let progressed = 0;
  for (const [i, job] of todo.entries()) {
    bar?.update(Math.round(progressed), { count: i, config: jobLabel(job) });
    try {
      const r = await profileLayer(job, o); // checks memory again: what is free changes as the sweep runs
      results.push(r);
      if (o.journal) appendJournal(o.journal, r);
      o.onResult?.(r);
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      failures.push({ variant: variantLabel(job.spec), batch: job.batch, seq: job.seq, error });
      process.stderr.write(`\nattnbench: skipped ${jobLabel(job)}: ${error.split('\n')[0]}\n`);
    }
    progressed += estimates[i]!;
    bar?.update(Math.round(progressed), { count: i + 1 });
  }
  bar?.stop();
  // keep the grid's order (resumed results first would scramble tables)
  results.sort((a, b) => all.findIndex((j) => sameJob(j, a)) - all.findIndex((j) => sameJob(j, b)));
  return { results, failures };
}
