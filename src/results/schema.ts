/**
 * The result file format, as zod schemas (the TypeScript types are inferred from them,
 * and `schemas/*.schema.json` is generated from them for other tools).
 *
 * Versioned by the `schema` field: `attnbench/layers@1`, `attnbench/generate@2`. A change
 * that removes or renames a field, or changes its meaning, bumps the version; files of an
 * older version are upgraded on read (`upgrade.ts`).
 *
 * Some parts are defined where they are produced and only composed here: `Summary` and
 * `Samples` (src/timing/stats.ts), `Ceilings` (src/roofline/probes.ts), `ModelConfig`
 * (src/model/config.ts) and the two configurations (src/config/).
 */
import { z } from 'zod';
import { GenerateConfig } from '../config/generate.ts';
import { LayersConfig } from '../config/layers.ts';
import { recordOf } from '../config/record.ts';
import { ModelConfig } from '../model/config.ts';
import { Ceilings } from '../roofline/probes.ts';
import { Samples, Summary } from '../timing/stats.ts';

export const LAYERS_SCHEMA = 'attnbench/layers@1';

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
  device: z.string(),
  /** Null only for imported results, which carry no ceilings. */
  ceilings: Ceilings.nullable(),
  /** Set when the file was converted from another format (e.g. the seed's JSON). */
  importedFrom: z.string().optional(),
});

export const Stage = z.object({
  name: z.string(),
  wallMs: z.number().nonnegative(),
  kernelMs: z.number().nonnegative(),
  hostMs: z.number().nonnegative(),
  /** The wall time's spread over the profiled runs (wallMs is its median). */
  wallStats: Summary.optional(),
  ops: z.array(z.string()),
  /**
   * Only in results imported from the seed: its [cpu us, cuda us, all us] for this range
   * exactly as read, so exporting to the seed's format gives back the same numbers bit for bit.
   */
  seedUs: z.tuple([z.number(), z.number(), z.number()]).optional(),
  /** Analytic FLOPs of the stage and its achieved rate over kernel time (matmul stages). */
  flops: z.number().nonnegative().optional(),
  gflops: z.number().nonnegative().optional(),
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
  /** Un-profiled wall time of one `session.run`, every repetition kept. */
  totalMs: Samples,
  /** Per-stage medians from profiled runs (see README, "Method"). */
  stages: z.array(Stage),
  profiledRuns: z.number().int().nonnegative(),
  /** Median wall time of the profiled runs (profiler overhead = profiledMs − totalMs.median). */
  profiledMs: z.number().nonnegative(),
  /** Median over profiled runs of (run wall − span the stages cover): binding and session work outside the executor (input wrap, output copy). */
  residualMs: z.number(),
  /** Median over profiled runs of 1 − Σ kernel / run wall: the seed's "cpu part". */
  hostShare: z.number().min(0).max(1),
  flops: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
  gflops: z.number().nonnegative(),
  gbps: z.number().nonnegative(),
  /** Achieved / measured ceiling; null where the environment has no ceilings. */
  computeFraction: z.number().nullable(),
  memoryFraction: z.number().nullable(),
  /** max(flops / compute ceiling, bytes / copy bandwidth) in ms. */
  floorMs: z.number().nullable(),
  memoryBytes: z.number().nonnegative(),
  verify: z.object({ maxRelError: z.number(), batch: z.number(), seq: z.number() }).optional(),
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
export type StageResult = z.infer<typeof Stage>;
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
  ms: z.number().nonnegative(),
  /** Roofline floor of this step, ms (null without ceilings). */
  floorMs: z.number().nullable(),
});

/** The roofline inputs of a decode step: floor = max(bytes / copy bandwidth, flops / matmul ceiling). */
export const Roofline = z.object({
  /** Weights one step reads (every block, the final norm, the tied LM head), bytes. */
  weightBytes: z.number().nonnegative(),
  /** KV-cache bytes per position of context, all rows and layers: 2 · layers · rows · kvHeads · headDim · 4. */
  kvBytesPerPosition: z.number().nonnegative(),
  /** Median of the ceiling's copy bandwidth and the probes taken around each type's runs (this host drifts). */
  copyGBps: z.number().positive(),
  copyProbesGBps: z.array(z.number()),
  matmulGflops: z.number().positive(),
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
  textSeconds: z.number().nonnegative(),
  /** Seconds of each timed generation. */
  generateSeconds: Samples,
  prefillMs: Samples,
  /** Every decode step of every timed repeat. */
  decodeMsPerToken: Summary,
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
  /** Peak resident set of the process so far (process.resourceUsage().maxRSS). */
  peakRssBytes: z.number().nonnegative(),
  steps: z.array(StepPoint),
  roofline: Roofline.nullable(),
  /** Floor of the step at the median context, ms. */
  floorMs: z.number().nullable(),
  /** decodeMsPerToken.median / floorMs. */
  vsFloor: z.number().nullable(),
  /** The last steps (largest context): median ms and floor. */
  atMaxContext: z.object({ context: z.number().int().positive(), ms: z.number().nonnegative(), floorMs: z.number().nullable() }).nullable(),
  /** Per row: prompt ids (left-padded) followed by generated ids, as Hugging Face's generate returns them. */
  sequences: z.array(z.array(z.number().int().nonnegative())),
  /** The generated part of each row decoded to text (special tokens skipped). */
  texts: z.array(z.string()),
  /** Beam search: total ms per generation spent reordering the KV cache (median over repeats; 0 without beams). */
  beamReorderMs: z.number().nonnegative(),
  /** Beam search: each reorder's ms (null without beams). */
  beamReorderMsPerStep: Summary.nullable(),
  /** Ms per generation spent growing the cache (one copy per chunk; inside the steps' times). */
  cacheGrowMs: z.number().nonnegative(),
  /** Median decode step of multi-head / this type's, in the same run (null without a multi-head run). */
  speedupVsMha: z.number().nullable(),
  /** The same at the largest context. */
  speedupVsMhaAtMaxContext: z.number().nullable(),
  /** Median generation time of multi-head / this type's. */
  generateSpeedupVsMha: z.number().nullable(),
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
  promptSeconds: z.number().nonnegative(),
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
