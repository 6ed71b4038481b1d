/**
 * The precisions a run can compare, named once: the weights' dtype (`--weight-dtype`) and the
 * KV cache's (`--kv-dtype`). float32 is the default everywhere and what every result before
 * them measured; int8 and int4 are block-wise codes with one float32 scale per block (the
 * weights: blocks of 32 along the input axis, as MatMulNBits packs them; the cache: one scale
 * per position and head, as llama.cpp's q8_0 writes a row); float16 exists only where the
 * device has float16 kernels. Platform-neutral.
 */
export const DTYPES = ['float32', 'float16', 'int8', 'int4'] as const;
export type Dtype = (typeof DTYPES)[number];
/** The quantized dtypes: codes plus scales. */
export type IntDtype = 'int8' | 'int4';

export const isInt = (d: Dtype): d is IntDtype => d === 'int8' || d === 'int4';
export const bitsOf = (d: Dtype): number => ({ float32: 32, float16: 16, int8: 8, int4: 4 })[d];

/** Elements per int4 weight block (one scale each): MatMulNBits' block size, as the issue and llama.cpp's q4_0 take it. */
export const WEIGHT_BLOCK = 32;

/** Bytes of one cached position of `heads` K (or V) heads of `headDim` at dtype `d`: codes, plus a float32 scale per head (the hand-built layouts' cache). */
export function kvRowBytes(heads: number, headDim: number, d: Dtype): number {
  if (!isInt(d)) return (heads * headDim * bitsOf(d)) / 8;
  return heads * ((headDim * bitsOf(d)) / 8 + 4);
}
