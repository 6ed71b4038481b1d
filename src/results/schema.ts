/**
 * The result file format, as zod schemas (the TypeScript types are inferred from them,
 * and `schemas/*.schema.json` is generated from them for other tools).
 *
 * Versioned by the `schema` field: `attnbench/layers@2`, `attnbench/generate@2`, `attnbench/decode@1`. A change
 * that removes or renames a field, or changes its meaning, bumps the version; files of an
 * older version are upgraded on read (`upgrade.ts`).
 *
 * Some parts are defined where they are produced and only composed here: `Summary` and
 * `Samples` (src/timing/stats.ts), `Ceilings` (src/roofline/probes.ts), `ModelConfig`
 * (src/model/config.ts) and the two configurations (src/config/). Every time in them is
 * held to one rule here (`time` below), so that nothing derived from times is ever Infinity or NaN.
 */
import { z } from 'zod';
import { DecodeConfig } from '../config/decode.ts';
import { GenerateConfig } from '../config/generate.ts';
import { LayersConfig } from '../config/layers.ts';
import { recordOf } from '../config/record.ts';
import { ModelConfig } from '../model/config.ts';
import { Ceilings } from '../roofline/ceilings.ts';
import { DEVICES } from '../engine/devices.ts';
import { Stage as EngineStage } from '../engine/stages.ts';
import { Samples, Summary } from '../timing/stats.ts';

// ---------------------------------------------------------------------------
// Times

/** The finest step of any clock a time here comes from (process.hrtime, the engine's profiler), ms. */
const NS_MS = 1e-6;
/** A year, ms: longer than any run of any command. */
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/**
 * The rule for every time a result file holds: a measured duration (a timed call, step or
 * generation: every sample, median, min, max, p90) lies between 1 ns and a year; a part of
 * one (a stage, the share of a step spent growing the cache, a reorder total) may also be 0 —
 * too short for the profiler to see, or nothing of that kind happened — never negative.
 * Within these bounds everything derived from times is a finite number: a ratio of two
 * medians (at most 3·10¹⁶), a mean of two samples, a sum or a variance. Zero, negative,
 * absurd (1e308 ms: over a real 0.2 ms, B/A is Infinity) or non-finite times
 * are refused on write and on read, with the field named; so no speedup, interval, chart or
 * gate is computed from them.
 */
function time(unit: 'ms' | 's', kind: 'measured' | 'part') {
  const perMs = unit === 'ms' ? 1 : 1e-3;
  const lo = kind === 'measured' ? NS_MS * perMs : 0;
  const what = kind === 'measured' ? `a measured time must be between 1 ns and a year (${lo} to ${YEAR_MS * perMs} ${unit})` : `a time must be between 0 and a year (0 to ${YEAR_MS * perMs} ${unit})`;
  const error = (iss: { input?: unknown }) => `${what}; it is ${String(iss.input)}`;
  return z.number({ error: (iss) => (typeof iss.input === 'number' ? error(iss) : undefined) }).gte(lo, { error }).lte(YEAR_MS * perMs, { error });
}

/** A measured duration in milliseconds or seconds, and a part of one that may be 0. */
const Ms = time('ms', 'measured');
const Seconds = time('s', 'measured');
const PartMs = time('ms', 'part');
const PartSeconds = time('s', 'part');

/** A summary of durations (`Summary` with the time rule): its spread is a time too, and may be 0. */
const timeSummary = (t: z.ZodNumber, spread: z.ZodNumber) => Summary.extend({ median: t, min: t, max: t, p90: t, stddev: spread });
/** The same with every sample kept (`Samples` with the time rule). */
const timeSamples = (t: z.ZodNumber, spread: z.ZodNumber) => Samples.extend({ ...timeSummary(t, spread).shape, samples: z.array(t) });

const MsSummary = timeSummary(Ms, PartMs);
const MsSamples = timeSamples(Ms, PartMs);
const SecondsSamples = timeSamples(Seconds, PartSeconds);

/** One stage of a profiled run (engine/stages.ts) with the time rule: a stage may take 0 ms (its nodes fused away, or too short to see). */
export const Stage = EngineStage.extend({
  wallMs: PartMs,
  kernelMs: PartMs,
  hostMs: PartMs,
  wallStats: timeSummary(PartMs, PartMs).optional(),
});

export const LAYERS_SCHEMA = 'attnbench/layers@2';

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
export const Device = z.object({
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
  device: Device,
  /** Null only for imported results, which carry no ceilings. */
  ceilings: Ceilings.nullable(),
  /** Set when the file was converted from another format (e.g. the seed's JSON). */
  importedFrom: z.string().optional(),
});

/** The range of a ratio of two times under the time rule: 1 ns / a year to its inverse (never 0, never Infinity). */
export const RATIO_RANGE = { min: NS_MS / YEAR_MS, max: YEAR_MS / NS_MS } as const;

const ratioError = (iss: { input?: unknown }) => `a ratio of two times must be between ${RATIO_RANGE.min} and ${RATIO_RANGE.max}; it is ${String(iss.input)}`;
const Ratio = z.number().gte(RATIO_RANGE.min, { error: ratioError }).lte(RATIO_RANGE.max, { error: ratioError });

/** A speedup: median of the baseline / median of this one, with its 95 % interval. */
export const Speedup = z.object({
  baseline: z.string(),
  ratio: Ratio,
  low: Ratio,
  high: Ratio,
  level: z.number(),
  /** Rounds (paired) or samples. */
  n: z.number().int().positive(),
  method: z.enum(['paired-bootstrap', 'bootstrap']),
});

/** A check of the computed numbers against a reference. */
export const Verification = z.object({
  /** Normwise max |out − ref| / max |ref|. */
  maxRelError: z.number(),
  tolerance: z.number().positive(),
  /** Within the tolerance: a result outside it is WRONG, shown as such, and gets no speedup. */
  ok: z.boolean(),
  /** What it was checked against: the float64 reference, or the CPU provider. */
  against: z.enum(['float64 reference', 'cpu provider']),
  batch: z.number(),
  seq: z.number(),
});

/** A measurement against the machine's bounds (src/results/bounds.ts), of a layer or a decode step alike. */
export const Bounds = z.object({
  /** The task's FLOPs and bytes over the median time. */
  gflops: z.number().nonnegative(),
  gbps: z.number().nonnegative(),
  /** Achieved / the ceilings' bound; null where the environment has no ceilings. */
  computeFraction: z.number().nullable(),
  memoryFraction: z.number().nullable(),
  /** max(flops / matmul ceiling, task bytes / read bandwidth), ms. */
  taskFloorMs: z.number().nullable(),
  /** max(flops / matmul ceiling, implementation bytes / read bandwidth), ms. */
  implementationFloorMs: z.number().nullable(),
  /** Bounds the measurement broke (a time below a floor, a stage above the ceiling): a wrong bound, not a speed. */
  flags: z.array(z.string()),
});

export const LayerResult = z.object({
  variant: z.string(),
  mode: z.enum(['seed', 'full']),
  batch: z.number().int().positive(),
  seq: z.number().int().positive(),
  heads: z.number().int().positive(),
  kvHeads: z.number().int().positive(),
  headDim: z.number().int().positive(),
  dtype: z.literal('float32'),
  /**
   * Un-profiled wall time of one `session.run`, every repetition kept, in round order: the
   * variants of one (batch, seq) ran interleaved, one run each per round, in an order that
   * rotates, so sample r of every variant comes from round r.
   */
  totalMs: MsSamples,
  /** Fewer timed runs than the default 10 because the time budget allowed no more. */
  budgetLimited: z.boolean(),
  /** Per-stage medians from profiled runs (see docs/method.md). */
  stages: z.array(Stage),
  profiledRuns: z.number().int().nonnegative(),
  /** Median wall time of the profiled runs (a session of its own; null without profiled runs). */
  profiledMs: Ms.nullable(),
  /** Median over profiled runs of (run wall − span the stages cover): binding and session work outside the executor (input wrap, output copy). */
  residualMs: z.number().nullable(),
  /** Median over profiled runs of 1 − Σ kernel / run wall: the share of a call's wall time outside the compute kernels. */
  outsideKernelsShare: z.number().min(0).max(1).nullable(),
  /** Only in results imported from the seed: its TOTAL cpu / (cpu + cuda), the host's share as PyTorch's profiler counts it (host time waiting on the GPU included). Never drawn with outsideKernelsShare. */
  seedCpuShare: z.number().min(0).max(1).optional(),
  flops: z.number().nonnegative(),
  /** The task's bytes: hidden states and weights read once, output written once. */
  bytes: z.number().nonnegative(),
  /** Bytes this layout's graph moved per run (every kernel's inputs and outputs, weights once), median over the profiled runs; null without them. */
  implementationBytes: z.number().nonnegative().nullable(),
  ...Bounds.shape,
  /** Speedup over multi-head at the same batch and length, from the same rounds (null for multi-head, without it, or when either result is wrong). */
  speedup: Speedup.nullable(),
  /** Peak bytes this layer alone is predicted to hold. */
  memoryBytes: z.number().nonnegative(),
  verify: Verification.optional(),
});

export const Failure = z.object({
  variant: z.string(),
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
export type Speedup = z.infer<typeof Speedup>;
export type Bounds = z.infer<typeof Bounds>;
export type Device = z.infer<typeof Device>;
export type { StageResult } from '../engine/stages.ts';
export type LayerResult = z.infer<typeof LayerResult>;
export type LayerConfig = z.infer<typeof LayerConfig>;
export type Failure = z.infer<typeof Failure>;
export type LayerResultFile = z.infer<typeof LayerResultFile>;

// ---------------------------------------------------------------------------
// Generation results (`attnbench generate`)

export const GENERATE_SCHEMA = 'attnbench/generate@2';

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

export const GenerateResult = z.object({
  attention: z.string(),
  kvHeads: z.number().int().positive(),
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
  /** Bounds a measurement broke (a step faster than its floor): a wrong bound, not a speed. */
  flags: z.array(z.string()),
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
  /** Median decode step of multi-head / this type's, with its interval over the interleaved rounds (null without a multi-head run). */
  speedupVsMha: Speedup.nullable(),
  /** Multi-head's median step at the largest context / this type's (a point estimate). */
  speedupVsMhaAtMaxContext: Ratio.nullable(),
  /** Median generation time of multi-head / this type's, with its interval over the rounds. */
  generateSpeedupVsMha: Speedup.nullable(),
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

export const DECODE_SCHEMA = 'attnbench/decode@1';

/** One attention type's decode step at one batch and context, measured in rounds alternating with the other types'. */
export const DecodeResult = z.object({
  attention: z.string(),
  kvHeads: z.number().int().positive(),
  /** Rows decoded at once. */
  batch: z.number().int().positive(),
  /** Keys the step attends to: the cached positions plus the new token. */
  context: z.number().int().positive(),
  parameters: z.number().int().positive(),
  /** Bytes of the live KV cache the step reads (context − 1 positions, all rows and layers). */
  kvCacheBytes: z.number().nonnegative(),
  /** Wall time of one step (outputs read back), every timed step kept, in round order: sample r of every type comes from round r. */
  stepMs: MsSamples,
  /** Fewer timed steps than the default because the time budget allowed no more. */
  budgetLimited: z.boolean(),
  /** Rows / median step. */
  tokensPerSecond: z.number().nonnegative(),
  stages: z.array(Stage),
  profiledRuns: z.number().int().nonnegative(),
  /** The task's FLOPs and bytes (weights and the live cache read once, the new K/V rows and the logits written once). */
  flops: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
  /** Bytes the step's kernels moved plus the weights once (the engine's profiler; null where it does not report sizes). */
  implementationBytes: z.number().nonnegative().nullable(),
  ...Bounds.shape,
  /** Multi-head's median step / this type's, from the same rounds, with its interval (null for multi-head, without it, or when either is wrong). */
  speedup: Speedup.nullable(),
  /** The prefill and the decode step's logits against the float64 reference (batch 1; `seq` is the context checked). */
  verify: Verification.optional(),
});

export const DecodeFailure = z.object({
  attention: z.string(),
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
