/**
 * `attnbench layers` as a typed API: check the configuration, measure the ceilings, run
 * the sweep (resuming from the journal if asked), and produce a validated result file.
 *
 *   const file = await runLayers({ variants: ['multi-head', 'multi-query-1'], batch: [8], seq: [512] });
 */
import fs from 'node:fs';
import { checkMode, kvHeads, parseVariant, variantLabel, type VariantSpec } from '../attention/spec.ts';
import { LayersConfig, type LayersConfigInput } from '../config/layers.ts';
import { parseConfig } from '../config/parse.ts';
import { UsageError } from '../core/errors.ts';
import { checkThreads } from '../core/threads.ts';
import { environment } from '../results/environment.ts';
import { journalPath, readJournal, writeLayerFile } from '../results/io.ts';
import { LAYERS_SCHEMA, LayerConfig, type LayerResult, type LayerResultFile } from '../results/schema.ts';
import { measureCeilings, type Ceilings } from '../roofline/probes.ts';
import { checkJobMemory, type ProfileOptions } from './layer.ts';
import { estimateJobMs, runSweep, sweepJobs, type SweepGrid } from './sweep.ts';

/** How a run reports and where it writes; none of it changes what is measured. */
export interface LayersRunOptions {
  /** Write the result file here (atomically), with a journal beside it while the sweep runs. */
  out?: string;
  /** Continue an interrupted sweep from the journal beside `out`. */
  resume?: boolean;
  /** A progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Ceilings already measured in this process (the main job shares them). */
  ceilings?: Ceilings;
  /** Small ceiling probes, for tests. */
  quickCeilings?: boolean;
  onResult?: (r: LayerResult) => void;
  log?: (line: string) => void;
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

export async function runLayers(input: LayersConfigInput = {}, options: LayersRunOptions = {}): Promise<LayerResultFile> {
  const c = parseConfig(LayersConfig, input);
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const variants = validateGrid(c);
  if (options.resume && !options.out) throw new UsageError('--resume needs --out (the journal lives beside the output file)');
  checkThreads(c.threads);
  const grid: SweepGrid = { variants, batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, mode: c.mode };
  const jobs = sweepJobs(grid);
  for (const j of jobs) checkJobMemory(j); // refuse up front, before anything is measured or allocated

  const journal = options.out ? journalPath(options.out) : undefined;
  const done = options.resume && journal ? readJournal(journal) : [];
  if (journal && !options.resume && fs.existsSync(journal)) fs.rmSync(journal);

  const ceilings =
    options.ceilings ??
    (log("measuring this machine's ceilings (matmul GFLOP/s, copy GB/s)..."),
    await measureCeilings({ threads: c.threads, graphOpt: c.graphOpt, quick: options.quickCeilings ?? false }));
  log(`ceilings: matmul ${ceilings.matmulGflops.median.toFixed(0)} GFLOP/s, copy ${ceilings.copyGBps.median.toFixed(1)} GB/s (median of ${ceilings.matmulGflops.n})`);

  const profile: ProfileOptions = {
    threads: c.threads,
    graphOpt: c.graphOpt,
    policy: { repeats: c.repeats, budgetMs: c.budgetMs, minRepeats: 3, warmup: c.warmup },
    profiledRuns: c.profileRuns,
    ceilings,
    verify: c.verify,
    ...(c.dump ? { dumpDir: c.dump } : {}),
    seed: c.seed,
  };
  const estimate = jobs.reduce((a, j) => a + estimateJobMs(j, profile, ceilings), 0);
  log(
    `layers: ${jobs.length} configurations (${variants.map(variantLabel).join(', ')} × batch ${c.batch.join(',')} × seq ${c.seq.length} values), ` +
      `estimated ${formatDuration(estimate)} on ${c.threads} thread(s)${done.length ? `; ${done.length} already in the journal` : ''}`,
  );

  const outcome = await runSweep(grid, {
    ...profile,
    done,
    ...(journal ? { journal } : {}),
    progress: options.progress ?? process.stderr.isTTY === true,
    ...(options.onResult ? { onResult: options.onResult } : {}),
  });
  const file: LayerResultFile = {
    schema: LAYERS_SCHEMA,
    environment: environment(c.threads, c.graphOpt, ceilings),
    config: LayerConfig.parse({ ...c, variants: variants.map(variantLabel) }),
    results: outcome.results,
    failures: outcome.failures,
  };
  if (options.out) {
    writeLayerFile(options.out, file);
    if (journal) fs.rmSync(journal, { force: true });
  }
  return file;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}
