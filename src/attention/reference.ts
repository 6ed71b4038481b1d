/**
 * The float64 reference: the logical attention function every variant must compute,
 * written as plain loops so it shares nothing with the graphs it checks.
 */
import { layerCost } from './cost.ts';
import { isInt, type Dtype } from '../precision/dtypes.ts';
import { dequantizedWeight, productInput } from '../precision/weight-graph.ts';
import { modelDim, type LayerShape, type LogicalParams } from './params.ts';
import type { Mode } from './spec.ts';

/**
 * How a product's input reaches its weight: as it is (float32 weights), or as a quantized
 * kernel sees it (src/precision/blocks.ts `activationCodes`). The weights themselves come in
 * the parameters, dequantized where the graph's are quantized.
 */
export type ProductInput = (x: ArrayLike<number>, rows: number, k: number) => ArrayLike<number>;

/** y[r, :] = x[r, :] @ w (+ b), for row-major x [rows, k] and w [k, n], in float64. */
function project(x0: ArrayLike<number>, rows: number, k: number, w: Float32Array, n: number, b?: Float32Array, input?: ProductInput): Float64Array {
  const x = input ? input(x0, rows, k) : x0;
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const yr = r * n;
    if (b) for (let j = 0; j < n; j++) y[yr + j] = b[j]!;
    for (let i = 0; i < k; i++) {
      const xi = x[r * k + i]!;
      const wi = i * n;
      for (let j = 0; j < n; j++) y[yr + j]! += xi * w[wi + j]!;
    }
  }
  return y;
}

/**
 * Seed mode: logical [batch, heads, seq, headDim] = (q·kᵀ)·v with no scale or mask.
 * Full mode: [batch, seq, nm] = causal softmax(q·kᵀ/√d)·v, heads merged, then the output projection.
 */
export function referenceAttention(p: LogicalParams, s: LayerShape, mode: Mode, input?: ProductInput): Float64Array {
  const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
  const nm = modelDim(s);
  const R = H / G;
  const rows = B * S;
  const full = mode === 'full';
  const q = project(p.hidden, rows, nm, p.wq, H * D, full ? p.bq : undefined, input);
  const k = project(p.hidden, rows, nm, p.wk, G * D, full ? p.bk : undefined, input);
  const v = project(p.hidden, rows, nm, p.wv, G * D, full ? p.bv : undefined, input);
  const scale = full ? 1 / Math.sqrt(D) : 1;
  const heads = new Float64Array(B * H * S * D); // [b, h, i, d]
  const w = new Float64Array(S);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / R);
      for (let i = 0; i < S; i++) {
        const last = full ? i : S - 1;
        let max = -Infinity;
        for (let t = 0; t <= last; t++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(b * S + i) * H * D + h * D + d]! * k[(b * S + t) * G * D + kvh * D + d]!;
          w[t] = dot * scale;
          max = Math.max(max, w[t]!);
        }
        if (full) {
          let sum = 0;
          for (let t = 0; t <= last; t++) sum += w[t] = Math.exp(w[t]! - max);
          for (let t = 0; t <= last; t++) w[t]! /= sum;
        }
        const o = ((b * H + h) * S + i) * D;
        for (let t = 0; t <= last; t++)
          for (let d = 0; d < D; d++) heads[o + d]! += w[t]! * v[(b * S + t) * G * D + kvh * D + d]!;
      }
    }
  if (!full) return heads;
  const merged = new Float64Array(rows * nm);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < S; i++)
        for (let d = 0; d < D; d++) merged[(b * S + i) * nm + h * D + d] = heads[((b * H + h) * S + i) * D + d]!;
  return project(merged, rows, nm, p.wo!, nm, p.bo, input);
}

/** Normwise relative error: max |a − ref| / max |ref| (robust where ref crosses zero). */
export function maxRelError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new Error(`length mismatch: ${a.length} vs ${ref.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Multiply-adds of the float64 reference at a shape: the projection and the two batched products (half the seed mode's FLOPs). */
export const referenceMacs = (s: LayerShape): number => layerCost(s, 'seed').flops / 2;

// The reference of a quantized layer: the same logical parameters with each weight replaced by
// what its quantized product holds (dequantized), and each product's input as the kernel
// quantizes it (src/precision/weight-graph.ts). It computes what the engine computes, up to
// float32 rounding (measured: under 5e-7 at every variant and mode), so the check keeps a
// tight tolerance; the error against the float32 layer is the quality figure beside it.

/** A layer's logical parameters with its weights as dtype `d` holds them (biases and inputs as they are). */
export function dequantizedLayerParams(p: LogicalParams, s: LayerShape, d: Dtype): LogicalParams {
  if (!isInt(d)) return p;
  const nm = modelDim(s);
  const deq = (w: Float32Array) => dequantizedWeight(w, nm, w.length / nm, d);
  return { ...p, wq: deq(p.wq), wk: deq(p.wk), wv: deq(p.wv), ...(p.wo ? { wo: deq(p.wo) } : {}) };
}

/** How a weight product's input reaches the weight at dtype `d` (undefined: as it is). */
export const referenceInput = (d: Dtype): ProductInput | undefined => (isInt(d) ? productInput(d) : undefined);
