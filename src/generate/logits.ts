/**
 * Logits processors and token choosers as small pure functions over one row of logits,
 * following Hugging Face's warpers: temperature, top-k (ties at the k-th value are
 * kept), top-p (the smallest set of most likely tokens whose probability reaches p),
 * min-new-tokens (no eos before it), greedy (argmax) and seeded categorical sampling.
 * Each processor works in place on a row and returns it, so they compose by nesting.
 */

/**
 * The smallest temperature accepted. Logits are float32 and divided by the temperature in
 * place: below this, a logit of 3.4·10⁸ (far beyond any real model's) would already exceed
 * float32's largest value, 3.4·10³⁸, and become infinite. Sampling at it is greedy anyway.
 */
export const MIN_TEMPERATURE = 1e-30;

/** Divide by the temperature (in place). */
export function applyTemperature(row: Float32Array, t: number): Float32Array {
  if (t !== 1) for (let i = 0; i < row.length; i++) row[i]! /= t;
  return row;
}

/** Keep the k largest logits (and any tied with the k-th), set the rest to −∞ (in place). */
export function applyTopK(row: Float32Array, k: number): Float32Array {
  if (k <= 0 || k >= row.length) return row;
  const kth = [...row].sort((a, b) => b - a)[k - 1]!;
  for (let i = 0; i < row.length; i++) if (row[i]! < kth) row[i] = -Infinity;
  return row;
}

/**
 * Nucleus filtering: sort ascending, remove tokens whose cumulative probability is at
 * most 1 − p (Hugging Face's TopPLogitsWarper), always keeping the most likely one.
 */
export function applyTopP(row: Float32Array, p: number): Float32Array {
  if (p >= 1) return row;
  const probs = softmax(row);
  const order = Array.from(row.keys()).sort((a, b) => probs[a]! - probs[b]! || b - a);
  let cum = 0;
  for (let j = 0; j < order.length - 1; j++) {
    const i = order[j]!;
    cum += probs[i]!;
    if (cum <= 1 - p) row[i] = -Infinity;
    else break;
  }
  return row;
}

/** Forbid `token` (in place; −1 or a token beyond the row forbids nothing). */
export function suppressToken<T extends Float32Array | Float64Array>(row: T, token: number): T {
  if (token >= 0 && token < row.length) row[token] = -Infinity;
  return row;
}

/**
 * A rule that forbids a token at some steps: which one step `t` (the index of the new token,
 * 0 for the prefill's) may not choose, and the processor that forbids it in a row of logits
 * or log-probabilities. A search that reads rows applies it; one that takes an argmax (on the
 * CPU, or in the device's graph) skips the token it names.
 */
export interface TokenBan {
  /** The token step `t` may not choose, or −1. */
  at(t: number): number;
  /** Forbid it in `row`, in place. */
  apply<T extends Float32Array | Float64Array>(row: T, t: number): T;
}

/** Hugging Face's MinNewTokensLengthLogitsProcessor: no `eos` before `min` new tokens. Every search's end-of-sequence rule. */
export function minNewTokens(min: number, eos: number): TokenBan {
  const at = (t: number) => (t < min ? eos : -1);
  return { at, apply: (row, t) => suppressToken(row, at(t)) };
}

export function softmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  const out = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp(row[i]! - max);
  for (let i = 0; i < row.length; i++) out[i]! /= sum;
  return out;
}

/** log softmax of a row of raw logits, or null when one is not finite (NaN, ±∞: the model's output cannot be trusted). */
export function checkedLogSoftmax(row: ArrayLike<number>): Float64Array | null {
  let max = -Infinity;
  let poison = 0; // v − v: 0 for a finite v, NaN for NaN and ±∞
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    poison += v - v;
    if (v > max) max = v;
  }
  return poison === 0 ? logSoftmaxFrom(row, max) : null;
}

function logSoftmaxFrom(row: ArrayLike<number>, max: number): Float64Array {
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
}

/** Index of the largest value (the first one on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Draw from the distribution `softmax(row)` with a uniform variate u ∈ [0, 1). */
export function sampleFrom(row: ArrayLike<number>, u: number): number {
  const p = softmax(row);
  let cum = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i]! > 0) last = i;
    cum += p[i]!;
    if (u < cum) return i;
  }
  return last;
}

export interface WarpOptions {
  temperature: number;
  topK: number;
  topP: number;
}

/** The sampling warpers in Hugging Face's order: temperature, top-k, top-p. */
export function warp(row: Float32Array, o: WarpOptions): Float32Array {
  return applyTopP(applyTopK(applyTemperature(row, o.temperature), o.topK), o.topP);
}
