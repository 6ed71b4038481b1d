/**
 * The GPT-2-style decoder's configuration: GPT-2's architecture (learned positions,
 * pre-LayerNorm blocks, GELU MLP, final LayerNorm, LM head tied to the token embedding)
 * with a selectable attention variant, which decides the number of K/V heads.
 */
import { z } from 'zod';
import { kvHeads, type VariantSpec } from '../attention/spec.ts';
import { F32 } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import type { Cost } from '../roofline/floor.ts';
import { predictedKvBytes } from './cache.ts';
import { isInt, type Dtype } from '../precision/dtypes.ts';
import { weightBytes } from '../precision/weight-graph.ts';

/** The GELU flavours Hugging Face's GPT-2 and GPTBigCode configs name. */
export const ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'gelu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

const positive = () => z.number().int().positive();

/** The decoder's shape, as a result file records it. */
export const ModelConfig = z.object({
  layers: positive(),
  hidden: positive(),
  heads: positive(),
  positions: positive(),
  vocab: positive(),
  /** MLP inner width (GPT-2: 4·hidden). */
  inner: positive(),
  layerNormEps: z.number().positive(),
  activation: z.enum(ACTIVATIONS),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

/** GPT-2's shape from the flags: the MLP 4× wide, GPT-2's norm epsilon and GELU. */
export const gpt2Config = (shape: Pick<ModelConfig, 'layers' | 'hidden' | 'heads' | 'positions' | 'vocab'>): ModelConfig => ({
  ...shape,
  inner: 4 * shape.hidden,
  layerNormEps: 1e-5,
  activation: 'gelu_new',
});

export const headDim = (c: ModelConfig): number => c.hidden / c.heads;

/** GPT-2's special token: `<|endoftext|>` is both end of sequence and padding. */
export const EOS_TOKEN = 50256;

/** Check a configuration's numbers before anything is built or allocated. */
export function checkConfig(c: ModelConfig): void {
  for (const [k, v] of Object.entries({ layers: c.layers, hidden: c.hidden, heads: c.heads, positions: c.positions, vocab: c.vocab, inner: c.inner })) {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`model ${k} must be a positive integer, got ${v}`);
  }
  if (c.hidden % c.heads !== 0) throw new UsageError(`--hidden ${c.hidden} is not a multiple of --heads ${c.heads}`);
  if (!(c.layerNormEps > 0)) throw new UsageError(`layer_norm_epsilon must be positive, got ${c.layerNormEps}`);
}

/** K/V heads of `spec` in this model (checks that a group count divides the heads). */
export const modelKvHeads = (c: ModelConfig, spec: VariantSpec): number => kvHeads(spec, c.heads, headDim(c));

/**
 * Parameters of the model with `g` K/V heads, counted as Hugging Face does (the tied LM
 * head is the token embedding, counted once). The K/V projections shrink with g.
 */
export function parameterCount(c: ModelConfig, g: number): number {
  const nm = c.hidden;
  const kv = g * headDim(c);
  const attn = nm * (nm + 2 * kv) + (nm + 2 * kv) + nm * nm + nm;
  const mlp = nm * c.inner + c.inner + c.inner * nm + nm;
  const norms = 4 * nm;
  return c.vocab * nm + c.positions * nm + c.layers * (attn + mlp + norms) + 2 * nm;
}

/** Weights read by one decode step: every block's, the final norm and the tied LM head (plus one row of each embedding). */
export function decodeWeightFloats(c: ModelConfig, g: number): number {
  return parameterCount(c, g) - c.positions * c.hidden + c.hidden;
}

/** The weight matrices of one decode step as [k, n] products: per block the q/k/v projection, the output projection and the MLP's two, then the LM head. */
export function weightProducts(c: ModelConfig, g: number): [number, number][] {
  const nm = c.hidden;
  const block: [number, number][] = [[nm, nm + 2 * g * headDim(c)], [nm, nm], [nm, c.inner], [c.inner, nm]];
  return [...Array.from({ length: c.layers }, () => block).flat(), [nm, c.vocab]];
}

/**
 * Bytes of the weights one decode step reads at weight dtype `d`: the matrices as their
 * products hold them (src/precision/weight-graph.ts: codes and scales), and in float32 the
 * rest (biases, norms, one row of the position table). At float32, 4 · decodeWeightFloats.
 * The token rows the lookup gathers are left out (a floor may only count too little): at
 * float32 they are part of the tied LM head; quantized, the lookup keeps its float32 table and
 * reads rows · hidden · 4 bytes a step, under 0.1 % of any shape here.
 */
export function decodeWeightBytes(c: ModelConfig, g: number, d: Dtype = 'float32'): number {
  const products = weightProducts(c, g);
  const matrixFloats = products.reduce((a, [k, n]) => a + k * n, 0);
  return F32 * (decodeWeightFloats(c, g) - matrixFloats) + products.reduce((a, [k, n]) => a + weightBytes(k, n, d), 0);
}

/** A decode step's precision: the weights' dtype and the cache's (the fused kernel's int cache keeps static scales: `fusedCache`). */
export interface StepPrecision {
  weightDtype: Dtype;
  kvDtype: Dtype;
  fusedCache?: boolean;
}

const FLOAT32: StepPrecision = { weightDtype: 'float32', kvDtype: 'float32' };

/**
 * What one decode step must do, whatever the implementation (its task floor): its FLOPs
 * (the weight products' at their dtype's ceiling where quantized), and the bytes it must
 * move — every weight read once as stored, the live KV cache read once at its dtype (the
 * `ctx − 1` cached positions), the new K/V rows and the logits written once in float32.
 */
export function decodeStepCost(c: ModelConfig, g: number, rows: number, ctx: number, p: StepPrecision = FLOAT32): Cost {
  const cache = { layers: c.layers, rows, kvHeads: g, headDim: headDim(c) };
  const outputs = predictedKvBytes(cache, 1) + F32 * rows * c.vocab;
  const live = predictedKvBytes(cache, Math.max(0, ctx - 1), p.kvDtype, p.fusedCache ?? false);
  const quantized = isInt(p.weightDtype) ? { quantized: { dtype: p.weightDtype, flops: 2 * rows * weightProducts(c, g).reduce((a, [k, n]) => a + k * n, 0) } } : {};
  return { flops: decodeStepFlops(c, g, rows, ctx), bytes: decodeWeightBytes(c, g, p.weightDtype) + live + outputs, ...quantized };
}

/** Multiply-adds ×2 of one decode step for `rows` sequences at context `ctx` (keys attended, the new one included). */
export function decodeStepFlops(c: ModelConfig, g: number, rows: number, ctx: number): number {
  const matrices = decodeWeightFloats(c, g) - c.hidden; // every weight matrix is a matmul operand once per row
  return 2 * rows * matrices + 2 * 2 * rows * c.heads * headDim(c) * ctx;
}
