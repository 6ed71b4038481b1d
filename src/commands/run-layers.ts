/**
 * `attnbench layers` as a typed API: check the configuration, measure the ceilings, run
 * the sweep (resuming from the journal if asked), and produce a validated result file.
 *
 *   const file = await runLayers({ variants: ['multi-head', 'multi-query-1'], batch: [8], seq: [512] });
 */
import { variantLabel } from '../attention/spec.ts';
import { LayersConfig, type LayersConfigInput } from '../config/layers.ts';
import { parseConfig } from '../config/parse.ts';
import { UsageError } from '../core/errors.ts';
import { refuseUnknownKeys } from '../core/unknown-keys.ts';
import { checkMemory } from '../core/memory.ts';
import { logLine, progressBar } from '../core/progress.ts';
import { checkThreads } from '../core/threads.ts';
import { checkWebGpu, nodeRuntime, type NodeDevice } from '../engine/session.ts';
import { isBrowserDevice } from '../browser/backends.ts';
import { deviceNote, deviceOf, environment } from '../results/environment.ts';
import { checkLayerOutputs } from '../results/outputs.ts';
import { journaledLayerRun, journalResults, type LayerJournalEntry } from '../results/io.ts';
import type { Journal } from '../results/journal.ts';
import { LAYERS_SCHEMA, LayerConfig, type LayerResult, type LayerResultFile } from '../results/schema.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { runCeilings, settleBounds } from './run-ceilings.ts';
import { jobShape, protocolOptions, type LayerJob, type ProfileOptions } from '../measure/layer.ts';
import { adapterHasShaderF16, currentWebGpu } from '../device/choice.ts';
import { checkFits, layerPrograms } from '../device/limits.ts';
import { underRoofline } from '../results/bounds.ts';
import type { Failure } from '../results/schema.ts';
import { groupMemory } from '../measure/group.ts';
import { estimateGroupMs, remainingGroups, runShapes, runSweep, sweepGroups, sweepJobs, validateGrid, type SweepGrid, type SweepOptions } from '../measure/sweep.ts';
import { dumpLayer } from './dump.ts';
import { checkPrecision } from '../precision/support.ts';
import { isInt } from '../precision/dtypes.ts';

/** How a run reports and where it writes (a layer sweep, a decode comparison); none of it changes what is measured. */
export interface RunOptions<R> {
  /** Write the result file here (atomically); a layer sweep keeps a journal beside it while it runs. */
  out?: string;
  /** A progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Ceilings already measured in this process (the main job shares them). */
  ceilings?: Ceilings;
  /** Small ceiling probes, for tests. */
  quickCeilings?: boolean;
  onResult?: (r: R) => void;
  log?: (line: string) => void;
}

export interface LayersRunOptions extends RunOptions<LayerResult> {
  /** Continue an interrupted sweep from the journal beside `out` (refused if another run wrote it). */
  resume?: boolean;
  /** Replace an existing result file at `out`, and discard the finished work in a journal left by an earlier run beside it (without this, both are refused; `resume` continues the journal). */
  overwrite?: boolean;
}

/** Every option a layer sweep or a decode comparison reads: a key not here is refused (a misspelling would otherwise be dropped unnoticed). */
export const RUN_OPTION_KEYS = Object.keys({
  out: true,
  progress: true,
  ceilings: true,
  quickCeilings: true,
  onResult: true,
  log: true,
  resume: true,
  overwrite: true,
} satisfies Record<keyof LayersRunOptions, true>);

/** Probe the ceilings again between configurations once this long has passed since the last probing. */
const REPROBE_AFTER_MS = 120_000;

export async function runLayers(input: LayersConfigInput = {}, options: LayersRunOptions = {}): Promise<LayerResultFile> {
  refuseUnknownKeys(options, RUN_OPTION_KEYS);
  const c = parseConfig(LayersConfig, input);
  const log = options.log ?? logLine;
  const variants = validateGrid(c);
  checkPrecision({ device: c.device, weightDtype: c.weightDtype, weights: c.weights }, adapterHasShaderF16());
  if (c.dump && c.weightDtype.some(isInt)) throw new UsageError('--dump with --weight-dtype int8/int4: the dump writes float32 tensors, not the quantized codes a product multiplies; dump a float32 run');
  if (c.device !== 'cpu' && c.device !== 'webgpu' && !isBrowserDevice(c.device)) throw new UsageError(`--device ${c.device}: not available in this build of attnbench`);
  if (options.resume && !options.out) throw new UsageError('--resume needs --out (the journal lives beside the output file)');
  checkLayerOutputs({ out: options.out, dump: c.dump, overwrite: options.overwrite });
  checkThreads(c.threads);
  const grid: SweepGrid = { variants, batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, mode: c.mode, weightDtype: c.weightDtype };
  for (const g of sweepGroups(grid)) {
    // refuse up front, before anything is measured or allocated
    const m = groupMemory(g);
    checkMemory(m.what, m.bytes);
    if (c.device === 'webgpu') checkOnAdapter(g);
  }
  if (isBrowserDevice(c.device)) {
    // onnxruntime-web in headless Chromium: the same protocol in the page (loaded only now: playwright costs the CPU runs nothing)
    const { runHeadless } = await import('../browser/headless.ts');
    const flags = { ...(options.out ? { out: options.out } : {}), ...(options.onResult ? { onResult: options.onResult } : {}) };
    return runHeadless(c, { ...flags, resume: options.resume ?? false, overwrite: options.overwrite ?? false, progress: options.progress ?? process.stderr.isTTY === true, log, quickProbes: options.quickCeilings ?? false });
  }

  // a process without a WebGPU adapter is refused here, before a journal or a file exists
  if (c.device === 'webgpu') await checkWebGpu();
  const journaling = { resume: options.resume ?? false, overwrite: options.overwrite ?? false, log };
  return journaledLayerRun(options.out, c, journaling, (journal) => sweepInNode(c, grid, journal, options, log));
}

/** The sweep on onnxruntime-node: ceilings (journaled per probing), the configurations left, the bounds settled. */
async function sweepInNode(c: LayersConfig, grid: SweepGrid, journal: Journal<LayerJournalEntry> | undefined, options: LayersRunOptions, log: (line: string) => void): Promise<LayerResultFile> {
  const variants = grid.variants;
  const jobs = sweepJobs(grid);
  const done = journalResults(journal?.entries() ?? []);
  const device: NodeDevice = c.device === 'webgpu' ? 'webgpu' : 'cpu';
  const probeOptions = { threads: c.threads, graphOpt: c.graphOpt, device, quick: options.quickCeilings ?? false };
  const dtypes = c.weightDtype.filter(isInt);
  const run = await runCeilings(journal, { probe: { ...probeOptions, shapes: runShapes(jobs), ...(dtypes.length ? { dtypes } : {}) }, given: options.ceilings, log });
  const ceilings = run.ceilings;

  const profile = deviceProtocol(protocolOptions(c, ceilings), device, c);
  const estimate = remainingGroups(grid, done).reduce((a, g) => a + estimateGroupMs(g, profile, ceilings), 0);
  log(
    `layers: ${jobs.length} configurations (${variants.map(variantLabel).join(', ')} × batch ${c.batch.join(',')} × seq ${c.seq.length} values${c.weightDtype.length > 1 || c.weightDtype[0] !== 'float32' ? ` × weights ${c.weightDtype.join(',')}` : ''}), ` +
      `variants of each batch and length measured in alternation; estimated ${formatDuration(estimate)} ${device === 'webgpu' ? "from the GPU's ceilings (transfers not counted), on WebGPU, every variant checked against the float64 reference or the CPU provider" : `on ${c.threads} thread(s)`}` +
      (done.length ? `; ${done.length} already in the journal` : ''),
  );

  const where = deviceOf(device);
  if (device === 'webgpu') log(deviceNote(where));

  const bar = progressBar(options.progress ?? process.stderr.isTTY === true, '{count}/{jobs} | {config} | elapsed {duration_formatted} | ETA {eta_formatted}', { etaBuffer: 1000 });
  const sweep: SweepOptions = {
    ...profile,
    done,
    sink: (rs) => {
      rs.forEach((result) => journal?.append({ kind: 'result', session: run.session(), result }));
      rs.forEach((r) => options.onResult?.(r));
    },
    onProgress: (p) => {
      if (bar && !bar.isActive) bar.start(Math.max(1, Math.round(p.totalMs)), 0, { count: 0, jobs: p.variants, config: '' });
      bar?.update(Math.round(p.doneMs), { count: p.finished, config: p.label });
    },
    onFailure: reportFailure,
    reprobe: { afterMs: REPROBE_AFTER_MS, probe: run.again },
    checkMemory: (what, bytes) => checkMemory(what, bytes),
    ...(c.dump ? { afterVariant: (p, output, r) => void dumpLayer(c.dump!, p.layer, p.physical, output, r) } : {}),
  };
  const outcome = await runSweep(nodeRuntime({ threads: c.threads, graphOpt: c.graphOpt, device }), grid, sweep).finally(() => bar?.stop());
  // every result against the run's final bounds (the ceilings may have been probed again)
  const { ceilings: final, results } = await settleBounds(outcome.ceilings ?? ceilings, (cs) => outcome.results.map((r) => underRoofline(r, cs)), run.again, log);
  if (outcome.results.some((r) => r.budgetLimited)) {
    log(`note: the time budget (--budget-ms ${c.budgetMs}) allowed fewer than 10 timed runs for some configurations; raise it for tighter intervals`);
  }
  const file: LayerResultFile = {
    schema: LAYERS_SCHEMA,
    environment: environment(c.threads, c.graphOpt, final, where),
    config: LayerConfig.parse({ ...c, variants: variants.map(variantLabel) }),
    results,
    failures: outcome.failures,
  };
  return file;
}

/**
 * On WebGPU every variant is checked, --verify or not: the provider has given wrong answers
 * (docs/webgpu.md), and a benchmark that times wrong answers misleads. Where the float64
 * reference would take too long in JS, the CPU provider computes the reference AT THE TIMED
 * SHAPE: a reduced shape would hide a kernel that goes wrong only from some length on.
 */
function deviceProtocol(p: ProfileOptions, device: NodeDevice, c: LayersConfig): ProfileOptions {
  if (device !== 'webgpu') return p;
  return { ...p, verify: true, reference: nodeRuntime({ threads: c.threads, graphOpt: c.graphOpt }), floatProductInputs: true };
}

/**
 * Refuse a configuration the adapter cannot hold, from its shape alone, before any work: a
 * tensor over the largest buffer, or a program binding more buffer segments than it may.
 * Without the adapter's limits (the optional webgpu package not installed) nothing is
 * checked here, and an allocation fails at run time instead.
 */
function checkOnAdapter(jobs: readonly LayerJob[]): void {
  const limits = currentWebGpu()?.adapter.limits;
  if (!limits) return;
  for (const j of jobs) {
    const why = checkFits(layerPrograms(jobShape(j), j.mode), limits);
    if (why) throw new UsageError(`--device webgpu: ${variantLabel(j.spec)} at batch ${j.batch}, seq ${j.seq}: ${why}; use a smaller batch or sequence length`);
  }
}

function reportFailure(f: Failure): void {
  process.stderr.write(`\nattnbench: skipped ${f.attention}${f.weightDtype === 'float32' ? '' : ` (${f.weightDtype} weights)`} b=${f.batch} s=${f.seq}: ${f.error.split('\n')[0]}\n`);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}
