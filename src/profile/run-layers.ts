/**
 * `attnbench layers` as a typed API: measure the ceilings, run the sweep (resuming from
 * the journal if asked), and produce a validated result file.
 */
import fs from 'node:fs';
import { checkMode, kvHeads, parseVariant, variantLabel, type Mode } from '../attention/spec.ts';
import type { GraphOpt } from '../engine/session.ts';
import { environment } from '../results/environment.ts';
import { journalPath, readJournal, writeLayerFile } from '../results/io.ts';
import { LAYERS_SCHEMA, type LayerResult, type LayerResultFile } from '../results/schema.ts';
import { checkJobMemory } from './layer.ts';
import { estimateJobMs, runSweep, sweepJobs, type SweepGrid } from './sweep.ts';
import { UsageError } from '../core/errors.ts';
import { checkThreads } from '../core/threads.ts';
import { type Ceilings, measureCeilings } from '../roofline/probes.ts';

export interface LayersConfig {
  variants: string[];
  batch: number[];
  seq: number[];
  heads: number;
  headDim: number;
  mode: Mode;
  repeats: number | 'auto';
  budgetMs: number;
  warmup: number;
  threads: number;
  graphOpt: GraphOpt;
  profiledRuns: number;
  verify: boolean;
  dumpDir?: string;
  out?: string;
  resume: boolean;
  seed: number;
  progress: boolean;
  /** Ceilings already measured in this process (the main job shares them). */
  ceilings?: Ceilings;
  /** Smaller ceiling probes, for tests. */
  quickCeilings?: boolean;
  onResult?: (r: LayerResult) => void;
  log?: (line: string) => void;
}

/** The seed's grid: batch 8 and 16, sl 64 to 1984 step 128, nh 16, hs 64, the seed's variants plus GQA-4. */
export const SEED_DEFAULTS = {
  variants: ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:4'],
  batch: [8, 16],
  seq: Array.from({ length: 16 }, (_, i) => 64 + 128 * i),
  heads: 16,
  headDim: 64,
  mode: 'seed' as Mode,
};

/** Check everything that can be checked before any work starts. */
export function validateGrid(c: Pick<LayersConfig, 'variants' | 'heads' | 'headDim' | 'mode'>): SweepGrid['variants'] {
  if (c.variants.length === 0) throw new UsageError('--variants: no variant given');
  return c.variants.map((name) => {
    const spec = parseVariant(name);
    kvHeads(spec, c.heads, c.headDim);
    checkMode(spec, c.mode);
    return spec;
  });
}

export async function runLayers(c: LayersConfig): Promise<LayerResultFile> {
  const log = c.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const variants = validateGrid(c);
  if (c.resume && !c.out) throw new UsageError('--resume needs --out (the journal lives beside the output file)');
  checkThreads(c.threads);
  const grid: SweepGrid = { variants, batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, mode: c.mode };
  const jobs = sweepJobs(grid);
  for (const j of jobs) checkJobMemory(j); // refuse up front, before anything is measured or allocated

  const journal = c.out ? journalPath(c.out) : undefined;
  const done = c.resume && journal ? readJournal(journal) : [];
  if (journal && !c.resume && fs.existsSync(journal)) fs.rmSync(journal);

  const ceilings =
    c.ceilings ??
    (log('measuring this machine\'s ceilings (matmul GFLOP/s, copy GB/s)...'),
    await measureCeilings({ threads: c.threads, graphOpt: c.graphOpt, quick: c.quickCeilings ?? false }));
  log(
    `ceilings: matmul ${ceilings.matmulGflops.median.toFixed(0)} GFLOP/s, copy ${ceilings.copyGBps.median.toFixed(1)} GB/s (median of ${ceilings.matmulGflops.n})`,
  );

  const opts = {
    threads: c.threads,
    graphOpt: c.graphOpt,
    policy: { repeats: c.repeats, budgetMs: c.budgetMs, minRepeats: 3, warmup: c.warmup },
    profiledRuns: c.profiledRuns,
    ceilings,
    verify: c.verify,
    ...(c.dumpDir ? { dumpDir: c.dumpDir } : {}),
    seed: c.seed,
  };
  const estimate = jobs.reduce((a, j) => a + estimateJobMs(j, opts, ceilings), 0);
  log(
    `layers: ${jobs.length} configurations (${variants.map(variantLabel).join(', ')} × batch ${c.batch.join(',')} × seq ${c.seq.length} values), ` +
      `estimated ${formatDuration(estimate)} on ${c.threads} thread(s)${done.length ? `; ${done.length} already in the journal` : ''}`,
  );

  const outcome = await runSweep(grid, {
    ...opts,
    done,
    ...(journal ? { journal } : {}),
    progress: c.progress,
    ...(c.onResult ? { onResult: c.onResult } : {}),
  });
  const file: LayerResultFile = {
    schema: LAYERS_SCHEMA,
    environment: environment(c.threads, c.graphOpt, ceilings),
    config: {
      variants: variants.map(variantLabel),
      batch: c.batch,
      seq: c.seq,
      heads: c.heads,
      headDim: c.headDim,
      mode: c.mode,
      repeats: c.repeats,
      budgetMs: c.budgetMs,
      warmup: c.warmup,
      seed: c.seed,
    },
    results: outcome.results,
    failures: outcome.failures,
  };
  if (c.out) {
    writeLayerFile(c.out, file);
    if (journal) fs.rmSync(journal, { force: true });
  }
  return file;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}
