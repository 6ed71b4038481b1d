/**
 * `attnbench generate` as a typed API, along gpt-fast's lines: plan (check everything, no
 * allocation), load the weights, build every attention type's model (one session each,
 * weights as pre-packed constants), then time their generations INTERLEAVED — a warm-up
 * round, then `repeats` rounds of one generation per type in an order that rotates, so a
 * host that drifts within minutes slows every type alike — profile one decode step per
 * type at the largest context, and summarise into a validated `attnbench/generate@2`
 * result with the speedups against multi-head and their confidence intervals.
 */
import { variantLabel, type VariantSpec } from '../attention/spec.ts';
import { GenerateConfig, type GenerateConfigInput } from '../config/generate.ts';
import { parseConfig } from '../config/parse.ts';
import { refuseUnknownKeys } from '../core/unknown-keys.ts';
import { logLine, progressBar, type ProgressBar } from '../core/progress.ts';
import { loadCheckpoint } from '../model/checkpoint.ts';
import { decodeWeightBytes, EOS_TOKEN, modelKvHeads, parameterCount, type StepPrecision } from '../model/config.ts';
import { DecoderModel, type EngineSettings } from '../model/model.ts';
import { convertKvHeads, pack, randomWeights, type ModelWeights } from '../model/weights.ts';
import { deviceNote, deviceOf, environment } from '../results/environment.ts';
import { checkWebGpu } from '../engine/session.ts';
import { verdict } from '../device/verify.ts';
import { DeviceKvCache } from './device-kv-cache.ts';
import { checkFirstStep } from './verify.ts';
import { writeGenerateFile } from '../results/io.ts';
import type { GenerateResultFile } from '../results/schema.ts';
import { measureCeilings } from '../roofline/node-ceilings.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { decodePrecisions, decodeShapes, precisionLabel, VERIFY_PROMPT, verifyDecoder, withPrecision } from '../measure/decode.ts';
import { checkPrecision } from '../precision/support.ts';
import { isInt } from '../precision/dtypes.ts';
import { UsageError } from '../core/errors.ts';
import { nodeRuntime } from '../engine/session.ts';
import { movedBytes } from '../roofline/traffic.ts';
import { runRounds } from '../timing/rounds.ts';
import { Rng } from '../core/rng.ts';

import { stageTimes } from '../engine/stages.ts';
import { generate, type GenerationOptions } from './generate.ts';
import { KvCache, roundUp } from './kv-cache.ts';
import { planGenerate, predictedTypeMemory, type GeneratePlan } from './plan.ts';
import { decodeIds } from './prompts.ts';
import { generateResultFile, type ProfiledStepTiming, type TimedGeneration, type TypeTiming } from './summary.ts';

/** How a run reports and where it writes; none of it changes what is measured. */
export interface GenerateRunOptions {
  /** Write the JSON result here (atomically). */
  out?: string;
  /** Replace an existing result file at `out` (else it is refused before any work). */
  overwrite?: boolean;
  /** A progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Ceilings already measured in this process (the main job shares the layer sweep's). */
  ceilings?: Ceilings;
  /** Small ceiling probes, for tests. */
  quickCeilings?: boolean;
  log?: (line: string) => void;
}

/** Every option runGenerate reads: a key not here is refused (a misspelling would otherwise be dropped unnoticed). */
const OPTION_KEYS = Object.keys({ out: true, overwrite: true, progress: true, ceilings: true, quickCeilings: true, log: true } satisfies Record<keyof GenerateRunOptions, true>);

export async function runGenerate(input: GenerateConfigInput = {}, options: GenerateRunOptions = {}): Promise<GenerateResultFile> {
  refuseUnknownKeys(options, OPTION_KEYS);
  const config = parseConfig(GenerateConfig, input);
  checkPrecision({ device: config.device, weightDtype: config.weightDtype, kvDtype: config.kvDtype, weights: config.weights });
  if (!config.kvCache && config.kvDtype.some(isInt)) throw new UsageError('--kv-dtype int8/int4 with --no-kv-cache: there is no cache to quantize');
  const plan = planGenerate(config, options.out, options.overwrite);
  const log = options.log ?? logLine;
  // a process without a WebGPU adapter is refused before any work
  if (config.device === 'webgpu') await checkWebGpu();
  const loaded = loadWeights(plan, log);
  const ceilings = options.ceilings ?? (await probeCeilings(config, plan, options.quickCeilings ?? false, log));
  log(describeRun(config, plan));
  const where = deviceOf(config.device);
  if (config.device === 'webgpu') log(`${deviceNote(where)}; each type's first step checked against the CPU provider`);

  const bar = progressBar(options.progress ?? process.stderr.isTTY === true, '{percentage}% | {type} | elapsed {duration_formatted} | ETA {eta_formatted}');
  const precisions = decodePrecisions(config);
  const count = plan.specs.length * precisions.length;
  bar?.start(count * (plan.repeats + 1) * Math.max(1, plan.maxNewTokens - 1) + (config.kvCache && config.profileStep ? count : 0), 0, { type: 'building the models' });
  const models: TypeModel[] = [];
  try {
    for (const p of precisions) for (const spec of plan.specs) models.push(await buildTypeModel(spec, p, config, plan, loaded));
    const opts = { ...generationOptions(config, plan), onStep: () => bar?.increment() };
    // a warm-up round (sessions, allocator, caches), then the timed rounds, types alternating
    for (const m of models) {
      bar?.update({ type: `${m.label} (warm-up)` });
      await generate(m.model, plan.prompts, opts);
    }
    const runs = await runRounds(models, plan.repeats, async (m, round) => {
      bar?.update({ type: `${m.label} (round ${round + 1}/${plan.repeats})` });
      const t = await timeGeneration(m.model, plan.prompts, opts);
      m.runs.push(t);
      return t.seconds;
    });
    void runs;
  } finally {
    for (const m of models) await m.model.release();
  }
  // one decode step per type profiled at the largest context, each in a session of its own
  for (const m of models) {
    bar?.update({ type: `${m.label} (profiled step)` });
    if (config.kvCache && config.profileStep) m.profiledStep = await profileStep(m, config, plan, loaded);
    bar?.increment();
  }
  bar?.stop();
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const types: TypeTiming[] = models.map((m) => {
    const t0 = performance.now();
    const texts = m.runs.at(-1)!.output.generated.map(decodeIds);
    const checked = { ...(m.verify ? { verify: m.verify } : {}), ...(m.quality ? { quality: m.quality } : {}) };
    return { spec: m.spec, precision: m.precision, kvHeads: m.kvHeads, converted: m.converted, runs: m.runs, texts, textSeconds: (performance.now() - t0) / 1000, peakRssBytes, predictedMemoryBytes: m.predictedMemoryBytes, profiledStep: m.profiledStep, ...checked };
  });
  for (const t of types) if (t.verify && !t.verify.ok) log(`warning: ${precisionLabel(variantLabel(t.spec), t.precision ?? { weightDtype: 'float32', kvDtype: 'float32' })} is WRONG (${t.verify.against === 'cpu provider' ? "first step off the CPU provider's" : 'off the float64 reference'} by ${t.verify.maxRelError.toExponential(1)}): its times are kept, marked, and get no speedup`);
  const file = generateResultFile(config, plan, environment(config.threads, 'all', ceilings, where), ceilings, types);
  if (options.out) writeGenerateFile(options.out, file);
  return file;
}

/** This machine's ceilings for the run: the decode step's own products, and each quantized weight dtype's. */
async function probeCeilings(c: GenerateConfig, plan: GeneratePlan, quick: boolean, log: (line: string) => void): Promise<Ceilings> {
  log("measuring this machine's ceilings (matmul GFLOP/s, streaming read GB/s)...");
  const dtypes = c.weightDtype.filter(isInt);
  return measureCeilings({ threads: c.threads, graphOpt: 'all', device: c.device, quick, shapes: decodeShapes(plan.model, plan.rows), ...(dtypes.length ? { dtypes } : {}) });
}

/** A checkpoint's weights, read once for every type (random weights are drawn per type instead). */
function loadWeights(plan: GeneratePlan, log: (line: string) => void): ModelWeights | undefined {
  if (!plan.checkpoint) return undefined;
  log(`loading ${plan.checkpoint.modelType} checkpoint ${plan.checkpoint.dir} (${plan.checkpoint.kvHeads} K/V head(s))...`);
  return loadCheckpoint(plan.checkpoint);
}

function describeRun(c: GenerateConfig, plan: GeneratePlan): string {
  const m = plan.model;
  const dtypes = c.weightDtype.join() === 'float32' && c.kvDtype.join() === 'float32' ? '' : ` × weights ${c.weightDtype.join(',')} × cache ${c.kvDtype.join(',')}`;
  return (
    `generate: ${plan.specs.map(variantLabel).join(', ')}${dtypes} | ${m.layers} layers, hidden ${m.hidden}, ${m.heads} heads, vocab ${m.vocab} | ` +
    `batch ${plan.prompts.length}${c.numBeams > 1 ? ` × ${c.numBeams} beams` : ''}, prompt ${plan.promptLength}, ${plan.maxNewTokens} new tokens, ` +
    `${plan.repeats} repeat(s) after a warm-up, ${c.device === 'webgpu' ? 'WebGPU' : `${c.threads} thread(s)`}${c.kvCache ? '' : ', no KV cache'}`
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

/** One attention type during a run: its model and what has been measured of it. */
interface TypeModel {
  spec: VariantSpec;
  precision: StepPrecision;
  /** The type and its dtypes, as progress and warnings name it. */
  label: string;
  /** A quantized type's check against the same quantized computation in float64 (on the CPU), and what it costs against float32. */
  quality?: TypeTiming['quality'];
  kvHeads: number;
  converted: string | null;
  model: DecoderModel;
  /** Bytes of the packed weights (the implementation's traffic counts them once). */
  weightBytes: number;
  runs: TimedGeneration[];
  predictedMemoryBytes: number;
  profiledStep: ProfiledStepTiming | null;
  /** On a device: its first step against the CPU provider's. */
  verify?: TypeTiming['verify'];
}

/**
 * The engine settings of a type's decoder. On WebGPU the cache stays on the GPU and the graph
 * writes it (no full cache crosses to the CPU in a step), and a greedy search takes each
 * row's argmax from the graph (also the one that skips eos, before --min-new-tokens), so
 * only the ids come back. Without the cache every step feeds
 * the whole sequence again and keeps nothing, so the caller's update (none) applies.
 */
export function engineSettings(c: GenerateConfig, p: StepPrecision = { weightDtype: 'float32', kvDtype: 'float32' }): EngineSettings {
  const dtypes = { weightDtype: p.weightDtype, kvDtype: p.kvDtype };
  if (c.device !== 'webgpu') return { threads: c.threads, weights: c.weights, ...dtypes };
  const greedy = !c.doSample && c.numBeams === 1;
  return { threads: c.threads, weights: c.weights, device: 'webgpu', argmax: greedy, argmaxAvoid: EOS_TOKEN, ...(c.kvCache ? {} : { cacheUpdate: 'caller' as const }), ...dtypes };
}

/** A device decoder's first step against the CPU provider's (the prompts' prefill, then one greedy step), as the result records it. */
async function verifyOnDevice(model: DecoderModel, plan: GeneratePlan, threads: number): Promise<NonNullable<TypeTiming['verify']>> {
  const check = await checkFirstStep(model, plan.prompts, threads);
  const v = verdict(check.error, 'cpu provider', plan.prompts.length, plan.promptLength);
  return { ...v, prefillMaxRelError: Number.isFinite(check.prefillError) ? check.prefillError : Number.MAX_VALUE };
}

/** A type's model at one precision with its session created (not timed). */
async function buildTypeModel(spec: VariantSpec, precision: StepPrecision, c: GenerateConfig, plan: GeneratePlan, loaded: ModelWeights | undefined): Promise<TypeModel> {
  const { weights, kvHeads, converted } = typeWeights(spec, c, plan, loaded);
  const packed = pack(weights, spec);
  const quantized = isInt(precision.weightDtype) || isInt(precision.kvDtype);
  const weightBytes = isInt(precision.weightDtype) ? decodeWeightBytes(plan.model, kvHeads, precision.weightDtype) : Object.values(packed.tensors).reduce((a, t) => a + t.data.byteLength, 0);
  const model = new DecoderModel(packed, engineSettings(c, precision));
  await model.prepare(plan.rows);
  // checked while the weights' arrays are still there (the references are built from them): on a device against the
  // CPU provider; a quantized type on the CPU against the same quantized computation in float64, with its cost against float32
  const verify = model.device === 'cpu' ? undefined : await verifyOnDevice(model, plan, c.threads);
  const checked = model.device === 'cpu' && quantized ? await verifyQuantized(spec, precision, weights, plan, c) : {};
  // the engine holds the weights now: the types live side by side, each without a JS copy
  model.releaseHostWeights();
  const base = { spec, precision: { ...precision, fusedCache: model.cachePrecision.staticScales }, label: precisionLabel(variantLabel(spec), precision), kvHeads, converted, model, weightBytes };
  return { ...base, runs: [], predictedMemoryBytes: predictedTypeMemory(c, plan, spec), profiledStep: null, ...(verify ? { verify } : {}), ...checked };
}

/**
 * A quantized type on the CPU, checked as `attnbench decode` checks one (src/measure/decode.ts
 * `verifyDecoder`: one row, a prefill of the prompt length and one step, against the float64
 * reference of the same quantized computation), with the logits' error against float32.
 */
async function verifyQuantized(spec: VariantSpec, precision: StepPrecision, weights: ModelWeights, plan: GeneratePlan, c: GenerateConfig): Promise<Pick<TypeModel, 'verify' | 'quality'>> {
  const tm = withPrecision({ spec, label: variantLabel(spec), precision, key: '', weights, packed: pack(weights, spec), parameters: parameterCount(plan.model, weights.kvHeads), weightInputs: {}, weightBytes: 0 }, precision);
  const { verify, quality } = await verifyDecoder(nodeRuntime({ threads: c.threads, graphOpt: 'all' }), tm, { weights: 'constant', seed: c.seed }, Math.min(plan.promptLength, VERIFY_PROMPT));
  // the decode check records the larger of its prefill's and its step's errors: the prefill's is at most that
  return { verify: { ...verify, prefillMaxRelError: verify.maxRelError }, ...(quality ? { quality } : {}) };
}

/**
 * One decode step profiled at the largest context the generations reached: a session of
 * its own with the engine's profiler, a cache of that length (random contents on the CPU,
 * zeros made on the GPU: a step's time does not depend on them), one warm step, then two
 * profiled ones. Gives the step's stages (on WebGPU from its GPU program times) and, where
 * the profiler reports sizes (the CPU's), the bytes its kernels really move (the
 * implementation floor).
 */
async function profileStep(m: TypeModel, c: GenerateConfig, plan: GeneratePlan, loaded: ModelWeights | undefined): Promise<ProfiledStepTiming | null> {
  const finalLength = m.runs.at(-1)!.output.timing.finalLength;
  if (finalLength < 1) return null;
  // the same weights again: drawn from the same seed, or converted from the checkpoint again
  const model = new DecoderModel(pack(typeWeights(m.spec, c, plan, loaded).weights, m.spec), { ...engineSettings(c, m.precision), profile: true });
  try {
    const engine = await model.prepare(plan.rows);
    const at = await stepAt(model, c, plan, finalLength);
    const walls: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await at.step();
        walls.push(performance.now() - t0);
      }
    } finally {
      await at.release();
    }
    const runs = (await engine.endProfiling()).slice(1);
    const weightBytes = c.weights === 'constant' ? m.weightBytes : 0;
    const bytes = runs.map((r) => movedBytes(r, weightBytes));
    return {
      context: finalLength,
      capacity: at.capacity,
      bytes: bytes.every((b) => b !== null) ? Math.min(...(bytes as number[])) : null,
      ms: Math.min(...walls.slice(1)),
      stages: stageTimes(runs, []),
    };
  } finally {
    await model.release();
  }
}

/** One decode step at context `finalLength`, to run again and again: against a cache in JS (the caller's update) or on the device (the graph's). */
async function stepAt(model: DecoderModel, c: GenerateConfig, plan: GeneratePlan, finalLength: number): Promise<{ step: () => Promise<void>; capacity: number; release: () => Promise<void> }> {
  const rows = plan.rows;
  const tokens = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i % plan.model.vocab));
  const positions = new BigInt64Array(rows).fill(BigInt(Math.min(finalLength - 1, plan.model.positions - 1)));
  const capacity = roundUp(finalLength, c.cacheChunk);
  if (model.cacheUpdate === 'graph') {
    const cache = await DeviceKvCache.create({ ...model.cacheShape, rows }, capacity, { chunk: c.cacheChunk, device: model.device });
    for (let r = 0; r < rows; r++) cache.mask.fill(0, r * cache.capacity, r * cache.capacity + finalLength - 1);
    cache.length = finalLength - 1;
    const selfMask = new Float32Array(rows);
    const step = async () => {
      // the cache is not adopted: every step runs at the same context; its written copy is let go
      const out = await model.forwardResident({ rows, seq: 1, tokens, positions, selfMask }, cache);
      for (const t of out.present) t.dispose();
      out.logitsOnDevice?.dispose();
    };
    return { step, capacity: cache.capacity, release: () => cache.release() };
  }
  const cache = new KvCache({ ...model.cacheShape, rows }, capacity, c.cacheChunk, model.cachePrecision);
  cache.fillRandom(new Rng(c.seed + 3), 0.5);
  for (let r = 0; r < rows; r++) cache.mask.fill(0, r * cache.capacity, r * cache.capacity + finalLength - 1);
  cache.length = finalLength - 1;
  return { step: async () => void (await model.step(tokens, positions, cache)), capacity: cache.capacity, release: async () => {} };
}
