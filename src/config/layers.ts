/**
 * The one configuration of a layer sweep (`attnbench layers`, `runLayers`): each field
 * documented once, with its default. The command-line flags are the field names in
 * kebab-case (`headDim` ↔ `--head-dim`), and the result file records the grid part.
 *
 * The defaults are the seed's grid: batch 8 and 16, sequence lengths 64 to 1984 in steps of
 * 128, 16 heads of 64, seed mode, the seed's three layouts plus `grouped-query:4`.
 */
import { z } from 'zod';
import { configObject, MAX_LIST, seedSchema } from './parse.ts';
import { MODES } from '../attention/spec.ts';
import { BROWSER_DEVICES, DEVICES } from '../engine/devices.ts';
import { precisionConfig, sharedConfig } from './shared.ts';
import { variantList } from './variants.ts';

const positive = () => z.number().int().positive();

/** The seed's layer (its profile_attention_types.py: nh = 16, hs = 64). */
export const SEED_LAYER = { heads: 16, headDim: 64 } as const;
const count = () => z.number().int().nonnegative();
const SHARED = sharedConfig('run').shape;

export const LayersConfig = configObject({
  variants: variantList('attention variants', { aliases: true }).max(MAX_LIST).default(['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:4']),
  batch: z.array(positive()).max(MAX_LIST).describe('batch sizes (lists and ranges: 8,16 or 8-32*2)').default([8, 16]),
  seq: z
    .array(positive())
    .max(MAX_LIST)
    .describe('sequence lengths (e.g. 64-1984+128)')
    .default(() => Array.from({ length: 16 }, (_, i) => 64 + 128 * i)),
  heads: positive().describe('query heads (nh)').default(SEED_LAYER.heads),
  headDim: positive().describe('head size (hs)').default(SEED_LAYER.headDim),
  mode: z.enum(MODES).describe('seed: projection and two matmuls; full: a causal self-attention layer').default('seed'),
  repeats: z
    .union([positive(), z.literal('auto')])
    .describe("timed runs per configuration (the variants of a batch and length alternate, one run each per round); auto: the seed's rule capped by --budget-ms, at least 10 where the budget allows")
    .default('auto'),
  budgetMs: count().describe('time budget for the timed runs of one configuration (auto repeats)').default(6000),
  warmup: positive().describe('warm-up runs per configuration').default(2),
  threads: SHARED.threads,
  graphOpt: SHARED.graphOpt,
  profileRuns: count().describe('profiled runs for the stage split (0: none)').default(3),
  device: z
    .enum(DEVICES)
    .describe(`where the layers run: cpu (onnxruntime-node), webgpu (its WebGPU provider), or onnxruntime-web in headless Chromium: ${BROWSER_DEVICES.join(', ')} (the native build, known wrong on fused attention)`)
    .default('cpu'),
  weights: SHARED.weights,
  weightDtype: precisionConfig().shape.weightDtype,
  verify: z.boolean().describe('check each variant against a float64 reference (always on for quantized weights, with their error against float32 beside it)').default(false),
  dump: z.string().describe('write inputs, weights and output as .npy files with a manifest into this folder').optional(),
  seed: seedSchema().describe('random seed for inputs and weights').default(1),
}).superRefine((c, ctx) => {
  // the sweep lists its configurations before it starts: a grid of 10⁸ would be built, not run
  const n = c.variants.length * c.batch.length * c.seq.length * c.weightDtype.length;
  if (n > MAX_GRID) ctx.addIssue({ code: 'custom', path: ['seq'], message: `the grid holds ${n} configurations (variants × batch × seq × weight dtypes); one sweep takes at most ${MAX_GRID}` });
});

/** The most configurations one sweep takes (at a second each, more than a day; its result file stays under the 512 MiB a reader takes). */
export const MAX_GRID = 100_000;
export type LayersConfig = z.output<typeof LayersConfig>;
/** What a caller gives: any field may be left out for its default. */
export type LayersConfigInput = z.input<typeof LayersConfig>;

/** The main job's grid (`npx attnbench`): the seed's layouts at batch 8, four lengths, a shorter budget. */
export const MAIN_JOB_GRID = { batch: [8], seq: [128, 256, 512, 1024], budgetMs: 3500 } satisfies LayersConfigInput;
