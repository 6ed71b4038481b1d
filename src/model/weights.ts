/**
 * The decoder's logical weights (what a checkpoint holds, independent of the attention
 * layout), GPT-2's random initialisation, K/V head conversion, and packing into the
 * physical tensors the graphs read (`pack`).
 *
 * Logical layout, all row-major float32:
 *   wte [vocab, nm], wpe [positions, nm]; per block ln1/ln2 {g, b} [nm];
 *   attn: `LogicalParams` of `src/attention/params.ts` (wq [nm, nm], wk/wv [nm, g·hs],
 *   biases, wo [nm, nm], bo) — query head h reads K/V head floor(h / (nh/g));
 *   fc [nm, inner], fcB [inner], proj [inner, nm], projB [nm]; lnf {g, b}.
 */
import type { PhysicalTensors } from '../attention/layouts.ts';
import type { LayerShape, LogicalParams } from '../attention/params.ts';
import { stepOf } from '../attention/registry.ts';
import type { VariantSpec } from '../attention/spec.ts';
import { UsageError } from '../core/errors.ts';
import { fastNormals } from '../core/rng.ts';
import { headDim, modelKvHeads, type ModelConfig } from './config.ts';

export interface Norm {
  g: Float32Array;
  b: Float32Array;
}

export interface BlockWeights {
  ln1: Norm;
  attn: LogicalParams;
  ln2: Norm;
  fc: Float32Array;
  fcB: Float32Array;
  proj: Float32Array;
  projB: Float32Array;
}

export interface ModelWeights {
  config: ModelConfig;
  /** K/V heads the attention weights have. */
  kvHeads: number;
  wte: Float32Array;
  wpe: Float32Array;
  blocks: BlockWeights[];
  lnf: Norm;
}

/**
 * Options for random weights. Tests use a larger `std` (GPT-2's 0.02 makes a tiny model's
 * greedy output one repeated token) and `biasStd` > 0 for random biases and norms.
 */
export interface RandomOptions {
  seed: number;
  std?: number;
  biasStd?: number;
}

/**
 * Random weights as GPT-2 initialises them: normal(0, 0.02) for embeddings and matrices,
 * 0.02/√(2·layers) for the two residual projections, zero biases, unit LayerNorm.
 * Every tensor has its own seeded stream, so the tensors that two attention types share
 * (everything but K and V) are identical between them.
 */
export function randomWeights(c: ModelConfig, kvHeads: number, o: RandomOptions): ModelWeights {
  const nm = c.hidden;
  const kv = kvHeads * headDim(c);
  let stream = 0;
  const normal = (n: number, std: number) => fastNormals(n, std, (o.seed * 7919 + stream++ * 104729) >>> 0);
  const bstd = o.biasStd ?? 0;
  const bias = (n: number) => (bstd > 0 ? normal(n, bstd) : (stream++, new Float32Array(n)));
  const norm = (): Norm => {
    if (bstd > 0) {
      const g = normal(nm, bstd).map((x) => 1 + x);
      return { g, b: normal(nm, bstd) };
    }
    stream += 2;
    return { g: new Float32Array(nm).fill(1), b: new Float32Array(nm) };
  };
  const std = o.std ?? 0.02;
  const residualStd = std / Math.sqrt(2 * c.layers);
  const wte = normal(c.vocab * nm, std);
  const wpe = normal(c.positions * nm, std);
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    stream = 1000 * (i + 1);
    const ln1 = norm();
    const wq = normal(nm * nm, std);
    const bq = bias(nm);
    const wk = normal(nm * kv, std);
    const bk = bias(kv);
    const wv = normal(nm * kv, std);
    const bv = bias(kv);
    const wo = normal(nm * nm, residualStd);
    const bo = bias(nm);
    const ln2 = norm();
    const fc = normal(nm * c.inner, std);
    const fcB = bias(c.inner);
    const proj = normal(c.inner * nm, residualStd);
    const projB = bias(nm);
    blocks.push({ ln1, attn: { hidden: new Float32Array(0), wq, wk, wv, bq, bk, bv, wo, bo }, ln2, fc, fcB, proj, projB });
  }
  stream = 1000 * (c.layers + 1);
  return { config: c, kvHeads, wte, wpe, blocks, lnf: norm() };
}

/**
 * Change the number of K/V heads of the attention weights: from g heads to a multiple
 * of g, each head is repeated (exactly the same function, as GQA's repeat_kv); to a
 * divisor of g, heads are mean-pooled in groups (the GQA paper's conversion of a
 * multi-head checkpoint: an approximation that changes the model's outputs).
 */
export function convertKvHeads(w: ModelWeights, to: number): ModelWeights {
  const from = w.kvHeads;
  if (from === to) return w;
  const D = headDim(w.config);
  const nm = w.config.hidden;
  if (to % from !== 0 && from % to !== 0) {
    throw new UsageError(`cannot convert ${from} K/V heads to ${to}: neither divides the other`);
  }
  // a [rows, from·D] matrix → [rows, to·D]
  const convert = (m: Float32Array, rows: number): Float32Array => {
    const out = new Float32Array(rows * to * D);
    for (let r = 0; r < rows; r++) {
      const src = r * from * D;
      const dst = r * to * D;
      for (let h = 0; h < to; h++) {
        if (to > from) {
          const s = Math.floor(h / (to / from));
          out.set(m.subarray(src + s * D, src + (s + 1) * D), dst + h * D);
        } else {
          const k = from / to;
          for (let j = 0; j < k; j++) for (let d = 0; d < D; d++) out[dst + h * D + d]! += m[src + (h * k + j) * D + d]! / k;
        }
      }
    }
    return out;
  };
  const blocks = w.blocks.map((b) => ({
    ...b,
    attn: { ...b.attn, wk: convert(b.attn.wk, nm), wv: convert(b.attn.wv, nm), bk: convert(b.attn.bk!, 1), bv: convert(b.attn.bv!, 1) },
  }));
  return { ...w, kvHeads: to, blocks };
}

/** The physical tensors of a model for one attention variant: graph input name → tensor. */
export interface PackedModel {
  config: ModelConfig;
  spec: VariantSpec;
  kvHeads: number;
  tensors: PhysicalTensors;
}

/** Shape the layouts see for `rows` sequences of `seq` positions. */
export const attentionShape = (c: ModelConfig, kvHeads: number, rows: number, seq: number): LayerShape => ({
  batch: rows,
  seq,
  heads: c.heads,
  kvHeads,
  headDim: headDim(c),
});

/**
 * Pack for `spec`: attention tensors as the variant's decode step takes them (q pre-scaled),
 * MLP matrices as they are ([in, out]: the B operands of the products). Large tensors are
 * the logical arrays themselves, not copies.
 */
export function pack(w: ModelWeights, spec: VariantSpec): PackedModel {
  const c = w.config;
  const g = modelKvHeads(c, spec);
  if (g !== w.kvHeads) throw new Error(`weights have ${w.kvHeads} K/V heads, ${spec.kind} needs ${g} (convert first)`);
  const nm = c.hidden;
  const step = stepOf(spec);
  const shape = attentionShape(c, g, 1, 1);
  const t: PhysicalTensors = {
    wte: { dims: [c.vocab, nm], data: w.wte },
    wpe: { dims: [c.positions, nm], data: w.wpe },
    lnf_g: { dims: [nm], data: w.lnf.g },
    lnf_b: { dims: [nm], data: w.lnf.b },
  };
  w.blocks.forEach((b, i) => {
    const p = `h${i}.`;
    t[`${p}ln1_g`] = { dims: [nm], data: b.ln1.g };
    t[`${p}ln1_b`] = { dims: [nm], data: b.ln1.b };
    t[`${p}ln2_g`] = { dims: [nm], data: b.ln2.g };
    t[`${p}ln2_b`] = { dims: [nm], data: b.ln2.b };
    t[`${p}fc`] = { dims: [nm, c.inner], data: b.fc };
    t[`${p}fc_b`] = { dims: [c.inner], data: b.fcB };
    t[`${p}proj`] = { dims: [c.inner, nm], data: b.proj };
    t[`${p}proj_b`] = { dims: [nm], data: b.projB };
    for (const [name, tensor] of Object.entries(step.pack(b.attn, shape))) t[`${p}attn.${name}`] = tensor;
  });
  return { config: c, spec, kvHeads: g, tensors: t };
}
