/**
 * The result file format, as zod schemas (the TypeScript types are inferred from them,
 * and `schemas/*.schema.json` is generated from them for other tools).
 *
 * Versioned by the `schema` field: `attnbench/layers@1`. A change that removes or renames
 * a field bumps the version.
 */
import { z } from 'zod';

export const LAYERS_SCHEMA = 'attnbench/layers@1';

export const Summary = z.object({
  median: z.number(),
  min: z.number(),
  max: z.number(),
  p90: z.number(),
  stddev: z.number().nonnegative(),
  n: z.number().int().positive(),
});

/** Summary plus every repetition's raw sample, in run order. */
export const Samples = Summary.extend({ samples: z.array(z.number()) });

export const Ceilings = z.object({
  matmulGflops: Summary,
  copyGBps: Summary,
  method: z.string(),
});

export const Environment = z.object({
  cpu: z.string(),
  cores: z.number().int().positive(),
  threads: z.number().int().positive(),
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
  ops: z.array(z.string()),
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

export const LayerConfig = z.object({
  variants: z.array(z.string()),
  batch: z.array(z.number()),
  seq: z.array(z.number()),
  heads: z.number(),
  headDim: z.number(),
  mode: z.enum(['seed', 'full']),
  repeats: z.union([z.number(), z.literal('auto')]),
  budgetMs: z.number(),
  warmup: z.number(),
  seed: z.number(),
});

export const LayerResultFile = z.object({
  schema: z.literal(LAYERS_SCHEMA),
  environment: Environment,
  config: LayerConfig.optional(),
  results: z.array(LayerResult),
  failures: z.array(Failure).default([]),
});

export type Summary = z.infer<typeof Summary>;
export type Environment = z.infer<typeof Environment>;
export type StageResult = z.infer<typeof Stage>;
export type LayerResult = z.infer<typeof LayerResult>;
export type LayerConfig = z.infer<typeof LayerConfig>;
export type Failure = z.infer<typeof Failure>;
export type LayerResultFile = z.infer<typeof LayerResultFile>;

// ---------------------------------------------------------------------------
// Generation results (`attnbench generate`)

export const GENERATE_SCHEMA = 'attnbench/generate@1';

/** One decode step's latency at a context length (for latency-vs-context charts). */
export const StepPoint = z.object({ context: z.number().int().positive(), ms: z.number().nonnegative() });

export const GenerateResult = z.object({
  attention: z.string(),
  kvHeads: z.number().int().positive(),
  parameters: z.number().int().positive(),
  /** The seed's printed fields, same names. */
  get_test_batch: z.number(),
  generate_text_batch: z.number(),
  decode_batch: z.number(),
  input_batch_size: z.number().int().positive(),
  input_batch_length: z.number().int().positive(),
  max_gen_length: z.number().int().positive(),
  num_beams: z.number().int().positive(),
  do_sample: z.boolean(),
  pad_token_id: z.number().int(),
  dtype: z.string(),
  device: z.string(),
  device_name: z.string(),
  prefillMs: Samples,
  decodeMsPerToken: Samples,
  tokensPerSecond: z.number().nonnegative(),
  kvCacheBytes: z.object({ measured: z.number().nonnegative(), predicted: z.number().nonnegative() }),
  peakRssBytes: z.number().nonnegative(),
  /** Median decode-step latency against context length. */
  steps: z.array(StepPoint),
  /** Roofline floor of one decode step at the final context, ms. */
  floorMs: z.number().nullable(),
  /** Per row: prompt ids followed by generated ids. */
  sequences: z.array(z.array(z.number().int().nonnegative())),
  /** Total time spent reordering the KV cache for beam search, ms (0 without beams). */
  beamReorderMs: z.number().nonnegative(),
  /** Median decode step of multi-head / this type's, in the same run (null without a multi-head run). */
  speedupVsMha: z.number().nullable(),
});

export const GenerateResultFile = z.object({
  schema: z.literal(GENERATE_SCHEMA),
  environment: Environment,
  config: z.record(z.string(), z.unknown()),
  results: z.array(GenerateResult),
});

export type GenerateResult = z.infer<typeof GenerateResult>;
export type GenerateResultFile = z.infer<typeof GenerateResultFile>;
