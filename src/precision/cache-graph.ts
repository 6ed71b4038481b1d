/**
 * The KV cache at int8 and int4, written once for the step graphs, the caches that hold it
 * and the references that check it.
 *
 * The hand-built layouts (MHA, MQA, MQA-1, GQA:g) store each position's K (or V) head as codes
 * with one float32 scale, written as the row is written (dynamic, like llama.cpp's q8_0 over
 * a head): int8 codes [rows, g, T, hs]; int4 codes two to a byte, low nibble first, offset
 * by 8 (q + 8), [rows, g, T, hs/2] (onnxruntime-node takes no int4 tensors from JS, so the
 * graph unpacks uint8); scales [rows, g, T, 1]. The step reads them through one
 * DequantizeLinear per tensor, per axis over the flattened (row, head, position) axis — a
 * float32 copy of the cache per step, which bench/generate.ts --ops measures.
 *
 * The engine's fused GroupQueryAttention has its own quantized cache: the same code layouts,
 * but static scales per channel, [1, g, 1, hs], fixed from the prefill (it has no scale per
 * position); values beyond the prefill's range saturate.
 */
import type { GraphBuilder } from '../engine/graph.ts';
import { blockScale, codeOf, qmax } from './blocks.ts';
import type { IntDtype } from './dtypes.ts';

/** How one layer's K (or V) cache enters a step graph at an int dtype. */
export interface CacheInput {
  codes: { type: 'int8' | 'uint8'; width: number };
  /** Scale dims with T for the positions: per position and head, or the fused kernel's static per channel. */
  scaleDims: (rows: number, G: number, D: number) => (number | string)[];
}

/** The element type and last dimension of a cache's codes: int8 [.., hs], or int4 packed as uint8 [.., hs/2]. */
export const cacheCodes = (d: IntDtype, D: number): CacheInput['codes'] => (d === 'int8' ? { type: 'int8', width: D } : { type: 'uint8', width: D / 2 });

/** Scale dims: per (row, head, position) for the hand-built layouts, per (head, channel) for the fused kernel. */
export const scaleDims = (fused: boolean, rows: number, G: number, D: number): (number | string)[] => (fused ? [1, G, 1, D] : [rows, G, 'T', 1]);

/**
 * The cache as float32 [rows, g, T, hs] from its codes and per-position scales: int4 codes
 * unpacked (nibbles interleaved), then one DequantizeLinear per axis over the flattened
 * (row, head, position) axis (a Reshape, not a copy), with zero point 8 for int4's offset codes.
 */
export function dequantizeCache(g: GraphBuilder, codes: string, scales: string, d: IntDtype, rows: number, G: number, D: number): string {
  const flatScales = g.node('Reshape', [scales, g.ints([-1])]);
  if (d === 'int8') {
    const dq = g.node('DequantizeLinear', [g.node('Reshape', [codes, g.ints([-1, D])]), flatScales], { axis: 0 });
    return g.node('Reshape', [dq, g.ints([rows, G, -1, D])]);
  }
  // uint8 [.., hs/2] → low and high nibbles → [.., hs/2, 2] → [-1, hs]
  const four = g.constant('uint8', [4], []);
  const hi = g.node('BitShift', [codes, four], { direction: 'RIGHT' });
  const lo = g.node('BitShift', [g.node('BitShift', [codes, four], { direction: 'LEFT' }), four], { direction: 'RIGHT' });
  const pairs = g.node('Concat', [g.node('Unsqueeze', [lo, g.ints([-1])]), g.node('Unsqueeze', [hi, g.ints([-1])])], { axis: -1 });
  const zero = g.node('Expand', [g.constant('uint8', [8], []), g.node('Shape', [flatScales])]);
  const dq = g.node('DequantizeLinear', [g.node('Reshape', [pairs, g.ints([-1, D])]), flatScales, zero], { axis: 0 });
  return g.node('Reshape', [dq, g.ints([rows, G, -1, D])]);
}

/**
 * A head's D values from `src` at `from` as codes (written into `codes` at code index `at`,
 * packed for int4) with scale `s`: one per head (dynamic, saturating at ±qmax), or the fused
 * kernel's static ones per channel (saturating as the kernel does, down to −qmax − 1).
 */
export function writeCodes(src: ArrayLike<number>, from: number, D: number, s: number | ArrayLike<number>, d: IntDtype, codes: Int8Array | Uint8Array, at: number): void {
  const perChannel = typeof s !== 'number';
  const code = (i: number) => codeOf(src[from + i]!, perChannel ? s[i]! : s, d, perChannel);
  if (d === 'int8') {
    for (let i = 0; i < D; i++) codes[at + i] = code(i);
    return;
  }
  const base = at / 2;
  for (let i = 0; i < D; i += 2) codes[base + i / 2] = (code(i) + 8) | ((code(i + 1) + 8) << 4);
}

/** Quantize one head's D values dynamically (scale max|x| / qmax): its codes into `codes` at `at`, its scale returned. */
export function quantizeHead(src: ArrayLike<number>, from: number, D: number, d: IntDtype, codes: Int8Array | Uint8Array, at: number): number {
  const s = headScale(src, from, D, d);
  writeCodes(src, from, D, s, d, codes, at);
  return s;
}

/** What a head's values read back as after `quantizeHead` or `writeCodes` (the reference's cache): code × scale. */
export function roundTrip(x: ArrayLike<number>, from: number, D: number, s: number | ArrayLike<number>, d: IntDtype): Float64Array {
  const out = new Float64Array(D);
  for (let i = 0; i < D; i++) {
    const si = typeof s === 'number' ? s : s[i]!;
    out[i] = codeOf(x[from + i]!, si, d, typeof s !== 'number') * si;
  }
  return out;
}

/** The dynamic scale of one head: max|x| / qmax in float32 (a block of its D values). */
export const headScale = (x: ArrayLike<number>, from: number, D: number, d: IntDtype): number => blockScale(x, from, from + D, d);

/**
 * The fused kernel's static scales [g·hs]: per head and channel, max|x| over `n` rows of
 * [g·hs] values / qmax (1 for a channel that is zero throughout: its codes are 0 anyway, and
 * the kernel divides by it).
 */
export function staticScales(x: ArrayLike<number>, n: number, G: number, D: number, d: IntDtype): Float32Array {
  const s = new Float32Array(G * D);
  for (let t = 0; t < n; t++) for (let j = 0; j < G * D; j++) s[j] = Math.max(s[j]!, Math.abs(x[t * G * D + j]!));
  return s.map((a) => Math.fround(a / qmax(d)) || 1);
}

/**
 * A prefill's static scales per layer from its new K/V rows [layers, rows, S, 2·g·hs] (every
 * position of every row, padding included: the kernel's scales are one per channel for the
 * whole batch).
 */
export function prefillStaticScales(kv: Float32Array, layers: number, rows: number, S: number, G: number, D: number, d: IntDtype): { k: Float32Array[]; v: Float32Array[] } {
  const width = 2 * G * D;
  const side = (i: number, s: number) => {
    const x = new Float32Array(rows * S * G * D);
    for (let p = 0; p < rows * S; p++) x.set(kv.subarray((i * rows * S + p) * width + s * G * D, (i * rows * S + p) * width + (s + 1) * G * D), p * G * D);
    return staticScales(x, rows * S, G, D, d);
  };
  return { k: Array.from({ length: layers }, (_, i) => side(i, 0)), v: Array.from({ length: layers }, (_, i) => side(i, 1)) };
}

