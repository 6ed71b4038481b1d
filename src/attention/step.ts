/**
 * One step of a decoder's attention for S new tokens per row against a KV cache of T
 * positions, both free dimensions: a prefill is a step against an empty cache (T = 0), a
 * decode step has S = 1, so one graph (and one session, holding one copy of the weights)
 * serves both. The cache is only read: the new tokens attend to themselves through S extra
 * score columns (one softmax over cache and new columns together), and the step returns
 * their K and V rows for the caller to append in place. Every layout arranges q, K and V
 * its own way, as in its layer graph (its file in `variants/`); weights are the B operands of
 * the products (pre-packed when constant), and q comes pre-scaled in the weights
 * (`preScaled`). Here: what a step builder is, and the parts the variants' steps share —
 * the attention core, written once for every arrangement of q's rows.
 */
import type { GraphBuilder } from '../engine/graph.ts';
import type { Layout, PhysicalTensors, TensorNames } from './layouts.ts';
import { dim, gemm, matmul, reshape, shapeOf, split, transpose } from './ops.ts';
import type { LayerShape, LogicalParams } from './params.ts';

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
  /**
   * A quantized cache that the step reads natively (the fused kernel's own int8/int4 cache:
   * codes in kCache/vCache, static per-channel scales). Every other step gets float32 caches
   * (src/precision/cache-graph.ts dequantizes them before the step).
   */
  quantized?: { bits: 4 | 8; kScale: string; vScale: string };
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
  /** The step's weights from one layer's logical parameters, as `build` names them. */
  pack(p: LogicalParams, s: LayerShape): PhysicalTensors;
  /** Whether rows of different lengths (left-padded prompts) can share a step: the self mask carries the padding. */
  leftPadding: boolean;
}

const TO_END = Number.MAX_SAFE_INTEGER;

/**
 * The attention core for pre-scaled q [rows, G', S·R', hs] against the cache and the new k, v
 * [rows, G', S, hs]. Scores against the cache get its mask; the new tokens' scores get the
 * causal mask (`maskOwn`, which knows how q's rows are ordered); one softmax over both;
 * out = p_cache·V_cache + p_new·v_new.
 */
function core(g: GraphBuilder, io: StepIO, q: string, k: string, v: string, rows: number, maskOwn: (scores: string) => string): string {
  const cached = g.inStage('weights', () => g.node('Add', [matmul(g, q, transpose(g, io.kCache, [0, 1, 3, 2])), reshape(g, io.cacheMask, [rows, 1, 1, -1])]));
  const own = g.inStage('weights', () => maskOwn(matmul(g, q, transpose(g, k, [0, 1, 3, 2]))));
  const [pc, pn] = g.inStage('softmax', () => {
    const p = g.node('Softmax', [g.node('Concat', [cached, own], { axis: -1 })], { axis: -1 });
    const T = dim(g, io.kCache, 2);
    return [g.node('Slice', [p, g.ints([0]), T, g.ints([-1])]), g.node('Slice', [p, T, g.ints([TO_END]), g.ints([-1])])];
  });
  return g.inStage('output', () => g.node('Add', [matmul(g, pc!, io.vCache), matmul(g, pn!, v)]));
}

/**
 * The self mask [rows, S, S] added to scores viewed as `view` ++ [S] (mask axes `axes`
 * inserted to broadcast), then viewed back as `back` ++ [S]. Without a view the scores'
 * rows are the new tokens themselves, one head axis in front.
 */
function selfMasked(g: GraphBuilder, io: StepIO, scores: string, view?: { dims: number[]; axes: number[]; back: number[] }): string {
  if (!view) return g.node('Add', [scores, g.node('Unsqueeze', [io.selfMask, g.ints([1])])]);
  const S = dim(g, io.selfMask, 1);
  const viewed = g.node('Reshape', [scores, shapeOf(g, [view.dims, S])]);
  const masked = g.node('Add', [viewed, g.node('Unsqueeze', [io.selfMask, g.ints(view.axes)])]);
  return g.node('Reshape', [masked, shapeOf(g, [view.back, S])]);
}

/** The core for q rows of a group in (s, r) order: [rows, G, S·R, hs] (the self mask viewed per r when R > 1). */
function coreGrouped(g: GraphBuilder, io: StepIO, q: string, k: string, v: string, s: StepShape): string {
  const { rows: B, heads: H, kvHeads: G } = s;
  const R = H / G;
  // scores [B, G, S·R, S], viewed as [B, G, S, R, S]
  return core(g, io, q, k, v, B, (sc) => selfMasked(g, io, sc, R === 1 ? undefined : { dims: [B, G, -1, R], axes: [1, 3], back: [B, G, -1] }));
}

/** The core for q rows in (h, s) order: [rows, 1, H·S, hs] (Megatron's; the self mask viewed per head). */
export function coreHeadMajor(g: GraphBuilder, io: StepIO, q: string, k: string, v: string, s: StepShape): string {
  const { rows: B, heads: H } = s;
  // scores [B, 1, H·S, S], viewed as [B, H, S, S]
  return core(g, io, q, k, v, B, (sc) => selfMasked(g, io, sc, { dims: [B, H, -1], axes: [1], back: [B, 1, -1] }));
}

/** [rows·S, G·w] → [rows, G, S, w]. */
const headsOf = (g: GraphBuilder, x: string, B: number, G: number, w: number) => transpose(g, reshape(g, x, [B, -1, G, w]), [0, 2, 1, 3]);

/** The output projection of merged heads, in the `proj` stage. */
export const stepProj = (g: GraphBuilder, n: TensorNames, merged: string) => g.inStage('proj', () => gemm(g, merged, n('w_o'), n('b_o')));

/**
 * Layouts whose projection gives q, k, v as [rows·S, H·hs], [rows·S, G·hs] (batch-major):
 * multi-head (G = H), grouped-query, multi-query-1 (G = 1: q is a free reshape) and
 * multi-query-separate. q rows of a group are (s, r): [rows, G, S, R·hs] → [rows, G, S·R, hs].
 */
export function groupedStep(g: GraphBuilder, n: TensorNames, s: StepShape, io: StepIO, q0: string, k0: string, v0: string): StepOutputs {
  const { rows: B, heads: H, kvHeads: G, headDim: D } = s;
  const R = H / G;
  const [q, k, v] = g.inStage('split', () => [
    G === 1 ? reshape(g, q0, [B, 1, -1, D]) : reshape(g, headsOf(g, q0, B, G, R * D), [B, G, -1, D]),
    headsOf(g, k0, B, G, D),
    headsOf(g, v0, B, G, D),
  ]);
  const o = coreGrouped(g, io, q!, k!, v!, s);
  const merged = g.inStage('merge', () =>
    G === 1 ? reshape(g, o, [-1, H * D]) : reshape(g, transpose(g, reshape(g, o, [B, G, -1, R * D]), [0, 2, 1, 3]), [-1, H * D]),
  );
  return { out: stepProj(g, n, merged), k: reshape(g, k0, [B, -1, G * D]), v: reshape(g, v0, [B, -1, G * D]) };
}

/** q, k, v from one fused projection [nm, (H+2G)·hs]: [rows·S, H·hs], [rows·S, G·hs] twice. */
export function fusedStepProjection(g: GraphBuilder, n: TensorNames, x: string, s: StepShape): string[] {
  const { heads: H, kvHeads: G, headDim: D } = s;
  const qkv = g.inStage('qkv', () => gemm(g, x, n('w_qkv'), n('b_qkv')));
  return g.inStage('split', () => split(g, qkv, 1, [H * D, G * D, G * D]));
}

/**
 * The step's weights: the layout's full-mode packing, with q's projection (weights and bias)
 * pre-scaled by 1/√hs so no Mul sits next to a MatMul (the engine would fold it into the
 * MatMul's alpha and leave its fast path).
 */
export const preScaled = (layout: Layout) => (p: LogicalParams, s: LayerShape): PhysicalTensors => {
  const scale = 1 / Math.sqrt(s.headDim);
  return layout.pack({ ...p, wq: p.wq.map((x) => x * scale), bq: p.bq!.map((x) => x * scale) }, s, 'full');
};

/** The step of a layout with one fused projection: split, the grouped core, the output projection. */
export const fusedGroupedStep = (layout: Layout): StepBuilder => ({
  order: 'bsm',
  build(g, x, s, io, n) {
    const [q, k, v] = fusedStepProjection(g, n, x, s);
    return groupedStep(g, n, s, io, q!, k!, v!);
  },
  pack: preScaled(layout),
  leftPadding: true,
});
