/**
 * The one configuration of a generation comparison (`attnbench generate`, `runGenerate`):
 * each field documented once, with its default. The command-line flags are the field names
 * in kebab-case (`cacheChunk` ↔ `--cache-chunk`, `kvCache` ↔ `--no-kv-cache`), the presets
 * fill the fields left out, and the result file records the configuration as given.
 *
 * Fields without a default take the preset's value (the model shape, the batch and
 * lengths, the types, the repeats); with `model` (a checkpoint) the shape is the
 * checkpoint's and the types default to its own.
 */
import { z } from 'zod';
import { NODE_DEVICES } from '../engine/devices.ts';
import { configObject, seedSchema } from './parse.ts';
import { precisionConfig, sharedConfig } from './shared.ts';
import { variantList } from './variants.ts';

const positive = () => z.number().int().positive();
const count = () => z.number().int().nonnegative();
const SHARED = sharedConfig('step').shape;
const PRECISION = precisionConfig().shape;

export const PRESET_NAMES = ['quick', 'seed'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Beam search's stopping rule, as Hugging Face's `early_stopping`. */
export const EarlyStopping = z.union([z.boolean(), z.literal('never')]);
export type EarlyStopping = z.infer<typeof EarlyStopping>;

export const GenerateConfig = configObject({
  preset: z.enum(PRESET_NAMES).describe("quick: a small model (under a minute on 2 cores); seed: the seed's GPT-2 experiment (24 layers, hidden 1024, batch 8, max_length 1024)").default('quick'),
  attention: variantList('attention types', { mode: 'full', aliases: true, more: " (with --model: the checkpoint's own)" }).optional(),
  layers: positive().describe('decoder blocks').optional(),
  hidden: positive().describe('hidden size').optional(),
  heads: positive().describe('query heads').optional(),
  positions: positive().describe('learned positions, the longest sequence').optional(),
  vocab: positive().describe("vocabulary size (GPT-2's tokenizer has 50257)").optional(),
  model: z.string().describe('load a local Hugging Face checkpoint from this folder (config.json + model.safetensors, gpt2 or gpt_bigcode)').optional(),
  prompt: z.array(z.string()).describe('a prompt (repeatable); default: random token ids').default([]),
  promptLength: positive().describe('length of the random prompts').optional(),
  batch: positive().describe('prompts generated at once (with --prompt: their count, or cycled up to --batch)').optional(),
  threads: SHARED.threads,
  kvCache: z.boolean().describe('keep keys and values in a KV cache; --no-kv-cache recomputes the whole sequence every step (use_cache=False)').default(true),
  doSample: z.boolean().describe('sample instead of greedy').default(false),
  temperature: z.number().describe('sampling temperature').default(1),
  topK: count().describe('sample from the k most likely tokens (0: all)').default(50),
  topP: z.number().describe('sample from the smallest set of tokens whose probability reaches p').default(1),
  seed: seedSchema().describe('random seed (weights, prompts, sampling)').default(1),
  numBeams: positive().describe('beam search with n beams').default(1),
  lengthPenalty: z.number().describe('beam search: score = sum logprobs / length^x').default(1),
  earlyStopping: EarlyStopping.describe('beam search stops: true (n finished), false (heuristic), never').default(false),
  maxLength: positive().describe('total length, prompt included').optional(),
  maxNewTokens: positive().describe('new tokens to generate (instead of --max-length)').optional(),
  minNewTokens: count().describe('no eos before this many new tokens (default: all of them, so every run does the same work)').optional(),
  repeats: positive().describe('timed generations per type, after one warm-up: the types alternate, one generation each per round').optional(),
  device: z.enum(NODE_DEVICES).describe('where the decoder runs: cpu (onnxruntime-node) or webgpu (its WebGPU provider, the KV cache kept on the GPU)').default('cpu'),
  weights: SHARED.weights,
  weightDtype: PRECISION.weightDtype,
  kvDtype: PRECISION.kvDtype,
  profileStep: z.boolean().describe('profile one decode step per type at the largest context (its stages and the bytes it moves); --no-profile-step skips it').default(true),
  cacheChunk: positive().describe('KV-cache capacity grows in chunks of this many positions').default(256),
});
export type GenerateConfig = z.output<typeof GenerateConfig>;
/** What a caller gives: any field may be left out for its default or the preset's value. */
export type GenerateConfigInput = z.input<typeof GenerateConfig>;

/** The fields a preset fills, and what it fills them with. */
export type Preset = Required<Pick<GenerateConfig, 'layers' | 'hidden' | 'heads' | 'positions' | 'vocab' | 'attention' | 'batch' | 'promptLength' | 'maxLength' | 'repeats'>>;

/**
 * `seed` is the seed's experiment (GPT-2 with 24 layers, hidden 1024, 16 heads; batch 8,
 * prompt 16, max_length 1024, greedy; MHA, MQA, MQA-1); `quick` (the default) is a small
 * model whose comparison of three types (MHA, MQA-1, GQA) finishes in under a minute on 2
 * cores, with a batch and context large enough for the KV cache to matter.
 */
export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  seed: {
    // GPT-2 medium's shape, 2048 positions
    layers: 24,
    hidden: 1024,
    heads: 16,
    positions: 2048,
    vocab: 50257,
    attention: ['multi-head', 'multi-query', 'multi-query-1'],
    batch: 8,
    promptLength: 16,
    maxLength: 1024,
    repeats: 3,
  },
  quick: {
    // hidden 256 in 4 heads of 64 and GPT-2's vocabulary (the LM head is most of the weights):
    // batch 16 gives the KV cache the share of the bytes it has in larger models at longer contexts
    layers: 4,
    hidden: 256,
    heads: 4,
    positions: 1024,
    vocab: 50257,
    attention: ['multi-head', 'multi-query-1', 'grouped-query:2'],
    batch: 16,
    promptLength: 16,
    maxLength: 256,
    repeats: 3,
  },
};
