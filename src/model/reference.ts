/**
 * A float64 reference forward pass of the decoder for one unpadded sequence, written as
 * plain loops over the *logical* weights, sharing nothing with the graphs it checks.
 *
 * At a quantized precision (`ReferencePrecision`) it computes what the quantized graph
 * computes: each weight as its product holds it and each product's input as the kernel
 * quantizes it (src/precision/weight-graph.ts), and the cached keys and values as the cache
 * stores them (src/precision/cache-graph.ts).
 */
import { isInt, type Dtype, type IntDtype } from '../precision/dtypes.ts';
import { headScale, roundTrip, staticScales } from '../precision/cache-graph.ts';
import { dequantizedWeight, productInput } from '../precision/weight-graph.ts';
import { headDim } from './config.ts';
import type { ModelWeights, Norm } from './weights.ts';

/** The precision a reference computes at (float32 weights and cache when absent). */
export interface ReferencePrecision {
  weightDtype?: Dtype;
  /**
   * The steps the graph ran the tokens in (a prefill of n, then steps of 1: [n, 1, ...]):
   * a kernel that quantizes its input per tensor (int8 weights) sees one step's rows at a
   * time, and the LM head one row per step. Absent: one pass over every token.
   */
  steps?: readonly number[];
  /**
   * The engine's own input of each quantized product (`role`: h0.qkv, h0.o, h0.fc, h0.proj,
   * …, head; per step, its rows). Where the reference's value is the engine's up to float32
   * rounding (1e-3 of the tensor's largest, an eighth of an int8 step), its code is taken from the engine's value: a
   * value within rounding of a half step would otherwise round the other way here, and the
   * flipped code would cascade through every later layer (measured: up to 8e-3 of the
   * logits with int4 weights in two layers). Where they differ by more, the reference keeps
   * its own value, so a wrong engine is not followed.
   */
  engineInputs?: (role: string, step: number) => Float32Array | undefined;
  kv?: {
    dtype: IntDtype;
    /** Positions below this were written by an earlier step: a query at or after it reads them from the cache, as stored. */
    cachedBelow: number;
    /**
     * The fused kernel's cache: static scales per (head, channel) from the positions below
     * `cachedBelow` (the prefill), and every position it attends to read from its cache, its
     * own new one included. Otherwise each cached position and head has its own scale.
     */
    fused: boolean;
    /** The fused kernel's static scales [g·hs] per layer as the run computed them from its own prefill (the reference's own otherwise). */
    staticScales?: { k: Float32Array[]; v: Float32Array[] };
    /**
     * The engine's own K (side 0) or V (side 1) rows of layer i, [S, g·hs] over every step:
     * what it quantized into its cache, followed where they agree to rounding (see
     * `engineInputs`: a flipped cache code cascades as a flipped activation code does).
     */
    engineRows?: (layer: number, side: 0 | 1) => Float32Array | undefined;
  };
}

/** A weight product at the reference's precision: the weight [k, n] as its product holds it, the input as its kernel sees it. */
type Dense = (x: Float64Array, rows: number, k: number, w: Float32Array, n: number, b?: Float32Array, role?: string) => Float64Array;

/** The reference's own input where the engine's is the same up to float32 rounding, else its own (see `engineInputs`). */
function following(x: Float64Array, engine: Float32Array | undefined): Float64Array {
  if (!engine || engine.length !== x.length) return x;
  let scale = 0;
  for (const v of x) scale = Math.max(scale, Math.abs(v));
  const near = 1e-3 * scale;
  return x.map((v, i) => (Math.abs(engine[i]! - v) <= near ? engine[i]! : v));
}

/** Each weight dequantized once per dtype, for as long as the weight lives. */
const DEQUANTIZED = new WeakMap<Float32Array, Map<IntDtype, Float32Array>>();

function dequantizedOnce(w: Float32Array, k: number, n: number, d: IntDtype): Float32Array {
  let byDtype = DEQUANTIZED.get(w);
  if (!byDtype) DEQUANTIZED.set(w, (byDtype = new Map()));
  let q = byDtype.get(d);
  if (!q) byDtype.set(d, (q = dequantizedWeight(w, k, n, d)));
  return q;
}

/** One quantized product of rows x as the kernel computes it (the engine's input followed where it is the same up to rounding). */
const quantizedDense = (d: IntDtype, x: Float64Array, rows: number, k: number, w: Float32Array, n: number, b: Float32Array | undefined, engine: Float32Array | undefined) =>
  dense(productInput(d)(Float32Array.from(following(x, engine)), rows, k), rows, k, dequantizedOnce(w, k, n, d), n, b);

const denseAt = (d: Dtype | undefined, p: Pick<ReferencePrecision, 'steps' | 'engineInputs'>): Dense => {
  if (!d || !isInt(d)) return dense;
  const one = (x: Float64Array, rows: number, k: number, w: Float32Array, n: number, b: Float32Array | undefined, engine: Float32Array | undefined) => quantizedDense(d, x, rows, k, w, n, b, engine);
  const steps = p.steps;
  return (x, rows, k, w, n, b, role) => {
    if (!steps || steps.reduce((a, s) => a + s, 0) !== rows) return one(x, rows, k, w, n, b, undefined);
    // one product per step's rows, as the graph ran them
    const y = new Float64Array(rows * n);
    let at = 0;
    steps.forEach((s, step) => {
      y.set(one(x.subarray(at * k, (at + s) * k), s, k, w, n, b, role ? p.engineInputs?.(role, step) : undefined), at * n);
      at += s;
    });
    return y;
  };
};

/** y[r] = x[r] @ w + b for x [rows, k], w [k, n]. */
function dense(x: Float64Array, rows: number, k: number, w: Float32Array, n: number, b?: Float32Array): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    if (b) for (let j = 0; j < n; j++) y[r * n + j] = b[j]!;
    for (let i = 0; i < k; i++) {
      const xi = x[r * k + i]!;
      for (let j = 0; j < n; j++) y[r * n + j]! += xi * w[i * n + j]!;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, rows: number, n: number, p: Norm, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += x[r * n + j]!;
    mean /= n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (x[r * n + j]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / n + eps);
    for (let j = 0; j < n; j++) y[r * n + j] = (x[r * n + j]! - mean) * inv * p.g[j]! + p.b[j]!;
  }
  return y;
}

/** Hugging Face's gelu_new (tanh approximation). */
export const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/**
 * Logits [seq − from, vocab] of the positions `from`..seq−1 of `tokens` (by default every
 * position): the LM head, the costliest part for a large vocabulary, only where asked.
 */
export function referenceLogits(w: ModelWeights, tokens: readonly number[], from = 0, precision: ReferencePrecision = {}): Float64Array {
  const c = w.config;
  const project = denseAt(precision.weightDtype, precision);
  const S = tokens.length;
  const nm = c.hidden;
  const H = c.heads;
  const D = headDim(c);
  const G = w.kvHeads;
  let h = new Float64Array(S * nm);
  tokens.forEach((t, i) => {
    for (let j = 0; j < nm; j++) h[i * nm + j] = w.wte[t * nm + j]! + w.wpe[i * nm + j]!;
  });
  for (const b of w.blocks) {
    const a = layerNorm(h, S, nm, b.ln1, c.layerNormEps);
    const layer = `h${w.blocks.indexOf(b)}`;
    const q = project(a, S, nm, b.attn.wq, nm, b.attn.bq, `${layer}.qkv`);
    const k0 = project(a, S, nm, b.attn.wk, G * D, b.attn.bk, `${layer}.qkv`);
    const v0 = project(a, S, nm, b.attn.wv, G * D, b.attn.bv, `${layer}.qkv`);
    const li = w.blocks.indexOf(b);
    const fixed = (side: 'k' | 'v') => precision.kv?.staticScales?.[side][li];
    const rowsOf = (x: Float64Array, side: 0 | 1) => following(x, precision.kv?.engineRows?.(li, side));
    const [kc, vc] = precision.kv ? [asCached(rowsOf(k0, 0), S, G, D, precision.kv, fixed('k')), asCached(rowsOf(v0, 1), S, G, D, precision.kv, fixed('v'))] : [k0, v0];
    // query i reads position t as cached when the cache holds it (or always, from the fused kernel's own cache)
    const cached = (i: number, t: number) => precision.kv !== undefined && (precision.kv.fused || (i >= precision.kv.cachedBelow && t < precision.kv.cachedBelow));
    const merged = causalAttention(q, (i, t) => (cached(i, t) ? kc : k0), (i, t) => (cached(i, t) ? vc : v0), S, H, G, D);
    const o = project(merged, S, nm, b.attn.wo!, nm, b.attn.bo, `${layer}.o`);
    for (let i = 0; i < h.length; i++) h[i]! += o[i]!;
    const m = layerNorm(h, S, nm, b.ln2, c.layerNormEps);
    const u = project(m, S, nm, b.fc, c.inner, b.fcB, `${layer}.fc`).map(geluTanh);
    const y = project(u, S, c.inner, b.proj, nm, b.projB, `${layer}.proj`);
    h = h.map((x, i) => x + y[i]!);
  }
  return lmHead(w, layerNorm(h, S, nm, w.lnf, c.layerNormEps), S, from, precision, project);
}

/**
 * Multi-head attention of S positions, causal: q [S, H·D] against K and V rows [S, G·D] as
 * query i reads position t (`keys(i, t)`, `values(i, t)`: the cache's or the fresh rows),
 * query head h reading K/V head ⌊h / (H/G)⌋; heads merged [S, H·D].
 */
function causalAttention(q: Float64Array, keys: (i: number, t: number) => Float64Array, values: (i: number, t: number) => Float64Array, S: number, H: number, G: number, D: number): Float64Array {
  const nm = H * D;
  const R = H / G;
  const merged = new Float64Array(S * nm);
  const p = new Float64Array(S);
  for (let hh = 0; hh < H; hh++) {
    const g = Math.floor(hh / R);
    for (let i = 0; i < S; i++) {
      let max = -Infinity;
      for (let t = 0; t <= i; t++) {
        let dot = 0;
        const k = keys(i, t);
        for (let d = 0; d < D; d++) dot += q[i * nm + hh * D + d]! * k[t * G * D + g * D + d]!;
        p[t] = dot / Math.sqrt(D);
        max = Math.max(max, p[t]!);
      }
      let sum = 0;
      for (let t = 0; t <= i; t++) sum += p[t] = Math.exp(p[t]! - max);
      for (let t = 0; t <= i; t++) {
        const v = values(i, t);
        for (let d = 0; d < D; d++) merged[i * nm + hh * D + d]! += (p[t]! / sum) * v[t * G * D + g * D + d]!;
      }
    }
  }
  return merged;
}

/**
 * The tied LM head over the final norm's rows f [S, nm] from `from` on: wte [vocab, nm] as
 * the B operand [nm, vocab]. With steps, one product per row: the rows from `from` on are the
 * last rows of the last steps (a prefill's last row, then each step's), as the graph ran them.
 */
function lmHead(w: ModelWeights, f: Float64Array, S: number, from: number, precision: ReferencePrecision, project: Dense): Float64Array {
  const { vocab, hidden: nm } = w.config;
  const head = transpose(w.wte, vocab, nm);
  if (!precision.steps) return project(f.subarray(from * nm), S - from, nm, head, vocab);
  const d = precision.weightDtype;
  const logits = new Float64Array((S - from) * vocab);
  const firstStep = precision.steps.length - (S - from);
  for (let i = from; i < S; i++) {
    const row = f.subarray(i * nm, (i + 1) * nm);
    const engine = precision.engineInputs?.('head', firstStep + i - from);
    logits.set(d && isInt(d) ? quantizedDense(d, row, 1, nm, head, vocab, undefined, engine) : dense(row, 1, nm, head, vocab), (i - from) * vocab);
  }
  return logits;
}

/** m [rows, cols] → [cols, rows]. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) t[j * rows + r] = m[r * cols + j]!;
  return t;
}

/**
 * K or V rows [S, g·hs] as the cache stores them: each row of float32 values (as the engine
 * computed them) quantized per head with its own scale, or with the fused kernel's static
 * per-channel scales from the rows below `cachedBelow` (saturating beyond them).
 */
function asCached(x: Float64Array, S: number, G: number, D: number, kv: NonNullable<ReferencePrecision['kv']>, fixed?: Float32Array): Float64Array {
  const f = Float32Array.from(x);
  const out = new Float64Array(x.length);
  const scales = kv.fused ? (fixed ?? staticScales(f, Math.min(S, kv.cachedBelow), G, D, kv.dtype)) : null;
  for (let t = 0; t < S; t++)
    for (let h = 0; h < G; h++) {
      const at = (t * G + h) * D;
      out.set(roundTrip(f, at, D, scales ? scales.subarray(h * D, (h + 1) * D) : headScale(f, at, D, kv.dtype), kv.dtype), at);
    }
  return out;
}

