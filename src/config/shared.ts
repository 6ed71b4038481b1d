/**
 * The fields the configurations of layers, decode and generate share, defined once: the
 * engine's threads and graph optimisation, and how the weights reach it. Each configuration
 * places them among its own fields (the order its help lists them in); `unit` words them for
 * what the command times, a layer's `run` or a decoder's `step`.
 */
import { z } from 'zod';
import { logicalCores } from '../core/platform.ts';
import { GRAPH_OPTS } from '../engine/runtime.ts';

/** How the weights reach the engine: constants it pre-packs (as a deployed model), or inputs fed with every run. */
export const WEIGHTS = ['constant', 'input'] as const;

export const sharedConfig = (unit: 'run' | 'step') =>
  z.object({
    threads: z.number().int().positive().describe('engine intra-op threads').default(logicalCores),
    graphOpt: z.enum(GRAPH_OPTS).describe('engine graph optimisation level').default('all'),
    weights: z.enum(WEIGHTS).describe(`weights as graph constants the engine pre-packs (as a deployed model), or as inputs fed with every ${unit}`).default('constant'),
  });
