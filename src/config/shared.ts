/**
 * The fields the configurations of layers, decode and generate share, defined once: the
 * engine's threads and graph optimisation, and how the weights reach it. Each configuration
 * places them among its own fields (the order its help lists them in); `unit` words them for
 * what the command times, a layer's `run` or a decoder's `step`.
 */
import { z } from 'zod';
import { logicalCores } from '../core/platform.ts';
import { GRAPH_OPTS } from '../engine/runtime.ts';
import { DTYPES } from '../precision/dtypes.ts';

/** How the weights reach the engine: constants it pre-packs (as a deployed model), or inputs fed with every run. */
export const WEIGHTS = ['constant', 'input'] as const;

/**
 * The precision axes, lists like every axis of the cartesian product: the weights' dtype
 * (every weight product: projections, MLP, LM head; embeddings stay float32) and the KV
 * cache's. float32 by default, so a run without them measures what every run before them did.
 */
export const precisionConfig = () =>
  z.object({
    weightDtype: z
      .array(z.enum(DTYPES))
      .describe('weight dtypes: float32; int8 (per output column, DynamicQuantizeMatMul); int4 (blocks of 32, MatMulNBits); float16 only on a device with float16 kernels')
      .default(['float32']),
    kvDtype: z
      .array(z.enum(DTYPES))
      .describe('KV-cache dtypes: float32; int8 or int4 codes with a float32 scale per position and head (the fused kernel: its own cache, scales fixed from the prefill); float16 only on a device with float16 kernels')
      .default(['float32']),
  });

export const sharedConfig = (unit: 'run' | 'step') =>
  z.object({
    threads: z.number().int().positive().describe('engine intra-op threads').default(logicalCores),
    graphOpt: z.enum(GRAPH_OPTS).describe('engine graph optimisation level').default('all'),
    weights: z.enum(WEIGHTS).describe(`weights as graph constants the engine pre-packs (as a deployed model), or as inputs fed with every ${unit}`).default('constant'),
  });
