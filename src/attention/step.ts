/**
 * One step of a decoder's attention for S new tokens per row against a KV cache of T
 * positions, both free dimensions: a prefill is a step against an empty cache (T = 0), a
 * decode step has S = 1, so one graph (and one session, holding one copy of the weights)
 * serves both. The cache is only read: the new tokens attend to themselves through S extra
 * score columns (one softmax over cache and new columns together), and the step returns
 * their K and V rows for the caller to append in place. Every layout arranges q, K and V
 * its own way, as in its layer graph (`layouts.ts`); weights are the B operands of the
 * products (pre-packed when constant), and q comes pre-scaled in the weights (`packStep`).
 */
import { GraphBuilder, MS_DOMAIN } from '../engine/graph.ts';
import type { Layout, PhysicalTensors, TensorNames } from './layouts.ts';
import type { LayerShape, LogicalParams } from './params.ts';
import type { VariantKind } from './spec.ts';

export interface StepShape {
  rows: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** Graph inputs the step reads besides the weights. */
export interface StepIO {
  /** [rows, G, T, hs] */
  kCache: string;
  vCache: string;
  /** Additive [rows, T]: 0 where a cached position is live. */
  cacheMask: string;
  /** Additive [rows, S, S]: causal, plus padding of the new tokens. */
  selfMask: string;
  /** Fused kernel only: int32 [rows] (live keys after this step − 1) and int32 scalar. */
  seqlensK: string;
  totalLength: string;
}

export interface StepOutputs {
  /** [rows·S, nm] in the layout's hidden order. */
  out: string;
  /** The new tokens' K and V, batch-major [rows, S, G·hs]. */
  k: string;
  v: string;
}

/** Hidden states of a step: batch-major [rows·S, nm], or sequence-major [S·rows, nm] (Megatron). */
export type StepOrder = 'bsm' | 'sbm';

export interface StepBuilder {
  order: StepOrder;
  build(g: GraphBuilder, x: string, s: StepShape, io: StepIO, n: TensorNames): StepOutputs;
}

const TO_END = Number.MAX_SAFE_INTEGER;
const reshape = (g: GraphBuilder, x: string, dims: readonly number[]) => g.node('Reshape', [x, g.ints(dims)]);
const transpose = (g: GraphBuilder, x: string, perm: number[]) => g.node('Transpose', [x], { perm });
const matmul = (g: GraphBuilder, a: string, b: string) => g.node('MatMul', [a, b]);
/** One axis of a tensor's shape as a 1-element int64 tensor. */
const dim = (g: GraphBuilder, x: string, axis: number) => g.node('Shape', [x], { start: axis, end: axis + 1 });
/** A shape made of constants and 1-element dims. */
const shapeOf = (g: GraphBuilder, parts: (number[] | string)[]) =>
  g.node('Concat', parts.map((p) => (typeof p === 'string' ? p : g.ints(p))), { axis: 0 });

/** x·W (+ b) with W [in, out] a constant in the engine's B operand: pre-packed at session creation. */
const linear = (g: GraphBuilder, x: string, w: string, b: string) => g.node('Gemm', [x, w, b]);

/**
 * The attention core for q [rows, G, S·R, hs] (rows of a group in (s, r) order, pre-scaled),
 * the new k, v [rows, G, S, hs]. Scores against the cache get its mask; the new tokens'
 * scores get the causal mask; one softmax over both; out = p_cache·V_cache + p_new·v_new.
 */
function core(g: GraphBuilder, io: StepIO, q: string, k: string, v: string, s: StepShape): string {
  const { rows: B, heads: H, kvHeads: G } = s;
  const R = H / G;
  const cached = g.inStage('weights', () => g.node('Add', [matmul(g, q, transpose(g, io.kCache, [0, 1, 3, 2])), reshape(g, io.cacheMask, [B, 1, 1, -1])]));
  const own = g.inStage('weights', () => {
    const sc = matmul(g, q, transpose(g, k, [0, 1, 3, 2])); // [B, G, S·R, S]
    if (R === 1) return g.node('Add', [sc, g.node('Unsqueeze', [io.selfMask, g.ints([1])])]);
    const S = dim(g, io.selfMask, 1);
    const view = g.node('Reshape', [sc, shapeOf(g, [[B, G, -1, R], S])]); // [B, G, S, R, S]
    const masked = g.node('Add', [view, g.node('Unsqueeze', [io.selfMask, g.ints([1, 3])])]);
    return g.node('Reshape', [masked, shapeOf(g, [[B, G, -1], S])]);
  });
  const [pc, pn] = g.inStage('softmax', () => {
    const p = g.node('Softmax', [g.node('Concat', [cached, own], { axis: -1 })], { axis: -1 });
    const T = dim(g, io.kCache, 2);
    return [g.node('Slice', [p, g.ints([0]), T, g.ints([-1])]), g.node('Slice', [p, T, g.ints([TO_END]), g.ints([-1])])];
  });
  return g.inStage('output', () => g.node('Add', [matmul(g, pc!, io.vCache), matmul(g, pn!, v)]));
}

/** [rows·S, G·w] → [rows, G, S, w]. */
const headsOf = (g: GraphBuilder, x: string, B: number, G: number, w: number) => transpose(g, reshape(g, x, [B, -1, G, w]), [0, 2, 1, 3]);

/**
 * Layouts whose projection gives q, k, v as [rows·S, H·hs], [rows·S, G·hs] (batch-major):
 * multi-head (G = H), grouped-query, multi-query-1 (G = 1: q is a free reshape) and
 * multi-query-separate. q rows of a group are (s, r): [rows, G, S, R·hs] → [rows, G, S·R, hs].
 */
function groupedStep(g: GraphBuilder, n: TensorNames, s: StepShape, io: StepIO, q0: string, k0: string, v0: string): StepOutputs {
  const { rows: B, heads: H, kvHeads: G, headDim: D } = s;
  const R = H / G;
  const [q, k, v] = g.inStage('split', () => [
    G === 1 ? reshape(g, q0, [B, 1, -1, D]) : reshape(g, headsOf(g, q0, B, G, R * D), [B, G, -1, D]),
    headsOf(g, k0, B, G, D),
    headsOf(g, v0, B, G, D),
  ]);
  const o = core(g, io, q!, k!, v!, s);
  const merged = g.inStage('merge', () =>
    G === 1 ? reshape(g, o, [-1, H * D]) : reshape(g, transpose(g, reshape(g, o, [B, G, -1, R * D]), [0, 2, 1, 3]), [-1, H * D]),
  );
  return { out: g.inStage('proj', () => linear(g, merged, n('w_o'), n('b_o'))), k: reshape(g, k0, [B, -1, G * D]), v: reshape(g, v0, [B, -1, G * D]) };
}

function fusedProjection(g: GraphBuilder, n: TensorNames, x: string, s: StepShape): string[] {
  const { heads: H, kvHeads: G, headDim: D } = s;
  const qkv = g.inStage('qkv', () => linear(g, x, n('w_qkv'), n('b_qkv')));
  return g.inStage('split', () => g.nodeMulti('Split', [qkv, g.ints([H * D, G * D, G * D])], { axis: 1 }, { outputs: 3 }));
}

const grouped: StepBuilder = {
  order: 'bsm',
  build(g, x, s, io, n) {
    const [q, k, v] = fusedProjection(g, n, x, s);
    return groupedStep(g, n, s, io, q!, k!, v!);
  },
};

const separate: StepBuilder = {
  order: 'bsm',
  build(g, x, s, io, n) {
    const [q, k, v] = g.inStage('qkv', () => [linear(g, x, n('w_q'), n('b_q')), linear(g, x, n('w_k'), n('b_k')), linear(g, x, n('w_v'), n('b_v'))]);
    return groupedStep(g, n, s, io, q!, k!, v!);
  },
};

/**
 * Megatron's multi-query: hidden [S·rows, nm], projection stored [(nh+2)hs, nm] (q rows in the
 * seed's (hs, nh) order), here as the Gemm's transposed B operand so it is pre-packed.
 */
const megatron: StepBuilder = {
  order: 'sbm',
  build(g, x, s, io, n) {
    const { rows: B, heads: H, headDim: D } = s;
    const qkv = g.inStage('qkv', () => g.node('Gemm', [x, n('w_qkv'), n('b_qkv_row')], { transB: 1 }));
    const [q, k, v, kRows, vRows] = g.inStage('split', () => {
      const [q0, k0, v0] = g.nodeMulti('Split', [qkv, g.ints([H * D, D, D])], { axis: 1 }, { outputs: 3 });
      // q [S·B, (d, h)] → [B, 1, H·S, D], rows in (h, s) order as the layer's layout
      const qh = reshape(g, transpose(g, reshape(g, q0!, [-1, B, D, H]), [1, 3, 0, 2]), [B, 1, -1, D]);
      const kr = transpose(g, reshape(g, k0!, [-1, B, D]), [1, 0, 2]); // [B, S, D]
      const vr = transpose(g, reshape(g, v0!, [-1, B, D]), [1, 0, 2]);
      return [qh, g.node('Unsqueeze', [kr, g.ints([1])]), g.node('Unsqueeze', [vr, g.ints([1])]), kr, vr];
    });
    const o = coreHeadMajor(g, io, q!, k!, v!, s);
    // o [B, 1, H·S, D] rows (h, s) → [S, B, H, D] → [S·B, nm]
    const merged = g.inStage('merge', () => reshape(g, transpose(g, reshape(g, o, [B, H, -1, D]), [2, 0, 1, 3]), [-1, H * D]));
    return { out: g.inStage('proj', () => linear(g, merged, n('w_o'), n('b_o'))), k: kRows!, v: vRows! };
  },
};

/** The core for q rows in (h, s) order: [rows, 1, H·S, hs] (the self mask is viewed per head). */
function coreHeadMajor(g: GraphBuilder, io: StepIO, q: string, k: string, v: string, s: StepShape): string {
  const { rows: B, heads: H } = s;
  const cached = g.inStage('weights', () => g.node('Add', [matmul(g, q, transpose(g, io.kCache, [0, 1, 3, 2])), reshape(g, io.cacheMask, [B, 1, 1, -1])]));
  const own = g.inStage('weights', () => {
    const sc = matmul(g, q, transpose(g, k, [0, 1, 3, 2])); // [B, 1, H·S, S]
    const S = dim(g, io.selfMask, 1);
    const view = g.node('Reshape', [sc, shapeOf(g, [[B, H, -1], S])]); // [B, H, S, S]
    const masked = g.node('Add', [view, g.node('Unsqueeze', [io.selfMask, g.ints([1])])]);
    return g.node('Reshape', [masked, shapeOf(g, [[B, 1, -1], S])]);
  });
  const [pc, pn] = g.inStage('softmax', () => {
    const p = g.node('Softmax', [g.node('Concat', [cached, own], { axis: -1 })], { axis: -1 });
    const T = dim(g, io.kCache, 2);
    return [g.node('Slice', [p, g.ints([0]), T, g.ints([-1])]), g.node('Slice', [p, T, g.ints([TO_END]), g.ints([-1])])];
  });
  return g.inStage('output', () => g.node('Add', [matmul(g, pc!, io.vCache), matmul(g, pn!, v)]));
}

/** ONNX Runtime's GroupQueryAttention kernel reads the cache as `past` (no left padding). */
const fused: StepBuilder = {
  order: 'bsm',
  build(g, x, s, io, n) {
    const { rows: B, heads: H, kvHeads: G, headDim: D } = s;
    const [q, k, v] = fusedProjection(g, n, x, s);
    const o = g.inStage('attention', () => {
      const as3 = (t: string, w: number) => reshape(g, t, [B, -1, w]);
      const inputs = [as3(q!, H * D), as3(k!, G * D), as3(v!, G * D), io.kCache, io.vCache, io.seqlensK, io.totalLength];
      return g.nodeMulti('GroupQueryAttention', inputs, { num_heads: H, kv_num_heads: G }, { domain: MS_DOMAIN, outputs: 3 })[0]!;
    });
    const merged = g.inStage('proj', () => reshape(g, o, [-1, H * D]));
    return { out: g.inStage('proj', () => linear(g, merged, n('w_o'), n('b_o'))), k: reshape(g, k!, [B, -1, G * D]), v: reshape(g, v!, [B, -1, G * D]) };
  },
};

export const STEP_BUILDERS: Readonly<Record<VariantKind, StepBuilder>> = {
  'multi-head': grouped,
  'multi-query': megatron,
  'multi-query-1': grouped,
  'grouped-query': grouped,
  'multi-query-separate': separate,
  'fused-gqa': fused,
};

/**
 * The step's weights: the layout's full-mode packing, with q's projection (weights and bias)
 * pre-scaled by 1/√hs so no Mul sits next to a MatMul (the engine would fold it into the
 * MatMul's alpha and leave its fast path), and Megatron's column bias as a row vector.
 */
export function packStep(layout: Layout, kind: VariantKind, p: LogicalParams, s: LayerShape): PhysicalTensors {
  // the fused kernel scales q itself
  const scale = kind === 'fused-gqa' ? 1 : 1 / Math.sqrt(s.headDim);
  const scaled: LogicalParams = { ...p, wq: p.wq.map((x) => x * scale), bq: p.bq!.map((x) => x * scale) };
  const t = layout.pack(scaled, s, 'full');
  if (kind === 'multi-query') {
    const b = t.b_qkv!;
    delete t.b_qkv;
    t.b_qkv_row = { dims: [b.dims[0]!], data: b.data };
  }
  return t;
}
