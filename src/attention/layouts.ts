/**
 * The attention variants as ONNX graph builders.
 *
 * Each variant is a *layout*: how hidden states and the Q/K/V projection are stored,
 * and how heads are arranged for the two batched matmuls. All of them compute the same
 * logical function (see `params.ts`); they differ in the copies and kernel shapes the
 * engine ends up running, which is what the profiler measures.
 *
 * Stages (node-name prefixes, grouped by the profiler):
 *   seed mode: qkv, split, weights, output
 *   full mode: qkv, split, weights, softmax, output, merge, proj   (fused: qkv, split, attention, proj)
 */
import { GraphBuilder, MS_DOMAIN } from '../engine/graph.ts';
import { modelDim, type LayerShape, type LogicalParams } from './params.ts';
import type { Mode, VariantKind, VariantSpec } from './spec.ts';

export const SEED_STAGES = ['qkv', 'split', 'weights', 'output'] as const;
export const FULL_STAGES = ['qkv', 'split', 'weights', 'softmax', 'output', 'merge', 'proj'] as const;
export const FUSED_STAGES = ['qkv', 'split', 'attention', 'proj'] as const;

/** Maps a layout's own tensor names to graph tensor names. */
export type TensorNames = (name: string) => string;
const same: TensorNames = (k) => k;

/** Physical tensors of one variant: name → [dims, data]. */
export type PhysicalTensors = Record<string, { dims: number[]; data: Float32Array }>;

export interface Layout {
  /** Hidden states as [batch, seq, nm] (`bsm`, Hugging Face) or [seq, batch, nm] (`sbm`, Megatron). */
  hiddenOrder: 'bsm' | 'sbm';
  /** Pack logical parameters into this variant's graph inputs. */
  pack(p: LogicalParams, s: LayerShape, mode: Mode): PhysicalTensors;
  /**
   * Add the attention computation reading hidden state `x`; returns the output tensor name.
   * `n` maps this layout's tensor names (`w_qkv`, `b_o`, `mask`, ...) to graph inputs, so a
   * graph can give each layer its own weights.
   */
  build(g: GraphBuilder, x: string, s: LayerShape, mode: Mode, n?: TensorNames): string;
  /** Seed-mode output → logical [batch, heads, seq, headDim]. */
  seedOutputToLogical(out: Float32Array, s: LayerShape): Float32Array;
  stages(mode: Mode): readonly string[];
}

// ---------- packing helpers ----------

/** Concatenate row-major matrices [rows, c_i] along columns. */
function concatColumns(rows: number, parts: Float32Array[]): Float32Array {
  const widths = parts.map((p) => p.length / rows);
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let off = r * total;
    parts.forEach((p, i) => {
      out.set(p.subarray(r * widths[i]!, (r + 1) * widths[i]!), off);
      off += widths[i]!;
    });
  }
  return out;
}

const concat = (parts: Float32Array[]) => concatColumns(1, parts);

/** Projection weights and (full mode) the output projection, shared by most layouts. */
function fusedProjection(p: LogicalParams, s: LayerShape, mode: Mode): PhysicalTensors {
  const nm = modelDim(s);
  const width = (s.heads + 2 * s.kvHeads) * s.headDim;
  const t: PhysicalTensors = { w_qkv: { dims: [nm, width], data: concatColumns(nm, [p.wq, p.wk, p.wv]) } };
  if (mode === 'full') {
    t.b_qkv = { dims: [width], data: concat([p.bq!, p.bk!, p.bv!]) };
    Object.assign(t, outputProjection(p, s));
  }
  return t;
}

function outputProjection(p: LogicalParams, s: LayerShape): PhysicalTensors {
  const nm = modelDim(s);
  return { w_o: { dims: [nm, nm], data: p.wo! }, b_o: { dims: [nm], data: p.bo! } };
}

// ---------- graph helpers ----------

const reshape = (g: GraphBuilder, x: string, dims: number[]) => g.node('Reshape', [x, g.ints(dims)]);
const transpose = (g: GraphBuilder, x: string, perm: number[]) => g.node('Transpose', [x], { perm });
const matmul = (g: GraphBuilder, a: string, b: string) => g.node('MatMul', [a, b]);
const split = (g: GraphBuilder, x: string, axis: number, sizes: number[]) =>
  g.nodeMulti('Split', [x, g.ints(sizes)], { axis }, { outputs: sizes.length });

/** `x @ w (+ b)`: a projection in the current stage. */
function linear(g: GraphBuilder, x: string, w: string, b: string | undefined): string {
  const y = matmul(g, x, w);
  return b ? g.node('Add', [y, b]) : y;
}

/** Pre-scale q by 1/√d in full mode (cheaper than scaling the [s, s] weights). */
const scaleQ = (g: GraphBuilder, q: string, s: LayerShape, mode: Mode) =>
  mode === 'full' ? g.node('Mul', [q, g.floats([1 / Math.sqrt(s.headDim)], [])]) : q;

/**
 * Causal mask and softmax over `w`, viewed as `view` (whose last two axes must be
 * [query position ..., key position] with the mask broadcast as `maskDims`).
 */
function maskedSoftmax(
  g: GraphBuilder,
  n: TensorNames,
  w: string,
  wDims: number[],
  view: number[] | null,
  maskDims: number[],
): string {
  return g.inStage('softmax', () => {
    const v = view ? reshape(g, w, view) : w;
    const m = reshape(g, n('mask'), maskDims);
    const p = g.node('Softmax', [g.node('Add', [v, m])], { axis: -1 });
    return view ? reshape(g, p, wDims) : p;
  });
}

const proj = (g: GraphBuilder, n: TensorNames, merged: string) => g.inStage('proj', () => linear(g, merged, n('w_o'), n('b_o')));

/** Permute a seed-mode output whose rows are (outer, seq, inner) with head = outer*inner + innerIdx. */
function rowsToLogical(out: Float32Array, s: LayerShape, outer: number, inner: number, seqMajor: boolean): Float32Array {
  const { batch: B, seq: S, headDim: D } = s;
  const H = outer * inner;
  const res = new Float32Array(out.length);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < S; i++)
        for (let j = 0; j < inner; j++) {
          // physical row within (b, o): seqMajor → i*inner + j, else j*S + i
          const row = seqMajor ? i * inner + j : j * S + i;
          const src = ((b * outer + o) * S * inner + row) * D;
          const dst = ((b * H + o * inner + j) * S + i) * D;
          res.set(out.subarray(src, src + D), dst);
        }
  return res;
}

// ---------- the layouts ----------

/**
 * What the batch-major layouts with one fused projection [nm, (nh+2g)hs] share: the
 * packing, the seed's or the full stages, and the decode step (q, k, v split from one
 * projection, then the grouped decode core). They differ in how `build` arranges heads.
 */
const fusedBsm: Omit<Layout, 'build' | 'seedOutputToLogical'> = {
  hiddenOrder: 'bsm',
  pack: fusedProjection,
  stages: (mode) => (mode === 'seed' ? SEED_STAGES : FULL_STAGES),
};

/** `multi-head`: Hugging Face GPT-2. q, v → [b, nh, s, hs], k pre-transposed → [b, nh, hs, s]. */
const multiHead: Layout = {
  ...fusedBsm,
  build(g, x, s, mode, n = same) {
    const { batch: B, seq: S, heads: H, headDim: D } = s;
    const nm = modelDim(s);
    const qkv = g.inStage('qkv', () => linear(g, x, n('w_qkv'), mode === 'full' ? n('b_qkv') : undefined));
    const [q, k, v] = g.inStage('split', () => {
      const [q0, k0, v0] = split(g, qkv, 2, [nm, nm, nm]);
      return [
        transpose(g, reshape(g, scaleQ(g, q0!, s, mode), [B, S, H, D]), [0, 2, 1, 3]),
        transpose(g, reshape(g, k0!, [B, S, H, D]), [0, 2, 3, 1]),
        transpose(g, reshape(g, v0!, [B, S, H, D]), [0, 2, 1, 3]),
      ];
    });
    let w = g.inStage('weights', () => matmul(g, q!, k!));
    if (mode === 'full') w = maskedSoftmax(g, n, w, [B, H, S, S], null, [S, S]);
    const o = g.inStage('output', () => matmul(g, w, v!));
    if (mode === 'seed') return o;
    return proj(g, n, g.inStage('merge', () => reshape(g, transpose(g, o, [0, 2, 1, 3]), [B, S, nm])));
  },
  seedOutputToLogical: (out) => out,
};

/**
 * `multi-query`: Megatron order. Hidden [s, b, nm]; projection stored [(nh+2)hs, nm] and
 * applied as W·Hᵀ (one Gemm); q rows are (hs, nh)-ordered as in the seed's view(hs, nh, sl, bs).
 */
const multiQuery: Layout = {
  hiddenOrder: 'sbm',
  stages: (mode) => (mode === 'seed' ? SEED_STAGES : FULL_STAGES),
  pack(p, s, mode) {
    const nm = modelDim(s);
    const { heads: H, headDim: D } = s;
    const rows = (H + 2) * D;
    const w = new Float32Array(rows * nm);
    const b = new Float32Array(rows);
    for (let i = 0; i < nm; i++) {
      for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) w[(d * H + h) * nm + i] = p.wq[i * nm + h * D + d]!;
      for (let d = 0; d < D; d++) {
        w[(H * D + d) * nm + i] = p.wk[i * D + d]!;
        w[((H + 1) * D + d) * nm + i] = p.wv[i * D + d]!;
      }
    }
    const t: PhysicalTensors = { w_qkv: { dims: [rows, nm], data: w } };
    if (mode === 'full') {
      for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) b[d * H + h] = p.bq![h * D + d]!;
      b.set(p.bk!, H * D);
      b.set(p.bv!, (H + 1) * D);
      t.b_qkv = { dims: [rows, 1], data: b };
      Object.assign(t, outputProjection(p, s));
    }
    return t;
  },
  build(g, x, s, mode, n = same) {
    const { batch: B, seq: S, heads: H, headDim: D } = s;
    const nm = modelDim(s);
    const qkv = g.inStage('qkv', () => {
      const inputs = [n('w_qkv'), reshape(g, x, [S * B, nm]), ...(mode === 'full' ? [n('b_qkv')] : [])];
      return g.node('Gemm', inputs, { transB: 1 });
    });
    const [q, k, v] = g.inStage('split', () => {
      const [q0, k0, v0] = split(g, qkv, 0, [H * D, D, D]);
      return [
        reshape(g, transpose(g, reshape(g, scaleQ(g, q0!, s, mode), [D, H, S, B]), [3, 1, 2, 0]), [B, H * S, D]),
        transpose(g, reshape(g, k0!, [D, S, B]), [2, 0, 1]),
        transpose(g, reshape(g, v0!, [D, S, B]), [2, 1, 0]),
      ];
    });
    let w = g.inStage('weights', () => matmul(g, q!, k!));
    if (mode === 'full') w = maskedSoftmax(g, n, w, [B, H * S, S], [B, H, S, S], [S, S]);
    const o = g.inStage('output', () => matmul(g, w, v!));
    if (mode === 'seed') return o;
    return proj(g, n, g.inStage('merge', () => reshape(g, transpose(g, reshape(g, o, [B, H, S, D]), [2, 0, 1, 3]), [S, B, nm])));
  },
  // rows are (nh, sl): head-major, which is already the logical [b, h, s, d]
  seedOutputToLogical: (out) => out,
};

/**
 * The `multi-query-1` attention core after the projection: q [b, s·nh, hs] (rows in
 * (sl, nh) order, a free reshape), k → [b, hs, s], v stays [b, s, hs]. Shared with
 * `multi-query-separate`, which differs only in how q, k and v are projected.
 */
function mqa1Core(g: GraphBuilder, n: TensorNames, q0: string, k0: string, v0: string, s: LayerShape, mode: Mode): string {
  const { batch: B, seq: S, heads: H, headDim: D } = s;
  const [q, k] = g.inStage('split', () => [reshape(g, scaleQ(g, q0, s, mode), [B, S * H, D]), transpose(g, k0, [0, 2, 1])]);
  let w = g.inStage('weights', () => matmul(g, q!, k!));
  if (mode === 'full') w = maskedSoftmax(g, n, w, [B, S * H, S], [B, S, H, S], [S, 1, S]);
  const o = g.inStage('output', () => matmul(g, w, v0));
  if (mode === 'seed') return o;
  return proj(g, n, g.inStage('merge', () => reshape(g, o, [B, S, modelDim(s)])));
}

const mqa1ToLogical = (out: Float32Array, s: LayerShape) => rowsToLogical(out, s, 1, s.heads, true);

/** `multi-query-1`: Hugging Face order, one fused projection [nm, (nh+2)hs]. */
const multiQuery1: Layout = {
  ...fusedBsm,
  build(g, x, s, mode, n = same) {
    const nm = modelDim(s);
    const qkv = g.inStage('qkv', () => linear(g, x, n('w_qkv'), mode === 'full' ? n('b_qkv') : undefined));
    const [q, k, v] = g.inStage('split', () => split(g, qkv, 2, [nm, s.headDim, s.headDim]));
    return mqa1Core(g, n, q!, k!, v!, s, mode);
  },
  seedOutputToLogical: mqa1ToLogical,
};

/** `multi-query-separate`: the seed's TODO — three projections instead of one fused matmul. */
const multiQuerySeparate: Layout = {
  hiddenOrder: 'bsm',
  stages: (mode) => (mode === 'seed' ? SEED_STAGES : FULL_STAGES),
  pack(p, s, mode) {
    const nm = modelDim(s);
    const D = s.headDim;
    const t: PhysicalTensors = {
      w_q: { dims: [nm, nm], data: p.wq },
      w_k: { dims: [nm, D], data: p.wk },
      w_v: { dims: [nm, D], data: p.wv },
    };
    if (mode === 'full') {
      Object.assign(t, { b_q: { dims: [nm], data: p.bq! }, b_k: { dims: [D], data: p.bk! }, b_v: { dims: [D], data: p.bv! } });
      Object.assign(t, outputProjection(p, s));
    }
    return t;
  },
  build(g, x, s, mode, n = same) {
    const bias = (b: string) => (mode === 'full' ? n(b) : undefined);
    const [q, k, v] = g.inStage('qkv', () => [
      linear(g, x, n('w_q'), bias('b_q')),
      linear(g, x, n('w_k'), bias('b_k')),
      linear(g, x, n('w_v'), bias('b_v')),
    ]);
    return mqa1Core(g, n, q!, k!, v!, s, mode);
  },
  seedOutputToLogical: mqa1ToLogical,
};

/**
 * `grouped-query:g`: g K/V heads, each shared by r = nh/g consecutive query heads. The r
 * heads of a group are folded into the row axis (as MQA-1 folds all nh), so K and V are
 * never repeated: q [b, g, s·r, hs], k [b, g, hs, s], v [b, g, s, hs].
 */
const groupedQuery: Layout = {
  ...fusedBsm,
  build(g, x, s, mode, n = same) {
    const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
    const R = H / G;
    const nm = modelDim(s);
    const qkv = g.inStage('qkv', () => linear(g, x, n('w_qkv'), mode === 'full' ? n('b_qkv') : undefined));
    const [q, k, v] = g.inStage('split', () => {
      const [q0, k0, v0] = split(g, qkv, 2, [nm, G * D, G * D]);
      return [
        reshape(g, transpose(g, reshape(g, scaleQ(g, q0!, s, mode), [B, S, G, R * D]), [0, 2, 1, 3]), [B, G, S * R, D]),
        transpose(g, reshape(g, k0!, [B, S, G, D]), [0, 2, 3, 1]),
        transpose(g, reshape(g, v0!, [B, S, G, D]), [0, 2, 1, 3]),
      ];
    });
    let w = g.inStage('weights', () => matmul(g, q!, k!));
    if (mode === 'full') w = maskedSoftmax(g, n, w, [B, G, S * R, S], [B, G, S, R, S], [S, 1, S]);
    const o = g.inStage('output', () => matmul(g, w, v!));
    if (mode === 'seed') return o;
    return proj(g, n, g.inStage('merge', () => reshape(g, transpose(g, reshape(g, o, [B, G, S, R * D]), [0, 2, 1, 3]), [B, S, nm])));
  },
  seedOutputToLogical: (out, s) => rowsToLogical(out, s, s.kvHeads, s.heads / s.kvHeads, true),
};

/**
 * `fused-gqa:g`: ONNX Runtime's own `com.microsoft.GroupQueryAttention` kernel (causal,
 * scale 1/√d, heads merged in its output) between the same projections.
 */
const fusedGqa: Layout = {
  hiddenOrder: 'bsm',
  pack: fusedProjection,
  stages: () => FUSED_STAGES,
  build(g, x, s, _mode, n = same) {
    const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
    const qkv = g.inStage('qkv', () => linear(g, x, n('w_qkv'), n('b_qkv')));
    const [q, k, v] = g.inStage('split', () => split(g, qkv, 2, [H * D, G * D, G * D]));
    const o = g.inStage('attention', () => {
      const seqlensK = g.constant('int32', new Array<number>(B).fill(S - 1), [B]);
      const total = g.constant('int32', [S], []);
      return g.nodeMulti('GroupQueryAttention', [q!, k!, v!, '', '', seqlensK, total], { num_heads: H, kv_num_heads: G }, { domain: MS_DOMAIN, outputs: 3 })[0]!;
    });
    return proj(g, n, o);
  },
  seedOutputToLogical: () => {
    throw new Error('fused-gqa has no seed mode');
  },
};

export const LAYOUTS: Readonly<Record<VariantKind, Layout>> = {
  'multi-head': multiHead,
  'multi-query': multiQuery,
  'multi-query-1': multiQuery1,
  'grouped-query': groupedQuery,
  'multi-query-separate': multiQuerySeparate,
  'fused-gqa': fusedGqa,
};

export const layoutOf = (spec: VariantSpec): Layout => LAYOUTS[spec.kind];
