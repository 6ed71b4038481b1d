/**
 * The configuration of a decode-step comparison (`attnbench decode`, the browser page's
 * second form): attention types side by side in a GPT-2-style decoder with random weights,
 * one decode step against a filled KV cache at each context length, the types interleaved in
 * rounds. Each field documented once, with its default; the flags are the field names in
 * kebab-case, the result file records the configuration as given.
 *
 * The defaults are `attnbench generate --preset quick`'s model and types (4 layers, hidden
 * 256 in 4 heads of 64, GPT-2's vocabulary; MHA, MQA-1, GQA:2) at batch 16, where the KV
 * cache is a large share of what a step reads at long contexts.
 */
import { z } from 'zod';
import { PRESETS } from './generate.ts';
import { BROWSER_DEVICES, DEVICES } from '../engine/devices.ts';
import { precisionConfig, sharedConfig } from './shared.ts';
import { variantList } from './variants.ts';
import { configObject } from './parse.ts';

const positive = () => z.number().int().positive();
const count = () => z.number().int().nonnegative();
const quick = PRESETS.quick;
const SHARED = sharedConfig('step').shape;
const PRECISION = precisionConfig().shape;

export const DecodeConfig = configObject({
  attention: variantList('attention types', { mode: 'full' }).default(quick.attention),
  layers: positive().describe('decoder blocks').default(quick.layers),
  hidden: positive().describe('hidden size').default(quick.hidden),
  heads: positive().describe('query heads').default(quick.heads),
  vocab: positive().describe("vocabulary size (GPT-2's tokenizer has 50257)").default(quick.vocab),
  context: z
    .array(positive())
    .describe('context lengths: the keys a decode step attends to, its cached positions plus the new token (lists and ranges: 256,1024 or 128-1024*2)')
    .default([256, 1024]),
  batch: z.array(positive()).describe('sequences decoded at once (one row each)').default([quick.batch]),
  repeats: z
    .union([positive(), z.literal('auto')])
    .describe('timed steps per type and configuration (the types alternate, one step each per round); auto: 30, fewer when --budget-ms allows no more (at least 10 where it allows)')
    .default('auto'),
  budgetMs: count().describe('time budget for the timed steps of one configuration (auto repeats)').default(4000),
  warmup: positive().describe('warm-up steps per type and configuration').default(2),
  threads: SHARED.threads,
  graphOpt: SHARED.graphOpt,
  profileRuns: count().describe('profiled steps for the stage split (0: none)').default(2),
  device: z
    .enum(DEVICES)
    .describe(`where the steps run: cpu (onnxruntime-node), or onnxruntime-web in headless Chromium: ${BROWSER_DEVICES.join(', ')}`)
    .default('cpu'),
  weights: SHARED.weights,
  weightDtype: PRECISION.weightDtype,
  kvDtype: PRECISION.kvDtype,
  verify: z.boolean().describe("check each type's prefill and decode-step logits against the float64 reference (always on in a browser)").default(false),
  seed: count().describe('random seed for weights and caches').default(1),
});
export type DecodeConfig = z.output<typeof DecodeConfig>;
export type DecodeConfigInput = z.input<typeof DecodeConfig>;
