/**
 * `attnbench generate` as a typed API: check everything up front (no work starts on bad
 * input), measure the ceilings, then per attention type build the model, run a warm-up
 * generation and `repeats` timed ones, and assemble a validated `attnbench/generate@1`
 * result with the speedups against multi-head in the same run.
 */
import os from 'node:os';
import { median } from 'simple-statistics';
import { parseVariant, variantLabel, type VariantSpec } from '../attention/spec.ts';
import { inspectCheckpoint, loadCheckpoint, type CheckpointInfo } from '../model/checkpoint.ts';
import { checkConfig, decodeStepFlops, decodeWeightFloats, EOS_TOKEN, headDim, modelKvHeads, parameterCount, type ModelConfig } from '../model/config.ts';
import { DecoderModel } from '../model/model.ts';
import { convertKvHeads, pack, randomWeights, type ModelWeights } from '../model/weights.ts';
import { environment } from '../results/environment.ts';
import { GENERATE_SCHEMA, GenerateResultFile, type GenerateResult, type StepPoint } from '../results/schema.ts';
import { summarize } from '../timing/stats.ts';
import { generate, type GenerationOptions, type GenerationOutput } from './generate.ts';
import { roundUp } from './kv-cache.ts';
import { decodeIds, encodeText, randomPrompts } from './prompts.ts';
import type { EarlyStopping } from './search.ts';
import { UsageError } from '../core/errors.ts';
import { progressBar } from '../core/progress.ts';
import { checkThreads } from '../core/threads.ts';
import { checkMemory, formatGiB } from '../core/memory.ts';
import { writeFileAtomic } from '../core/files.ts';
import { predictedKvBytes } from '../model/cache.ts';
import { type Ceilings, measureCeilings, probeCopyGBps } from '../roofline/probes.ts';

export interface GenerateConfig {
  /** Model shape for random weights (ignored with `modelDir`). */
  model: ModelConfig;
  /** A local Hugging Face checkpoint (gpt2 or gpt_bigcode). */
  modelDir?: string;
  /** Attention types; empty: multi-head (random weights) or the checkpoint's own type. */
  attention: string[];
  batch: number;
  /** Prompt texts; empty: random ids of `promptLength`. */
  prompts: string[];
  promptLength: number;
  maxLength?: number;
  /** `maxLength` came from the preset, not the user: capped at the model's positions. */
  maxLengthIsDefault?: boolean;
  maxNewTokens?: number;
  minNewTokens?: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  useCache: boolean;
  seed: number;
  repeats: number;
  threads: number;
  /** KV-cache capacity grows in chunks of this many positions. */
  chunk: number;
  preset: string;
  out?: string;
  progress: boolean;
  /** Ceilings already measured in this process (the main job shares the layer sweep's). */
  ceilings?: Ceilings;
  quickCeilings?: boolean;
  log?: (line: string) => void;
}

/** What a checked configuration resolves to. */
export interface GeneratePlan {
  specs: VariantSpec[];
  config: ModelConfig;
  checkpoint?: CheckpointInfo;
  prompts: number[][];
  promptLength: number;
  maxNewTokens: number;
  minNewTokens: number;
  rows: number;
  getTestBatchSeconds: number;
}

/** Check everything that can be checked before any work starts; throws UsageError naming the problem. */
export function planGenerate(c: GenerateConfig): GeneratePlan {
  checkThreads(c.threads);
  if (!(c.temperature > 0)) throw new UsageError(`--temperature must be positive, got ${c.temperature}`);
  if (!(c.topP > 0 && c.topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${c.topP}`);
  if (!Number.isInteger(c.topK) || c.topK < 0) throw new UsageError(`--top-k must be a non-negative integer, got ${c.topK}`);
  if (!Number.isFinite(c.lengthPenalty)) throw new UsageError(`--length-penalty must be a number, got ${c.lengthPenalty}`);
  if (c.numBeams > 1 && c.doSample) throw new UsageError('--num-beams > 1 with --do-sample (beam sampling) is not supported; use one or the other');
  if (c.maxLength !== undefined && c.maxNewTokens !== undefined) throw new UsageError('--max-length and --max-new-tokens are alternatives; give one');

  const checkpoint = c.modelDir ? inspectCheckpoint(c.modelDir) : undefined;
  const config = checkpoint?.config ?? c.model;
  checkConfig(config);
  const names = c.attention.length > 0 ? c.attention : [checkpoint && checkpoint.kvHeads === 1 ? 'multi-query-1' : 'multi-head'];
  const specs = names.map(parseVariant);
  for (const s of specs) {
    const g = modelKvHeads(config, s);
    if (checkpoint && g !== checkpoint.kvHeads && g % checkpoint.kvHeads !== 0 && checkpoint.kvHeads % g !== 0) {
      throw new UsageError(`--attention ${variantLabel(s)}: ${g} K/V heads cannot be derived from the checkpoint's ${checkpoint.kvHeads}`);
    }
  }
  const labels = specs.map(variantLabel);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new UsageError(`--attention: ${dup} is given twice`);

  const t0 = performance.now();
  let prompts: number[][];
  if (c.prompts.length > 0) {
    const encoded = c.prompts.map((p, i) => {
      const ids = encodeText(p);
      if (ids.length === 0) throw new UsageError(`--prompt ${i + 1} is empty`);
      const big = ids.find((t) => t >= config.vocab);
      if (big !== undefined) throw new UsageError(`--prompt ${i + 1}: token id ${big} is outside the model's vocabulary of ${config.vocab}`);
      return ids;
    });
    const rows = Math.max(c.batch, encoded.length);
    prompts = Array.from({ length: rows }, (_, i) => [...encoded[i % encoded.length]!]);
  } else {
    prompts = randomPrompts(c.batch, c.promptLength, config.vocab, c.seed);
  }
  const getTestBatchSeconds = (performance.now() - t0) / 1000;
  const promptLength = Math.max(...prompts.map((p) => p.length));
  if (promptLength > config.positions) throw new UsageError(`a prompt of ${promptLength} tokens is longer than --positions ${config.positions}`);
  if (specs.some((s) => s.kind === 'fused-gqa') && prompts.some((p) => p.length !== promptLength)) {
    throw new UsageError('fused-gqa needs prompts of equal length (its kernel takes no left-padding mask)');
  }

  let maxNewTokens: number;
  if (c.maxNewTokens !== undefined) maxNewTokens = c.maxNewTokens;
  else {
    let maxLength = c.maxLength ?? promptLength + 20;
    if (c.maxLengthIsDefault) maxLength = Math.min(maxLength, config.positions);
    if (maxLength <= promptLength) throw new UsageError(`--max-length ${maxLength} is not above the prompt length ${promptLength} (it counts the prompt)`);
    maxNewTokens = maxLength - promptLength;
  }
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new UsageError(`--max-new-tokens must be a positive integer, got ${maxNewTokens}`);
  if (promptLength + maxNewTokens > config.positions) {
    throw new UsageError(`prompt ${promptLength} + ${maxNewTokens} new tokens = ${promptLength + maxNewTokens} exceeds --positions ${config.positions}`);
  }
  const minNewTokens = c.minNewTokens ?? maxNewTokens;
  if (minNewTokens > maxNewTokens) throw new UsageError(`--min-new-tokens ${minNewTokens} is above the ${maxNewTokens} new tokens allowed`);
  const rows = prompts.length * c.numBeams;

  // predicted memory, per type (one type is resident at a time), before anything is loaded
  const D = headDim(config);
  for (const s of specs) {
    const g = modelKvHeads(config, s);
    const params = parameterCount(config, g);
    const loaded = checkpoint ? 4 * parameterCount(config, checkpoint.kvHeads) : 0;
    const kv = predictedKvBytes({ layers: config.layers, rows, kvHeads: g, headDim: D }, roundUp(promptLength + maxNewTokens, c.chunk)) * (c.numBeams > 1 ? 1.5 : 1);
    const logits = 4 * rows * config.vocab * 4;
    const prefill = c.useCache ? 4 * rows * promptLength * (promptLength * config.heads + 4 * config.inner) * 2 : 4 * rows * (promptLength + maxNewTokens) ** 2 * config.heads * 2;
    checkMemory(`--attention ${variantLabel(s)} (${(params / 1e6).toFixed(0)}M parameters, KV cache ${formatGiB(kv)} GiB)`, loaded + 2 * 4 * params + kv + logits + prefill);
  }
  return { specs, config, ...(checkpoint ? { checkpoint } : {}), prompts, promptLength, maxNewTokens, minNewTokens, rows, getTestBatchSeconds };
}

/** Median per step index over repeats (repeats may differ in length when eos ends them). */
function stepSeries(runs: GenerationOutput[]): { context: number; ms: number }[] {
  const n = Math.max(0, ...runs.map((r) => r.timing.steps.length));
  return Array.from({ length: n }, (_, i) => {
    const at = runs.map((r) => r.timing.steps[i]).filter((s) => s !== undefined);
    return { context: at[0]!.context, ms: median(at.map((s) => s.ms)) };
  });
}

const samples = (xs: number[]) => ({ ...summarize(xs), samples: xs });

export async function runGenerate(c: GenerateConfig): Promise<GenerateResultFile> {
  const log = c.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const plan = planGenerate(c);
  const { config, specs, prompts } = plan;

  let loaded: ModelWeights | undefined;
  if (plan.checkpoint) {
    log(`loading ${plan.checkpoint.modelType} checkpoint ${plan.checkpoint.dir} (${plan.checkpoint.kvHeads} K/V head(s))...`);
    loaded = loadCheckpoint(plan.checkpoint);
  }
  const ceilings =
    c.ceilings ??
    (log("measuring this machine's ceilings (matmul GFLOP/s, copy GB/s)..."),
    await measureCeilings({ threads: c.threads, graphOpt: 'all', quick: c.quickCeilings ?? false }));
  log(
    `generate: ${specs.map(variantLabel).join(', ')} | ${config.layers} layers, hidden ${config.hidden}, ${config.heads} heads, vocab ${config.vocab} | ` +
      `batch ${prompts.length}${c.numBeams > 1 ? ` × ${c.numBeams} beams` : ''}, prompt ${plan.promptLength}, ${plan.maxNewTokens} new tokens, ` +
      `${c.repeats} repeat(s) after a warm-up, ${c.threads} thread(s)${c.useCache ? '' : ', no KV cache'}`,
  );

  const opts: GenerationOptions = {
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
    useCache: c.useCache,
    chunk: c.chunk,
  };

  const stepsPerGen = Math.max(1, plan.maxNewTokens - 1);
  const bar = progressBar(c.progress, '{percentage}% | {type} | elapsed {duration_formatted} | ETA {eta_formatted}');
  bar?.start(specs.length * (c.repeats + 1) * stepsPerGen, 0, { type: '' });

  const results: GenerateResult[] = [];
  const probes: number[] = [];
  for (const spec of specs) {
    const label = variantLabel(spec);
    bar?.update({ type: label });
    const g = modelKvHeads(config, spec);
    let converted: string | null = null;
    let weights: ModelWeights;
    if (loaded) {
      weights = convertKvHeads(loaded, g);
      if (g !== loaded.kvHeads) {
        converted = g > loaded.kvHeads ? `K/V heads repeated from ${loaded.kvHeads} to ${g} (the same function)` : `K/V heads mean-pooled from ${loaded.kvHeads} to ${g} (an approximation of the checkpoint)`;
      }
    } else weights = randomWeights(config, g, { seed: c.seed });
    const model = new DecoderModel(pack(weights, spec), { threads: c.threads });
    const runOpts = { ...opts, onStep: () => bar?.increment() };
    // this host's bandwidth drifts: probe it around each type's runs, the floor uses the median
    probes.push(...probeCopyGBps(3));
    const runs: GenerationOutput[] = [];
    const seconds: number[] = [];
    try {
      await generate(model, prompts, runOpts); // warm-up: sessions, allocator, caches
      for (let r = 0; r < c.repeats; r++) {
        const t0 = performance.now();
        runs.push(await generate(model, prompts, runOpts));
        seconds.push((performance.now() - t0) / 1000);
      }
    } finally {
      await model.release();
    }
    probes.push(...probeCopyGBps(3));
    const last = runs.at(-1)!;
    const t0 = performance.now();
    const texts = last.generated.map(decodeIds);
    const decodeSeconds = (performance.now() - t0) / 1000;

    const D = headDim(config);
    const cacheShape = { layers: config.layers, rows: plan.rows, kvHeads: g, headDim: D };
    const roofline = c.useCache
      ? {
          weightBytes: 4 * decodeWeightFloats(config, g),
          kvBytesPerPosition: predictedKvBytes(cacheShape, 1),
          copyGBps: median([ceilings.copyGBps.median, ...probes]),
          copyProbesGBps: [...probes],
          matmulGflops: ceilings.matmulGflops.median,
        }
      : null;
    const floorAt = (ctx: number) =>
      roofline
        ? Math.max((roofline.weightBytes + roofline.kvBytesPerPosition * ctx) / (roofline.copyGBps * 1e6), decodeStepFlops(config, g, plan.rows, ctx) / (roofline.matmulGflops * 1e6))
        : null;
    const series: StepPoint[] = stepSeries(runs).map((s) => ({ ...s, floorMs: floorAt(s.context) }));
    const allSteps = runs.flatMap((r) => r.timing.steps.map((s) => s.ms));
    const decodeMs = allSteps.length > 0 ? summarize(allSteps) : summarize([0]);
    const mid = series[Math.floor(series.length / 2)];
    const floorMs = mid ? floorAt(mid.context) : null;
    const tail = series.slice(-Math.min(8, series.length));
    const atMax = tail.length > 0 ? { context: tail.at(-1)!.context, ms: median(tail.map((s) => s.ms)), floorMs: floorAt(tail.at(-1)!.context) } : null;
    const generatedTokens = last.generated.reduce((a, s) => a + s.length, 0);
    const reorders = runs.flatMap((r) => r.timing.reorderMs);
    const finalLength = last.timing.finalLength;
    const nm = config.hidden;
    results.push({
      attention: label,
      kvHeads: g,
      parameters: parameterCount(config, g),
      kvProjectionParameters: config.layers * 2 * (nm * g * D + g * D),
      converted,
      useCache: c.useCache,
      get_test_batch: plan.getTestBatchSeconds,
      generate_text_batch: median(seconds),
      decode_batch: decodeSeconds,
      input_batch_size: prompts.length,
      input_batch_length: plan.promptLength,
      max_gen_length: plan.promptLength + plan.maxNewTokens,
      num_beams: c.numBeams,
      do_sample: c.doSample,
      pad_token_id: EOS_TOKEN,
      dtype: 'float32',
      device: 'cpu',
      device_name: os.cpus()[0]?.model ?? 'unknown',
      generateSeconds: samples(seconds),
      prefillMs: samples(runs.map((r) => r.timing.prefillMs)),
      decodeMsPerToken: decodeMs,
      tokensPerSecond: generatedTokens / median(seconds),
      decodeTokensPerSecond: decodeMs.median > 0 ? (1000 * plan.rows) / decodeMs.median : 0,
      kvCacheBytes: { measured: last.timing.kvAllocatedBytes, predicted: c.useCache ? predictedKvBytes(cacheShape, finalLength) : 0, context: finalLength },
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      steps: series,
      roofline,
      floorMs,
      vsFloor: floorMs ? decodeMs.median / floorMs : null,
      atMaxContext: atMax,
      sequences: last.sequences,
      texts,
      beamReorderMs: runs.length ? median(runs.map((r) => r.timing.reorderMs.reduce((a, b) => a + b, 0))) : 0,
      beamReorderMsPerStep: reorders.length > 0 ? summarize(reorders) : null,
      cacheGrowMs: runs.length ? median(runs.map((r) => r.timing.growMs)) : 0,
      speedupVsMha: null,
      speedupVsMhaAtMaxContext: null,
      generateSpeedupVsMha: null,
    });
  }
  bar?.stop();

  const mha = results.find((r) => r.attention === 'multi-head');
  if (mha) {
    for (const r of results) {
      r.speedupVsMha = r.decodeMsPerToken.median > 0 ? mha.decodeMsPerToken.median / r.decodeMsPerToken.median : null;
      r.speedupVsMhaAtMaxContext = mha.atMaxContext && r.atMaxContext ? mha.atMaxContext.ms / r.atMaxContext.ms : null;
      r.generateSpeedupVsMha = mha.generate_text_batch / r.generate_text_batch;
    }
  }

  const file = GenerateResultFile.parse({
    schema: GENERATE_SCHEMA,
    environment: environment(c.threads, 'all', ceilings),
    config: {
      preset: c.preset,
      model: config,
      modelDir: c.modelDir ?? null,
      modelType: plan.checkpoint?.modelType ?? 'random',
      attention: specs.map(variantLabel),
      batch: prompts.length,
      promptLength: plan.promptLength,
      prompts: c.prompts,
      maxNewTokens: plan.maxNewTokens,
      minNewTokens: plan.minNewTokens,
      doSample: c.doSample,
      temperature: c.temperature,
      topK: c.topK,
      topP: c.topP,
      numBeams: c.numBeams,
      lengthPenalty: c.lengthPenalty,
      earlyStopping: c.earlyStopping,
      useCache: c.useCache,
      seed: c.seed,
      repeats: c.repeats,
      threads: c.threads,
      cacheChunk: c.chunk,
    },
    results,
  });
  if (c.out) writeFileAtomic(c.out, JSON.stringify(file, null, 2) + '\n');
  return file;
}

