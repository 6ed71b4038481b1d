/**
 * `attnbench decode` as a typed API: check the configuration, measure the ceilings, run the
 * decode-step comparison (src/measure/decode.ts) on onnxruntime-node's CPU provider, or in
 * headless Chromium for the browser devices, and produce a validated result file.
 *
 *   const file = await runDecode({ attention: ['multi-head', 'grouped-query:2'], context: [512], batch: [8] });
 */
import { DecodeConfig, type DecodeConfigInput } from '../config/decode.ts';
import { parseConfig } from '../config/parse.ts';
import { checkMemory } from '../core/memory.ts';
import { logLine, progressBar } from '../core/progress.ts';
import { UsageError } from '../core/errors.ts';
import { checkThreads } from '../core/threads.ts';
import { nodeRuntime } from '../engine/session.ts';
import { decodeModel, decodeShapes, decodeSweep, decodeTypes } from '../measure/decode.ts';
import { protocolOptions } from '../measure/layer.ts';
import { environment } from '../results/environment.ts';
import { writeDecodeFile } from '../results/io.ts';
import { DECODE_SCHEMA, type DecodeFailure, type DecodeResult, type DecodeResultFile } from '../results/schema.ts';
import { decodeUnderRoofline } from '../results/bounds.ts';
import { measureCeilings, probeAgain } from '../roofline/probes.ts';
import { describeCeilings, settleBounds, type RunOptions } from './run-layers.ts';

export type DecodeRunOptions = RunOptions<DecodeResult>;

export async function runDecode(input: DecodeConfigInput = {}, options: DecodeRunOptions = {}): Promise<DecodeResultFile> {
  const c = parseConfig(DecodeConfig, input);
  const log = options.log ?? logLine;
  const model = decodeModel(c);
  decodeTypes(c, model);
  if (c.device.startsWith('browser-')) {
    const { runHeadlessDecode } = await import('../browser/headless.ts');
    const file = await runHeadlessDecode(c, { progress: options.progress ?? process.stderr.isTTY === true, log, quickProbes: options.quickCeilings ?? false, ...(options.onResult ? { onDecodeResult: options.onResult } : {}) });
    if (options.out) writeDecodeFile(options.out, file);
    return file;
  }
  if (c.device !== 'cpu') throw new UsageError(`--device ${c.device}: not available for decode in this build of attnbench (cpu and the browser devices are)`);
  checkThreads(c.threads);
  const probeOptions = { threads: c.threads, graphOpt: c.graphOpt, quick: options.quickCeilings ?? false, shapes: decodeShapes(model, Math.max(...c.batch)) };
  const ceilings =
    options.ceilings ??
    (log("measuring this machine's ceilings (matmul GFLOP/s, streaming read GB/s)..."),
    await measureCeilings(probeOptions));
  log(describeCeilings(ceilings));
  log(`decode: ${c.attention.join(', ')} | ${model.layers} layers, hidden ${model.hidden}, ${model.heads} heads, vocab ${model.vocab} | batch ${c.batch.join(',')} × context ${c.context.join(',')}, the types alternating`);
  const bar = progressBar(options.progress ?? process.stderr.isTTY === true, '{percentage}% | {config} | elapsed {duration_formatted} | ETA {eta_formatted}');
  const outcome = await decodeSweep(nodeRuntime({ threads: c.threads, graphOpt: c.graphOpt }), c, {
    ...protocolOptions(c, ceilings),
    checkMemory: (what, bytes) => checkMemory(what, bytes),
    onProgress: (p) => {
      if (bar && !bar.isActive) bar.start(Math.max(1, Math.round(p.totalMs)), 0, { config: '' });
      bar?.update(Math.round(p.doneMs), { config: p.label });
    },
    onFailure: reportFailure,
    sink: (rs) => rs.forEach((r) => options.onResult?.(r)),
  }).finally(() => bar?.stop());
  const { ceilings: final, results } = await settleBounds(ceilings, (cs) => outcome.results.map((r) => decodeUnderRoofline(r, cs)), (prev) => probeAgain(prev, probeOptions), log);
  const file: DecodeResultFile = {
    schema: DECODE_SCHEMA,
    environment: environment(c.threads, c.graphOpt, final),
    config: c,
    model,
    results,
    failures: outcome.failures,
  };
  if (options.out) writeDecodeFile(options.out, file);
  return file;
}

function reportFailure(f: DecodeFailure): void {
  process.stderr.write(`\nattnbench: skipped ${f.attention} batch ${f.batch} context ${f.context}: ${f.error.split('\n')[0]}\n`);
}
