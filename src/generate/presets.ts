/**
 * Presets of `attnbench generate`: `seed` is the seed's experiment (GPT-2 with 24 layers,
 * hidden 1024, 16 heads; batch 8, prompt 16, max_length 1024, greedy; MHA, MQA, MQA-1);
 * `quick` (the default) is a small model whose comparison of three attention types
 * (MHA, MQA-1, GQA) finishes in under a minute on 2 cores, with a batch and context large
 * enough for the KV cache to matter.
 */
import { SEED_MODEL, type ModelConfig } from '../model/config.ts';

export type PresetName = 'quick' | 'seed';

export interface Preset {
  model: ModelConfig;
  attention: string[];
  batch: number;
  promptLength: number;
  maxLength: number;
  repeats: number;
}

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  seed: {
    model: SEED_MODEL,
    attention: ['multi-head', 'multi-query', 'multi-query-1'],
    batch: 8,
    promptLength: 16,
    maxLength: 1024,
    repeats: 3,
  },
  quick: {
    // hidden 256 in 4 heads of 64 and GPT-2's vocabulary (the LM head is most of the weights):
    // batch 16 gives the KV cache the share of the bytes it has in larger models at longer contexts
    model: { layers: 4, hidden: 256, heads: 4, positions: 1024, vocab: 50257, inner: 1024, layerNormEps: 1e-5, activation: 'gelu_new' },
    attention: ['multi-head', 'multi-query-1', 'grouped-query:2'],
    batch: 16,
    promptLength: 16,
    maxLength: 256,
    repeats: 3,
  },
};
