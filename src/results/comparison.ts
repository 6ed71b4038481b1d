/**
 * A comparison is one record: what every kind of result measures of one attention type
 * against the others — its identity, timed samples, cost, bounds, stages, check and speedup
 * over multi-head — defined once here. A layer result and a decode step (schema.ts) are this
 * record plus their own fields; a generation result shares the part that fits a whole
 * generation (`Compared`: identity, speedup of its decode step, flags, check). Tables, charts,
 * `compare` and the journal read these fields by these names, whatever the kind.
 */
import { z } from 'zod';
import { Stage as EngineStage } from '../engine/stages.ts';
import { DTYPES } from '../precision/dtypes.ts';
import { MsSamples, PartMs, Ratio, timeSummary } from './times.ts';

/** One stage of a profiled run (engine/stages.ts) with the time rule: a stage may take 0 ms (its nodes fused away, or too short to see). */
export const Stage = EngineStage.extend({
  wallMs: PartMs,
  kernelMs: PartMs,
  hostMs: PartMs,
  wallStats: timeSummary(PartMs, PartMs).optional(),
});

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

/**
 * What a precision costs, beside the check and never a pass or fail: the quantized result
 * against the float32 model's on the same inputs (a layer's output, a decoder's logits), and
 * for a generation, how far its greedy tokens agree with float32's.
 */
export const Quality = z.object({
  /** Normwise max |out − float32 out| / max |float32 out| (a layer's output; a decoder's first-step logits). */
  maxRelError: z.number().nonnegative(),
  /** What was compared, in words ("layer output at batch 1, seq 64", "logits of the prefill and one decode step"). */
  what: z.string(),
  /** Generations: the first generated position where the greedy tokens part from float32's in any row (null: they agree throughout). */
  firstDifference: z.number().int().nonnegative().nullable().optional(),
  /** Generations: the share of generated tokens equal to float32's, position by position, over every row. */
  agreement: z.number().min(0).max(1).optional(),
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

/** What every kind of result records of one attention type: who it is, how it compares with multi-head, and whether it is right. */
export const Compared = z.object({
  /** The attention type's label (multi-head, multi-query-1, grouped-query:4, ...). */
  attention: z.string(),
  kvHeads: z.number().int().positive(),
  /** The weights' dtype (every weight product; embeddings stay float32). Files from before the precision axes: float32. */
  weightDtype: z.enum(DTYPES).default('float32'),
  /** Multi-head's median time / this type's, from the same rounds, with its interval (null for multi-head, without it, or when either is wrong). */
  speedup: Speedup.nullable(),
  flags: Bounds.shape.flags,
  /** Its output against a reference: a type beyond the tolerance is WRONG, kept, shown as such, and gets no speedup. */
  verify: Verification.optional(),
  /** A quantized result's error against float32 (absent for float32 itself). */
  quality: Quality.optional(),
});

/** One attention type timed at one batch against the others, in rounds (a layer call, a decode step): `Compared` with its samples, cost, bounds and stages. */
export const Comparison = z.object({
  ...Compared.shape,
  /** Rows computed at once. */
  batch: z.number().int().positive(),
  /** Wall time of one timed call, every one kept, in round order: the types of one configuration ran interleaved, so sample r of every type comes from round r. */
  ms: MsSamples,
  /** Fewer timed calls than the default because the time budget allowed no more. */
  budgetLimited: z.boolean(),
  /** Per-stage medians from profiled runs (see docs/method.md). */
  stages: z.array(Stage),
  /** Profiled runs the stages are medians of (0: none). */
  profileRuns: z.number().int().nonnegative(),
  /** The task's FLOPs and bytes (each kind says what its task reads and writes once). */
  flops: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
  /** The part of `flops` that quantized weight products compute (their dtype: `weightDtype`), bounded by that dtype's ceiling; absent for float32 weights. */
  quantizedFlops: z.number().nonnegative().optional(),
  /** Bytes the implementation's kernels moved per run, weights once (the engine's profiler, median over the profiled runs; null without them or where it reports no sizes). */
  implementationBytes: z.number().nonnegative().nullable(),
  ...Bounds.shape,
});

export type Stage = z.infer<typeof Stage>;
export type Quality = z.infer<typeof Quality>;
export type Speedup = z.infer<typeof Speedup>;
export type Verification = z.infer<typeof Verification>;
export type Bounds = z.infer<typeof Bounds>;
export type Compared = z.infer<typeof Compared>;
export type Comparison = z.infer<typeof Comparison>;
