/**
 * A float64 reference forward pass of the decoder for one unpadded sequence, written as
 * plain loops over the *logical* weights, sharing nothing with the graphs it checks.
 */
import { headDim } from './config.ts';
import type { ModelWeights, Norm } from './weights.ts';

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
export function referenceLogits(w: ModelWeights, tokens: readonly number[], from = 0): Float64Array {
  const c = w.config;
  const S = tokens.length;
  const nm = c.hidden;
  const H = c.heads;
  const D = headDim(c);
  const G = w.kvHeads;
  const R = H / G;
  let h = new Float64Array(S * nm);
  tokens.forEach((t, i) => {
    for (let j = 0; j < nm; j++) h[i * nm + j] = w.wte[t * nm + j]! + w.wpe[i * nm + j]!;
  });
  for (const b of w.blocks) {
    const a = layerNorm(h, S, nm, b.ln1, c.layerNormEps);
    const q = dense(a, S, nm, b.attn.wq, nm, b.attn.bq);
    const k = dense(a, S, nm, b.attn.wk, G * D, b.attn.bk);
    const v = dense(a, S, nm, b.attn.wv, G * D, b.attn.bv);
    const merged = new Float64Array(S * nm);
    const p = new Float64Array(S);
    for (let hh = 0; hh < H; hh++) {
      const g = Math.floor(hh / R);
      for (let i = 0; i < S; i++) {
        let max = -Infinity;
        for (let t = 0; t <= i; t++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[i * nm + hh * D + d]! * k[t * G * D + g * D + d]!;
          p[t] = dot / Math.sqrt(D);
          max = Math.max(max, p[t]!);
        }
        let sum = 0;
        for (let t = 0; t <= i; t++) sum += p[t] = Math.exp(p[t]! - max);
        for (let t = 0; t <= i; t++)
          for (let d = 0; d < D; d++) merged[i * nm + hh * D + d]! += (p[t]! / sum) * v[t * G * D + g * D + d]!;
      }
    }
    const o = dense(merged, S, nm, b.attn.wo!, nm, b.attn.bo);
    for (let i = 0; i < h.length; i++) h[i]! += o[i]!;
    const m = layerNorm(h, S, nm, b.ln2, c.layerNormEps);
    const u = dense(m, S, nm, b.fc, c.inner, b.fcB).map(geluTanh);
    const y = dense(u, S, c.inner, b.proj, nm, b.projB);
    h = h.map((x, i) => x + y[i]!);
  }
  const f = layerNorm(h, S, nm, w.lnf, c.layerNormEps);
  const logits = new Float64Array((S - from) * c.vocab);
  for (let i = from; i < S; i++)
    for (let t = 0; t < c.vocab; t++) {
      let dot = 0;
      for (let j = 0; j < nm; j++) dot += f[i * nm + j]! * w.wte[t * nm + j]!;
      logits[(i - from) * c.vocab + t] = dot;
    }
  return logits;
}
