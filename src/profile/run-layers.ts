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
import { appendJournal, journalPath, readJournal, writeLayerFile } from '../results/io.ts';
import { LAYERS_SCHEMA, LayerConfig, type LayerResult, type LayerResultFile } from '../results/schema.ts';
import { layerCost } from '../attention/cost.ts';
import { measureCeilings, probeAgain, type Ceilings, type MatmulShape } from '../roofline/probes.ts';
import { jobShape, type LayerJob } from './layer.ts';
import { underRoofline } from '../results/bounds.ts';
import { checkGroupMemory } from './group.ts';
import type { ProfileOptions } from './layer.ts';
import { estimateGroupMs, runSweep, sweepGroups, sweepJobs, type SweepGrid } from './sweep.ts';

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

/** Probe the ceilings again between configurations once this long has passed since the last probing. */
const REPROBE_AFTER_MS = 120_000;

export async function runLayers(input: LayersConfigInput = {}, options: LayersRunOptions = {}): Promise<LayerResultFile> {
  const c = parseConfig(LayersConfig, input);
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const variants = validateGrid(c);
  if (c.device !== 'cpu') throw new UsageError(`--device ${c.device}: not available in this build of attnbench yet (cpu is)`);
  if (options.resume && !options.out) throw new UsageError('--resume needs --out (the journal lives beside the output file)');
  checkThreads(c.threads);
  const grid: SweepGrid = { variants, batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, mode: c.mode };
  const jobs = sweepJobs(grid);
  for (const g of sweepGroups(grid)) checkGroupMemory(g); // refuse up front, before anything is measured or allocated

  const journal = options.out ? journalPath(options.out) : undefined;
  const done = options.resume && journal ? readJournal(journal) : [];
  if (journal && !options.resume && fs.existsSync(journal)) fs.rmSync(journal);

  const probeOptions = { threads: c.threads, graphOpt: c.graphOpt, quick: options.quickCeilings ?? false };
  const ceilings =
    options.ceilings ??
    (log("measuring this machine's ceilings (matmul GFLOP/s, streaming read GB/s)..."),
    await measureCeilings({ ...probeOptions, shapes: runShapes(jobs) }));
  log(describeCeilings(ceilings));

  const profile: ProfileOptions = {
    threads: c.threads,
    graphOpt: c.graphOpt,
    policy: { repeats: c.repeats, budgetMs: c.budgetMs, minRepeats: 3, warmup: c.warmup },
    profiledRuns: c.profileRuns,
    ceilings,
    weights: c.weights,
    verify: c.verify,
    ...(c.dump ? { dumpDir: c.dump } : {}),
    seed: c.seed,
  };
  const estimate = sweepGroups(grid).reduce((a, g) => a + estimateGroupMs(g, profile, ceilings), 0);
  log(
    `layers: ${jobs.length} configurations (${variants.map(variantLabel).join(', ')} × batch ${c.batch.join(',')} × seq ${c.seq.length} values), ` +
      `variants of each batch and length measured in alternation; estimated ${formatDuration(estimate)} on ${c.threads} thread(s)` +
      (done.length ? `; ${done.length} already in the journal` : ''),
  );

  const outcome = await runSweep(grid, {
    ...profile,
    done,
    ...(journal ? { sink: { appendResults: (rs) => rs.forEach((r) => appendJournal(journal, r)) } } : {}),
    progress: options.progress ?? process.stderr.isTTY === true,
    reprobe: { afterMs: REPROBE_AFTER_MS, probe: (prev) => probeAgain(prev, probeOptions) },
    ...(options.onResult ? { onResult: options.onResult } : {}),
  });
  const final = outcome.ceilings ?? ceilings;
  if (outcome.results.some((r) => r.budgetLimited)) {
    log(`note: the time budget (--budget-ms ${c.budgetMs}) allowed fewer than 10 timed runs for some configurations; raise it for tighter intervals`);
  }
  const file: LayerResultFile = {
    schema: LAYERS_SCHEMA,
    environment: environment(c.threads, c.graphOpt, final),
    config: LayerConfig.parse({ ...c, variants: variants.map(variantLabel) }),
    // every result against the run's final bounds (the ceilings may have been probed again)
    results: outcome.results.map((r) => underRoofline(r, final)),
    failures: outcome.failures,
  };
  if (options.out) {
    writeLayerFile(options.out, file);
    if (journal) fs.rmSync(journal, { force: true });
  }
  return file;
}

/** The products the run multiplies, for the compute probe: each variant's projection (its weights a constant) and its two batched products, at the grid's largest configuration. */
export function runShapes(jobs: readonly LayerJob[]): MatmulShape[] {
  const largest = new Map<string, LayerJob>();
  for (const j of jobs) {
    const key = variantLabel(j.spec);
    const prev = largest.get(key);
    if (!prev || layerCost(jobShape(j), j.mode).flops > layerCost(jobShape(prev), prev.mode).flops) largest.set(key, j);
  }
  return [...largest.values()].flatMap((j) => {
    const s = jobShape(j);
    const nm = s.heads * s.headDim;
    const rows = s.batch * s.seq;
    return [
      { batch: 1, m: rows, k: nm, n: (s.heads + 2 * s.kvHeads) * s.headDim, constantB: true },
      // the two batched products of the attention: scores q·kᵀ, then weights·v
      { batch: s.batch * s.kvHeads, m: s.seq * (s.heads / s.kvHeads), k: s.headDim, n: s.seq, constantB: false },
      { batch: s.batch * s.kvHeads, m: s.seq * (s.heads / s.kvHeads), k: s.seq, n: s.headDim, constantB: false },
    ];
  });
}

/** One line on the ceilings: the bounds, and the theoretical peak beside the compute one. */
export function describeCeilings(c: Ceilings): string {
  const peak = c.peak ? ` (theoretical peak ${c.peak.gflops.toFixed(0)})` : '';
  return `ceilings: matmul ${c.matmulGflops.toFixed(0)} GFLOP/s${peak}, streaming read ${c.readGBps.toFixed(1)} GB/s, copy ${c.copyGBps.toFixed(1)} GB/s (fastest of ${c.probes.length} probing(s))`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}
