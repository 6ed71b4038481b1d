/**
 * Block-wise symmetric quantization, written once for the weights, the cache and the float64
 * references that check them. A block of values shares one float32 scale s = max|x| / qmax
 * (qmax 127 for int8, 7 for int4) and stores q = round(x / s), |q| ≤ qmax: symmetric, no zero
 * point (the weights and the cache rows are centred; a zero point would cost a code per block
 * and a subtraction per product; llama.cpp's q8_0 and q4_0 are symmetric too).
 *
 * `packWeight` writes MatMulNBits' B operand: codes stored offset (q + 2^(bits−1), the
 * kernel's default zero point when none is given), [n, blocks, block·bits/8], low nibble
 * first. `activationCodes` is what the engine does to a product's input at accuracy level 4
 * (int8 per block of the weight's block size along k, symmetric, round half to even), so a
 * reference can compute exactly what the kernel computes.
 */
import { bitsOf, type IntDtype } from './dtypes.ts';

export const qmax = (d: IntDtype): number => 2 ** (bitsOf(d) - 1) - 1;

/** Round half to even, as the CPU's vector conversion does. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One block's scale: max|x| / qmax in float32, 0 for an all-zero block. */
export function blockScale(x: ArrayLike<number>, from: number, to: number, d: IntDtype): number {
  let amax = 0;
  for (let i = from; i < to; i++) amax = Math.max(amax, Math.abs(x[i]!));
  return Math.fround(amax / qmax(d));
}

/**
 * The code of x at scale s, saturated to ±qmax (symmetric: a scale from the values' own
 * maximum never reaches −qmax − 1); `fullRange`: to −qmax − 1 … qmax, as the fused kernel
 * saturates values beyond its static scales' range (int8 −128, int4 −8).
 */
export const codeOf = (x: number, s: number, d: IntDtype, fullRange = false): number =>
  s === 0 ? 0 : Math.max(-qmax(d) - (fullRange ? 1 : 0), Math.min(qmax(d), roundEven(x / s)));

/** A weight [k, n] (row-major, as the graphs hold it) quantized along k in blocks: MatMulNBits' B, scales and the dequantized weight. */
export interface PackedWeight {
  k: number;
  n: number;
  bits: number;
  block: number;
  /** uint8 [n, blocks, block·bits/8]. */
  codes: Uint8Array;
  /** float32 [n · blocks]. */
  scales: Float32Array;
  /** The weight the codes stand for, [k, n] float32: what a reference multiplies by (empty when not asked for). */
  dequantized: Float32Array;
}

/**
 * Quantize `w` [k, n] (or [n, k] with `transposed`) block-wise along k. The last block of a k
 * that is not a multiple of the block is padded with zero codes.
 */
export function packWeight(w: Float32Array, k: number, n: number, d: IntDtype, block: number, transposed = false, withDequantized = true): PackedWeight {
  const bits = bitsOf(d);
  const blocks = Math.ceil(k / block);
  const bytesPerBlock = (block * bits) / 8;
  const codes = new Uint8Array(n * blocks * bytesPerBlock);
  const scales = new Float32Array(n * blocks);
  const dequantized = new Float32Array(withDequantized ? k * n : 0);
  const offset = 2 ** (bits - 1);
  const column = new Float32Array(k);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < k; i++) column[i] = transposed ? w[j * k + i]! : w[i * n + j]!;
    for (let b = 0; b < blocks; b++) {
      const from = b * block;
      const to = Math.min(k, from + block);
      const s = blockScale(column, from, to, d);
      scales[j * blocks + b] = s;
      const base = (j * blocks + b) * bytesPerBlock;
      for (let i = from; i < from + block; i++) {
        const q = i < to ? codeOf(column[i]!, s, d) : 0;
        if (i < to && withDequantized) dequantized[i * n + j] = q * s;
        const u = q + offset;
        const at = i - from;
        if (bits === 8) codes[base + at] = u;
        else codes[base + (at >> 1)]! |= (at & 1 ? u << 4 : u);
      }
    }
  }
  return { k, n, bits, block, codes, scales, dequantized };
}

/**
 * Rows x [rows, k] as the engine's accuracy-level-4 kernels see them: each row quantized to
 * int8 in blocks of `block` along k (scale max|x| / 127 in float32, its inverse in float32,
 * codes rounded half to even), returned dequantized (code × scale). Computed from float32
 * values (`Math.fround` first), as the engine holds them.
 */
export function activationCodes(x: ArrayLike<number>, rows: number, k: number, block: number): Float64Array {
  const out = new Float64Array(rows * k);
  const v = new Float32Array(block);
  for (let r = 0; r < rows; r++)
    for (let from = 0; from < k; from += block) {
      const to = Math.min(k, from + block);
      let amax = 0;
      for (let i = from; i < to; i++) amax = Math.max(amax, Math.abs((v[i - from] = x[r * k + i]!)));
      const s = Math.fround(amax / 127);
      const inv = s === 0 ? 0 : Math.fround(1 / s);
      for (let i = from; i < to; i++) out[r * k + i] = roundEven(Math.fround(v[i - from]! * inv)) * s;
    }
  return out;
}

/**
 * A tensor x as DynamicQuantizeMatMul sees it: quantized to uint8 per tensor, asymmetric (the
 * range [min(0, x), max(0, x)] over 255 steps, the zero point rounded half to even, codes
 * round(x / scale) + zero point, saturated), returned dequantized ((code − zero point) × scale).
 */
export function perTensorUint8(x: ArrayLike<number>): Float64Array {
  let lo = 0;
  let hi = 0;
  const v = Float32Array.from(x as ArrayLike<number>);
  for (const a of v) {
    lo = Math.min(lo, a);
    hi = Math.max(hi, a);
  }
  const scale = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
  const zp = roundEven(Math.max(0, Math.min(255, Math.fround(0 - Math.fround(lo / scale)))));
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (Math.max(0, Math.min(255, roundEven(Math.fround(v[i]! / scale)) + zp)) - zp) * scale;
  return out;
}
