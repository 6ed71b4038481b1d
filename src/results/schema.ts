/**
 * The result file format, as zod schemas (the TypeScript types are inferred from them,
 * and `schemas/*.schema.json` is generated from them for other tools).
 *
 * Versioned by the `schema` field: `attnbench/layers@3`, `attnbench/generate@3`, `attnbench/decode@2`. A change
 * that removes or renames a field, or changes its meaning, bumps the version; files of an
 * older version are upgraded on read (`upgrade.ts`).
 *
 * The three kinds share one record (comparison.ts): identity, samples, cost, bounds, stages,
 * check and speedup; each adds only its own fields here. Some parts are defined where they
 * are produced and only composed here: `Summary` and `Samples` (src/timing/stats.ts),
 * `Ceilings` (src/roofline/probes.ts), `ModelConfig` (src/model/config.ts) and the
 * configurations (src/config/). Every time in them is held to one rule (times.ts), so that
 * nothing derived from times is ever Infinity or NaN.
 */
import { z } from 'zod';
import { DecodeConfig } from '../config/decode.ts';
import { GenerateConfig } from '../config/generate.ts';
import { LayersConfig } from '../config/layers.ts';
import { recordOf } from '../config/record.ts';
import { ModelConfig } from '../model/config.ts';
import { Ceilings } from '../roofline/probes.ts';
import { DEVICES } from '../engine/devices.ts';
import { DTYPES } from '../precision/dtypes.ts';
import { Compared, Comparison, Speedup, Stage, Verification } from './comparison.ts';
import { Ms, MsSamples, MsSummary, PartMs, PartSeconds, Ratio, SecondsSamples, timeSummary } from './times.ts';

export { Bounds, Quality, Speedup, Stage, Verification } from './comparison.ts';

/** The KV cache's dtype of a decode step or a generation. Files from before the precision axes: float32. */
const KvDtype = z.enum(DTYPES).default('float32');
export { RATIO_RANGE } from './times.ts';

export const LAYERS_SCHEMA = 'attnbench/layers@3';

/** A GPU adapter as WebGPU describes it (absent on the CPU). */
export const Adapter = z.object({
  vendor: z.string(),
  architecture: z.string(),
  description: z.string(),
  /** A fallback adapter (WebGPU's isFallbackAdapter). */
  fallback: z.boolean(),
  driver: z.string().nullable(),
});

/** Where the numbers were computed. */
export const DeviceRecord = z.object({
  /** cpu: onnxruntime-node's CPU provider; webgpu: its WebGPU provider; browser-*: onnxruntime-web in a browser; unknown: an imported file. */
  kind: z.enum([...DEVICES, 'unknown']),
  /** The execution provider (e.g. CPUExecutionProvider, WebGpuExecutionProvider, wasm). */
  provider: z.string(),
  /** One line a chart can show under its title. */
  description: z.string(),
  /** A software adapter (SwiftShader, lavapipe): its times are no GPU speed. */
  software: z.boolean(),
  adapter: Adapter.nullable(),
  /** In a browser: its user agent and whether the page was cross-origin isolated (threads). */
  browser: z
    .object({
      userAgent: z.string(),
      crossOriginIsolated: z.boolean(),
      /** The onnxruntime-web module the page loaded (e.g. ort.wasm.min.mjs). */
      build: z.string().optional(),
      /** The smallest step of performance.now() the page saw, ms (Chromium: 0.005 isolated, 0.1 not): the timer's resolution. */
      timerStepMs: z.number().nonnegative().optional(),
      /** Run by the headless driver (`--device browser-*`), not by a person. */
      headless: z.boolean().optional(),
    })
    .optional(),
  /** Where per-kernel times (the stage split) come from on this device, or why there are none. */
  profiler: z.string().optional(),
});

export const Environment = z.object({
  cpu: z.string(),
  /** Absent only in imported results (the seed recorded neither). */
  cores: z.number().int().positive().optional(),
  threads: z.number().int().positive().optional(),
  platform: z.string(),
  node: z.string(),
  onnxruntime: z.string(),
  graphOpt: z.enum(['none', 'basic', 'extended', 'all']),
  malloc: z.record(z.string(), z.string()),
  gitCommit: z.string().nullable(),
  date: z.string(),
  device: DeviceRecord,
  /** Null only for imported results, which carry no ceilings. */
  ceilings: Ceilings.nullable(),
  /** Set when the file was converted from another format (e.g. the seed's JSON). */
  importedFrom: z.string().optional(),
});

/** One layer of one variant at one batch and sequence length: the comparison record (its samples: un-profiled wall times of one `session.run`) and the layer's own fields. */
export const LayerResult = z.object({
  ...Comparison.shape,
  mode: z.enum(['seed', 'full']),
  seq: z.number().int().positive(),
  heads: z.number().int().positive(),
  headDim: z.number().int().positive(),
  dtype: z.literal('float32'),
  /** Median wall time of the profiled runs (a session of its own; null without profiled runs). */
  profiledMs: Ms.nullable(),
  /** Median over profiled runs of (run wall − span the stages cover): binding and session work outside the executor (input wrap, output copy). */
  residualMs: z.number().nullable(),
  /** Median over profiled runs of 1 − Σ kernel / run wall: the share of a call's wall time outside the compute kernels. */
  outsideKernelsShare: z.number().min(0).max(1).nullable(),
  /** Only in results imported from the seed: its TOTAL cpu / (cpu + cuda), the host's share as PyTorch's profiler counts it (host time waiting on the GPU included). Never drawn with outsideKernelsShare. */
  seedCpuShare: z.number().min(0).max(1).optional(),
  /** Peak bytes this layer alone is predicted to hold. */
  memoryBytes: z.number().nonnegative(),
});

export const Failure = z.object({
  attention: z.string(),
  weightDtype: Compared.shape.weightDtype,
  batch: z.number(),
  seq: z.number(),
  error: z.string(),
});

/** The grid and measurement settings a sweep ran with (threads and graph optimisation are in `environment`). */
export const LayerConfig = recordOf(LayersConfig).pick({
  variants: true,
  batch: true,
  seq: true,
  heads: true,
  headDim: true,
  mode: true,
  repeats: true,
  budgetMs: true,
  warmup: true,
  weights: true,
  weightDtype: true,
  profileRuns: true,
  device: true,
  seed: true,
});

export const LayerResultFile = z.object({
  schema: z.literal(LAYERS_SCHEMA),
  environment: Environment,
  config: LayerConfig.optional(),
  results: z.array(LayerResult),
  failures: z.array(Failure).default([]),
});

export type Environment = z.infer<typeof Environment>;
export type DeviceRecord = z.infer<typeof DeviceRecord>;
export type { StageResult } from '../engine/stages.ts';
export type LayerResult = z.infer<typeof LayerResult>;
export type LayerConfig = z.infer<typeof LayerConfig>;
export type Failure = z.infer<typeof Failure>;
export type LayerResultFile = z.infer<typeof LayerResultFile>;

// ---------------------------------------------------------------------------
// Generation results (`attnbench generate`)

export const GENERATE_SCHEMA = 'attnbench/generate@3';

/** One decode step's latency at a context length (for latency-vs-context charts): median over the repeats. */
export const StepPoint = z.object({
  /** Keys the step attended to (cached positions, padding included, plus the new token). */
  context: z.number().int().positive(),
  ms: Ms,
  /** The task floor of this step, ms (null without ceilings). */
  taskFloorMs: z.number().nullable(),
});

/** The roofline inputs of a decode step: task floor = max(flops / matmul ceiling, (weights + live KV cache) / read bandwidth). */
export const Roofline = z.object({
  /** Weights one step reads (every block, the final norm, the tied LM head), bytes. */
  weightBytes: z.number().nonnegative(),
  /** KV-cache bytes per position of context, all rows and layers: 2 · layers · rows · kvHeads · headDim · 4. */
  kvBytesPerPosition: z.number().nonnegative(),
  /** The ceilings' bounds the floors divide by. */
  readGBps: z.number().positive(),
  matmulGflops: z.number().positive(),
});

/** One decode step profiled at the largest context: what the implementation really moves, and where the time goes. */
export const ProfiledStep = z.object({
  context: z.number().int().positive(),
  /** Positions the cache held (its capacity: the step reads all of them). */
  capacity: z.number().int().positive(),
  /** Bytes the step's kernels read and wrote plus the weights once (the engine's profiler); null where it reports none (the WebGPU provider's GPU events carry no sizes). */
  bytes: z.number().nonnegative().nullable(),
  /** max(flops / matmul ceiling, bytes / read bandwidth), ms. */
  floorMs: z.number().nullable(),
  /** The profiled step's wall time, ms (profiling included). */
  ms: Ms,
  stages: z.array(Stage),
});

/** One attention type's generations: the shared part of the comparison record (its speedup: the decode step's), and what a whole generation measures. */
export const GenerateResult = z.object({
  ...Compared.shape,
  kvDtype: KvDtype,
  parameters: z.number().int().positive(),
  /** Weights and biases of the K and V projections: the part that shrinks with fewer K/V heads. */
  kvProjectionParameters: z.number().int().nonnegative(),
  /** How the K/V heads were derived from a checkpoint's, when they differ (null otherwise). */
  converted: z.string().nullable(),
  /** Seconds to decode the generated ids of the last timed generation to text (the seed's decode_batch). */
  textSeconds: PartSeconds,
  /** Seconds of each timed generation. */
  generateSeconds: SecondsSamples,
  prefillMs: MsSamples,
  /** Every decode step of every timed repeat. */
  decodeMsPerToken: MsSummary,
  /** Generated tokens (all rows) per second of generation. */
  tokensPerSecond: z.number().nonnegative(),
  /** Rows / median decode step: the steady decode rate. */
  decodeTokensPerSecond: z.number().nonnegative(),
  kvCacheBytes: z.object({
    /** Bytes allocated for the caches at the end (capacity grows in chunks; beam search adds its reorder scratch). */
    measured: z.number().nonnegative(),
    /** 2 · layers · rows · kvHeads · headDim · context · 4 at the final context. */
    predicted: z.number().nonnegative(),
    context: z.number().int().nonnegative(),
  }),
  /** Peak resident set of the whole process at the end of the run (every type's session lives until the end: types run interleaved). */
  peakRssBytes: z.number().nonnegative(),
  /** Bytes this type's generation was predicted to hold: weights (and the engine's pre-packed copy), KV cache, activations. */
  predictedMemoryBytes: z.number().nonnegative(),
  steps: z.array(StepPoint),
  roofline: Roofline.nullable(),
  /** The task floor of the step at the median context, ms. */
  taskFloorMs: z.number().nullable(),
  /** decodeMsPerToken.median / taskFloorMs. */
  vsTaskFloor: z.number().nullable(),
  /** The last steps (largest context): median ms and task floor. */
  atMaxContext: z.object({ context: z.number().int().positive(), ms: Ms, taskFloorMs: z.number().nullable() }).nullable(),
  /** A decode step profiled at the largest context (null without the KV cache, or when it could not be profiled). */
  profiledStep: ProfiledStep.nullable(),
  /** Per row: prompt ids (left-padded) followed by generated ids, as Hugging Face's generate returns them. */
  sequences: z.array(z.array(z.number().int().nonnegative())),
  /** The generated part of each row decoded to text (special tokens skipped). */
  texts: z.array(z.string()),
  /** Beam search: total ms per generation spent reordering the KV cache (median over repeats; 0 without beams). */
  beamReorderMs: PartMs,
  /** Beam search: each reorder's ms (null without beams; a part of a step, so it may be 0). */
  beamReorderMsPerStep: timeSummary(PartMs, PartMs).nullable(),
  /** Ms per generation spent growing the cache (one copy per chunk; inside the steps' times). */
  cacheGrowMs: PartMs,
  /** Multi-head's median step at the largest context / this type's (a point estimate; `speedup` is the median decode step's). */
  speedupAtMaxContext: Ratio.nullable(),
  /** Median generation time of multi-head / this type's, with its interval over the rounds. */
  generateSpeedup: Speedup.nullable(),
  /**
   * On a device: the first decode step's logits (after a prefill of the prompts) against the
   * CPU provider's with the same weights and tokens. A type beyond the tolerance is WRONG: it
   * is kept, shown as such, and gets no speedup (nor does any type when multi-head is wrong).
   */
  verify: Verification.extend({ prefillMaxRelError: z.number() }).optional(),
});

/** What a generation's configuration resolved to, once its presets, checkpoint and prompts were applied. */
export const GenerationResolved = z.object({
  /** The decoder's shape: the checkpoint's, or the flags' and the preset's (null only in files upgraded from @1 that did not record it). */
  model: ModelConfig.nullable(),
  modelType: z.enum(['random', 'gpt2', 'gpt_bigcode']),
  /** The attention types, in the order they ran. */
  attention: z.array(z.string()),
  /** Prompts generated at once (rows, before beams). */
  batch: z.number().int().positive(),
  /** The longest prompt, in tokens (shorter ones are left-padded to it). */
  promptLength: z.number().int().positive(),
  maxNewTokens: z.number().int().positive(),
  minNewTokens: z.number().int().nonnegative(),
  /** Seconds to build the prompts (the seed's get_test_batch). */
  promptSeconds: PartSeconds,
});

export const GenerateResultFile = z.object({
  schema: z.literal(GENERATE_SCHEMA),
  environment: Environment,
  /** The configuration as given, every default filled in. */
  config: recordOf(GenerateConfig),
  resolved: GenerationResolved,
  results: z.array(GenerateResult),
});

export type StepPoint = z.infer<typeof StepPoint>;
export type GenerateResult = z.infer<typeof GenerateResult>;
export type GenerateResultFile = z.infer<typeof GenerateResultFile>;
export type GenerationResolved = z.infer<typeof GenerationResolved>;
export type GenerateConfigRecord = GenerateResultFile['config'];

// ---------------------------------------------------------------------------
// Decode-step comparisons (`attnbench decode`, the browser page)

export const DECODE_SCHEMA = 'attnbench/decode@2';

/**
 * One attention type's decode step at one batch and context, measured in rounds alternating
 * with the other types': the comparison record and the step's own fields. Its samples are the
 * wall time of one step (outputs read back); its task reads the weights and the live cache
 * once and writes the new K/V rows and the logits once; its check is the prefill's and the
 * step's logits against the float64 reference (batch 1; `seq` is the context checked).
 */
export const DecodeResult = z.object({
  ...Comparison.shape,
  kvDtype: KvDtype,
  /** Keys the step attends to: the cached positions plus the new token. */
  context: z.number().int().positive(),
  parameters: z.number().int().positive(),
  /** Bytes of the live KV cache the step reads (context − 1 positions, all rows and layers). */
  kvCacheBytes: z.number().nonnegative(),
  /** Rows / median step. */
  tokensPerSecond: z.number().nonnegative(),
});

export const DecodeFailure = z.object({
  attention: z.string(),
  weightDtype: Compared.shape.weightDtype,
  kvDtype: KvDtype,
  batch: z.number(),
  context: z.number(),
  error: z.string(),
});

export const DecodeResultFile = z.object({
  schema: z.literal(DECODE_SCHEMA),
  environment: Environment,
  config: recordOf(DecodeConfig),
  /** The decoder's shape (positions: the largest context). */
  model: ModelConfig,
  results: z.array(DecodeResult),
  failures: z.array(DecodeFailure).default([]),
});

export type DecodeResult = z.infer<typeof DecodeResult>;
export type DecodeFailure = z.infer<typeof DecodeFailure>;
export type DecodeResultFile = z.infer<typeof DecodeResultFile>;
export type DecodeConfigRecord = DecodeResultFile['config'];
