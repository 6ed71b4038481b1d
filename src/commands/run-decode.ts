/**
 * `attnbench decode` as a typed API: check the configuration (its memory from the sizes
 * alone, before any weights or probes), measure the ceilings, run the decode-step comparison
 * (src/measure/decode.ts) on onnxruntime-node's CPU provider, or in headless Chromium for the
 * browser devices, and produce a validated result file. With `out`, each finished (batch,
 * context) goes to a journal beside it as it finishes, so an interruption loses nothing and
 * `resume` continues, as a layer sweep does.
 *
 *   const file = await runDecode({ attention: ['multi-head', 'grouped-query:2'], context: [512], batch: [8] });
 */
import { isBrowserDevice } from '../browser/backends.ts';
import { DecodeConfig, type DecodeConfigInput } from '../config/decode.ts';
import { parseConfig } from '../config/parse.ts';
import { checkMemory } from '../core/memory.ts';
import { logLine, progressBar } from '../core/progress.ts';
import { UsageError } from '../core/errors.ts';
import { refuseUnknownKeys } from '../core/unknown-keys.ts';
import { checkThreads } from '../core/threads.ts';
import { nodeRuntime } from '../engine/session.ts';
import { checkDecodeFits, decodeModel, decodeShapes, decodeSweep, decodeSpecs, precisionLabel } from '../measure/decode.ts';
import { checkPrecision } from '../precision/support.ts';
import { isInt } from '../precision/dtypes.ts';
import { protocolOptions } from '../measure/layer.ts';
import { environment } from '../results/environment.ts';
import { checkDecodeOutputs } from '../results/outputs.ts';
import { journaledDecodeRun, journalResults, type DecodeJournalEntry } from '../results/io.ts';
import type { Journal } from '../results/journal.ts';
import { DECODE_SCHEMA, type DecodeFailure, type DecodeResult, type DecodeResultFile } from '../results/schema.ts';
import { underRoofline } from '../results/bounds.ts';
import type { ModelConfig } from '../model/config.ts';
import { runCeilings, settleBounds } from './run-ceilings.ts';
import { RUN_OPTION_KEYS, type LayersRunOptions } from './run-layers.ts';

/** How a comparison reports and where it writes (a journal beside `out`, `resume`, `overwrite`: as a layer sweep's). */
export type DecodeRunOptions = Omit<LayersRunOptions, 'onResult'> & { onResult?: (r: DecodeResult) => void };

export async function runDecode(input: DecodeConfigInput = {}, options: DecodeRunOptions = {}): Promise<DecodeResultFile> {
  refuseUnknownKeys(options, RUN_OPTION_KEYS);
  const c = parseConfig(DecodeConfig, input);
  const log = options.log ?? logLine;
  const model = decodeModel(c);
  const specs = decodeSpecs(c, model);
  checkPrecision({ device: c.device, weightDtype: c.weightDtype, kvDtype: c.kvDtype, weights: c.weights });
  const browser = isBrowserDevice(c.device);
  if (c.device !== 'cpu' && !browser) throw new UsageError(`--device ${c.device}: not available for decode in this build of attnbench (cpu and the browser devices are)`);
  if (options.resume && options.out === undefined) throw new UsageError('--resume needs --out (the journal lives beside the output file)');
  checkDecodeOutputs(options.out, options.overwrite);
  if (!browser) checkThreads(c.threads);
  // from the sizes alone, before any weights, cache or probe: a context of 10⁸ is refused here, not built
  checkDecodeFits(c, model, specs, checkMemory);
  const journaling = { resume: options.resume ?? false, overwrite: options.overwrite ?? false, log };
  return journaledDecodeRun(options.out, c, journaling, (journal) => (browser ? decodeInPage(c, journal, options, log) : decodeInNode(c, model, journal, options, log)));
}

/** The comparison in headless Chromium: the page skips what the journal holds, and each result it sends is journaled before it goes on. */
async function decodeInPage(c: DecodeConfig, journal: Journal<DecodeJournalEntry> | undefined, options: DecodeRunOptions, log: (line: string) => void): Promise<DecodeResultFile> {
  const { runHeadlessDecode } = await import('../browser/headless.ts');
  return runHeadlessDecode(c, {
    ...(options.out !== undefined ? { out: options.out } : {}),
    progress: options.progress ?? process.stderr.isTTY === true,
    log,
    quickProbes: options.quickCeilings ?? false,
    decodeDone: journalResults(journal?.entries() ?? []),
    onDecodeResult: (result) => {
      journal?.append({ kind: 'result', session: 0, result });
      options.onResult?.(result);
    },
  });
}

/** The comparison on onnxruntime-node: ceilings (journaled per probing), the configurations left, the bounds settled. */
async function decodeInNode(c: DecodeConfig, model: ModelConfig, journal: Journal<DecodeJournalEntry> | undefined, options: DecodeRunOptions, log: (line: string) => void): Promise<DecodeResultFile> {
  const done = journalResults(journal?.entries() ?? []);
  const dtypes = c.weightDtype.filter(isInt);
  const probe = { threads: c.threads, graphOpt: c.graphOpt, quick: options.quickCeilings ?? false, shapes: decodeShapes(model, Math.max(...c.batch)), ...(dtypes.length ? { dtypes } : {}) };
  const run = await runCeilings(journal, { probe, given: options.ceilings, log });
  log(
    `decode: ${c.attention.join(', ')}${precisionNote(c)} | ${model.layers} layers, hidden ${model.hidden}, ${model.heads} heads, vocab ${model.vocab} | batch ${c.batch.join(',')} × context ${c.context.join(',')}, the types alternating` +
      (done.length ? `; ${done.length} result(s) already in the journal` : ''),
  );
  const bar = progressBar(options.progress ?? process.stderr.isTTY === true, '{percentage}% | {config} | elapsed {duration_formatted} | ETA {eta_formatted}');
  const outcome = await decodeSweep(nodeRuntime({ threads: c.threads, graphOpt: c.graphOpt }), c, {
    ...protocolOptions(c, run.ceilings),
    done,
    checkMemory: (what, bytes) => checkMemory(what, bytes),
    onProgress: (p) => {
      if (bar && !bar.isActive) bar.start(Math.max(1, Math.round(p.totalMs)), 0, { config: '' });
      bar?.update(Math.round(p.doneMs), { config: p.label });
    },
    onFailure: reportFailure,
    sink: (rs) =>
      rs.forEach((result) => {
        journal?.append({ kind: 'result', session: run.session(), result }); // before the next configuration starts
        options.onResult?.(result);
      }),
  }).finally(() => bar?.stop());
  const { ceilings: final, results } = await settleBounds(run.ceilings, (cs) => outcome.results.map((r) => underRoofline(r, cs)), run.again, log);
  return {
    schema: DECODE_SCHEMA,
    environment: environment(c.threads, c.graphOpt, final),
    config: c,
    model,
    results,
    failures: outcome.failures,
  };
}

function reportFailure(f: DecodeFailure): void {
  process.stderr.write(`\nattnbench: skipped ${precisionLabel(f.attention, f)} batch ${f.batch} context ${f.context}: ${f.error.split('\n')[0]}\n`);
}

/** The precision axes in the run's first line, where they are not float32 alone. */
const precisionNote = (c: Pick<DecodeConfig, 'weightDtype' | 'kvDtype'>): string =>
  c.weightDtype.join() === 'float32' && c.kvDtype.join() === 'float32' ? '' : ` × weights ${c.weightDtype.join(',')} × cache ${c.kvDtype.join(',')}`;
