/**
 * `attnbench generate` as a typed API, along gpt-fast's lines: plan (check everything, no
 * allocation), load the weights, then per attention type build the model and time its
 * generations (one warm-up, then the repeats), and summarise the timings into a validated
 * `attnbench/generate@2` result with the speedups against multi-head in the same run.
 */
import { variantLabel, type VariantSpec } from '../attention/spec.ts';
import { GenerateConfig, type GenerateConfigInput } from '../config/generate.ts';
import { parseConfig } from '../config/parse.ts';
import { progressBar, type ProgressBar } from '../core/progress.ts';
import { loadCheckpoint } from '../model/checkpoint.ts';
import { EOS_TOKEN, modelKvHeads } from '../model/config.ts';
import { DecoderModel } from '../model/model.ts';
import { convertKvHeads, pack, randomWeights, type ModelWeights } from '../model/weights.ts';
import { environment } from '../results/environment.ts';
import { writeGenerateFile } from '../results/io.ts';
import type { GenerateResultFile } from '../results/schema.ts';
import { measureCeilings, probeCopyGBps, type Ceilings } from '../roofline/probes.ts';
import { generate, type GenerationOptions } from './generate.ts';
import { planGenerate, type GeneratePlan } from './plan.ts';
import { decodeIds } from './prompts.ts';
import { generateResultFile, type TimedGeneration, type TypeTiming } from './summary.ts';

/** How a run reports and where it writes; none of it changes what is measured. */
export interface GenerateRunOptions {
  /** Write the JSON result here (atomically). */
  out?: string;
  /** A progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Ceilings already measured in this process (the main job shares the layer sweep's). */
  ceilings?: Ceilings;
  /** Small ceiling probes, for tests. */
  quickCeilings?: boolean;
  log?: (line: string) => void;
}

export async function runGenerate(input: GenerateConfigInput = {}, options: GenerateRunOptions = {}): Promise<GenerateResultFile> {
  const config = parseConfig(GenerateConfig, input);
  const plan = planGenerate(config, options.out);
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const loaded = loadWeights(plan, log);
  const ceilings = options.ceilings ?? (log("measuring this machine's ceilings (matmul GFLOP/s, copy GB/s)..."), await measureCeilings({ threads: config.threads, graphOpt: 'all', quick: options.quickCeilings ?? false }));
  log(describeRun(config, plan));

  const bar = progressBar(options.progress ?? process.stderr.isTTY === true, '{percentage}% | {type} | elapsed {duration_formatted} | ETA {eta_formatted}');
  bar?.start(plan.specs.length * (plan.repeats + 1) * Math.max(1, plan.maxNewTokens - 1), 0, { type: '' });
  const types: TypeTiming[] = [];
  const probes: number[] = [];
  for (const spec of plan.specs) {
    bar?.update({ type: variantLabel(spec) });
    types.push(await timeType(spec, config, plan, loaded, probes, bar));
  }
  bar?.stop();

  const file = generateResultFile(config, plan, environment(config.threads, 'all', ceilings), ceilings, types);
  if (options.out) writeGenerateFile(options.out, file);
  return file;
}

/** A checkpoint's weights, read once for every type (random weights are drawn per type instead). */
function loadWeights(plan: GeneratePlan, log: (line: string) => void): ModelWeights | undefined {
  if (!plan.checkpoint) return undefined;
  log(`loading ${plan.checkpoint.modelType} checkpoint ${plan.checkpoint.dir} (${plan.checkpoint.kvHeads} K/V head(s))...`);
  return loadCheckpoint(plan.checkpoint);
}

function describeRun(c: GenerateConfig, plan: GeneratePlan): string {
  const m = plan.model;
  return (
    `generate: ${plan.specs.map(variantLabel).join(', ')} | ${m.layers} layers, hidden ${m.hidden}, ${m.heads} heads, vocab ${m.vocab} | ` +
    `batch ${plan.prompts.length}${c.numBeams > 1 ? ` × ${c.numBeams} beams` : ''}, prompt ${plan.promptLength}, ${plan.maxNewTokens} new tokens, ` +
    `${plan.repeats} repeat(s) after a warm-up, ${c.threads} thread(s)${c.kvCache ? '' : ', no KV cache'}`
  );
}

/** The weights of one type: the checkpoint's with its K/V heads converted, or random ones. */
function typeWeights(spec: VariantSpec, c: GenerateConfig, plan: GeneratePlan, loaded?: ModelWeights): { weights: ModelWeights; kvHeads: number; converted: string | null } {
  const g = modelKvHeads(plan.model, spec);
  if (!loaded) return { weights: randomWeights(plan.model, g, { seed: c.seed }), kvHeads: g, converted: null };
  const converted =
    g === loaded.kvHeads
      ? null
      : g > loaded.kvHeads
        ? `K/V heads repeated from ${loaded.kvHeads} to ${g} (the same function)`
        : `K/V heads mean-pooled from ${loaded.kvHeads} to ${g} (an approximation of the checkpoint)`;
  return { weights: convertKvHeads(loaded, g), kvHeads: g, converted };
}

/** The generation settings the loop takes, from the configuration and the plan. */
export const generationOptions = (c: GenerateConfig, plan: GeneratePlan): GenerationOptions => ({
  maxNewTokens: plan.maxNewTokens,
  minNewTokens: plan.minNewTokens,
  eos: EOS_TOKEN,
  pad: EOS_TOKEN,
  doSample: c.doSample,
  temperature: c.temperature,
  topK: c.topK,
  topP: c.topP,
  seed: c.seed,
  numBeams: c.numBeams,
  lengthPenalty: c.lengthPenalty,
  earlyStopping: c.earlyStopping,
  kvCache: c.kvCache,
  cacheChunk: c.cacheChunk,
});

/** One timed generation of one attention type: the unit an interleaved comparison's rounds are made of. */
export async function timeGeneration(model: DecoderModel, prompts: readonly number[][], opts: GenerationOptions): Promise<TimedGeneration> {
  const t0 = performance.now();
  const output = await generate(model, prompts, opts);
  return { output, seconds: (performance.now() - t0) / 1000 };
}

/**
 * One type, start to end: its model, a warm-up generation (sessions, allocator, caches),
 * the timed ones, and the copy bandwidth probed around them (this host drifts; the floor
 * uses the median of the probes so far, appended to `probes`).
 */
async function timeType(spec: VariantSpec, c: GenerateConfig, plan: GeneratePlan, loaded: ModelWeights | undefined, probes: number[], bar?: ProgressBar): Promise<TypeTiming> {
  const { weights, kvHeads, converted } = typeWeights(spec, c, plan, loaded);
  const model = new DecoderModel(pack(weights, spec), { threads: c.threads });
  const opts = { ...generationOptions(c, plan), onStep: () => bar?.increment() };
  probes.push(...probeCopyGBps(3));
  const runs: TimedGeneration[] = [];
  try {
    await generate(model, plan.prompts, opts);
    for (let r = 0; r < plan.repeats; r++) runs.push(await timeGeneration(model, plan.prompts, opts));
  } finally {
    await model.release();
  }
  probes.push(...probeCopyGBps(3));
  const t0 = performance.now();
  const texts = runs.at(-1)!.output.generated.map(decodeIds);
  const textSeconds = (performance.now() - t0) / 1000;
  return { spec, kvHeads, converted, runs, copyProbesGBps: [...probes], texts, textSeconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}
