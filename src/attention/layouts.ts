/**
 * What a variant's layer graph is (`Layout`), and the parts the layouts in `variants/` share.
 *
 * A variant's layer graph is its *layout*: how hidden states and the Q/K/V projection are
 * stored, and how heads are arranged for the two batched matmuls. All of them compute the same
 * logical function (see `params.ts`); they differ in the copies and kernel shapes the
 * engine ends up running, which is what the profiler measures.
 *
 * Stages (node-name prefixes, grouped by the profiler):
 *   seed mode: qkv, split, weights, output
 *   full mode: qkv, split, weights, softmax, output, merge, proj   (fused-gqa has its own)
 */
import type { GraphBuilder } from '../engine/graph.ts';
import type { MatmulShape } from '../roofline/probes.ts';
import { stageFlops } from './cost.ts';
import { matmulAdd, reshape } from './ops.ts';
import { modelDim, type LayerShape, type LogicalParams } from './params.ts';
import type { Mode } from './spec.ts';

export const SEED_STAGES = ['qkv', 'split', 'weights', 'output'] as const;
export const FULL_STAGES = ['qkv', 'split', 'weights', 'softmax', 'output', 'merge', 'proj'] as const;

/** Maps a layout's own tensor names to graph tensor names. */
export type TensorNames = (name: string) => string;
export const same: TensorNames = (k) => k;

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
  /** Whether the full-mode graph reads the causal mask as an input (`mask` [s, s]). */
  maskInput: boolean;
  /** Seed-mode output → logical [batch, heads, seq, headDim]. */
  seedOutputToLogical(out: Float32Array, s: LayerShape): Float32Array;
  /** The seed-mode output's physical shape (what the graph returns, as `--dump` writes it). */
  seedOutputDims(s: LayerShape): number[];
  /** Node-name prefixes the profiler groups by, in order. */
  stages(mode: Mode): readonly string[];
  /** The analytic FLOPs of each of its stages that computes (`cost.ts`), for the stage rates. */
  stageFlops(s: LayerShape, mode: Mode): Record<string, number>;
  /** The products of its q/k/v projection in the form its graph runs them, for the compute probe (src/measure/sweep.ts's runShapes). */
  projections(s: LayerShape): MatmulShape[];
}

/** x·W of a projection with `cols` output columns: [batch·seq, nm] · [nm, cols], W a constant. */
export const projectionProduct = (s: LayerShape, cols: number): MatmulShape => ({ batch: 1, m: s.batch * s.seq, k: modelDim(s), n: cols, constantB: true });

/** One fused q/k/v projection, [nm, (heads + 2·kvHeads)·headDim]. */
export const fusedProjectionProducts = (s: LayerShape): MatmulShape[] => [projectionProduct(s, (s.heads + 2 * s.kvHeads) * s.headDim)];

/** What a layout that computes the scores itself shares: the seed's four stages or the full layer's seven, their FLOPs, the causal mask as an input, one fused q/k/v projection. */
export const UNFUSED_LAYOUT: Pick<Layout, 'stages' | 'stageFlops' | 'maskInput' | 'projections'> = {
  stages: (mode) => (mode === 'seed' ? SEED_STAGES : FULL_STAGES),
  stageFlops,
  maskInput: true,
  projections: fusedProjectionProducts,
};

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
export function fusedProjection(p: LogicalParams, s: LayerShape, mode: Mode): PhysicalTensors {
  const nm = modelDim(s);
  const width = (s.heads + 2 * s.kvHeads) * s.headDim;
  const t: PhysicalTensors = { w_qkv: { dims: [nm, width], data: concatColumns(nm, [p.wq, p.wk, p.wv]) } };
  if (mode === 'full') {
    t.b_qkv = { dims: [width], data: concat([p.bq!, p.bk!, p.bv!]) };
    Object.assign(t, outputProjection(p, s));
  }
  return t;
}

export function outputProjection(p: LogicalParams, s: LayerShape): PhysicalTensors {
  const nm = modelDim(s);
  return { w_o: { dims: [nm, nm], data: p.wo! }, b_o: { dims: [nm], data: p.bo! } };
}

// ---------- graph parts ----------

/** The fused projection [nm, (nh+2g)hs] of hidden states x: its bias in full mode. */
export const qkvProjection = (g: GraphBuilder, n: TensorNames, x: string, mode: Mode) =>
  g.inStage('qkv', () => matmulAdd(g, x, n('w_qkv'), mode === 'full' ? n('b_qkv') : undefined));

/** Pre-scale q by 1/√d in full mode (cheaper than scaling the [s, s] weights). */
export const scaleQ = (g: GraphBuilder, q: string, s: LayerShape, mode: Mode) =>
  mode === 'full' ? g.node('Mul', [q, g.floats([1 / Math.sqrt(s.headDim)], [])]) : q;

/**
 * Causal mask and softmax over `w`, viewed as `view` (whose last two axes must be
 * [query position ..., key position] with the mask broadcast as `maskDims`).
 */
export function maskedSoftmax(
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

/** The output projection of the merged heads. */
export const proj = (g: GraphBuilder, n: TensorNames, merged: string) => g.inStage('proj', () => matmulAdd(g, merged, n('w_o'), n('b_o')));

/** Permute a seed-mode output whose rows are (outer, seq, inner) with head = outer*inner + innerIdx. */
export function rowsToLogical(out: Float32Array, s: LayerShape, outer: number, inner: number, seqMajor: boolean): Float32Array {
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
