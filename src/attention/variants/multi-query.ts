/**
 * `multi-query`: the seed's MultiQuery, in Megatron's order. Hidden [s, b, nm]; the
 * projection stored [(nh+2)hs, nm] and applied as W·Hᵀ (one Gemm); q rows are (hs, nh)-ordered
 * as in the seed's view(hs, nh, sl, bs). Its decode step keeps the order: hidden [S·rows, nm],
 * the projection as the Gemm's transposed B operand (pre-packed), its bias a row vector.
 */
import { maskedSoftmax, outputProjection, proj, same, scaleQ, UNFUSED_LAYOUT, type Layout, type PhysicalTensors } from '../layouts.ts';
import { gemm, matmul, reshape, split, transpose } from '../ops.ts';
import { modelDim, type LayerShape, type LogicalParams } from '../params.ts';
import type { Mode } from '../spec.ts';
import { coreHeadMajor, preScaled, stepProj, type StepBuilder } from '../step.ts';
import type { Variant } from '../variant.ts';

/** [(nh+2)hs, nm]: q's rows in the seed's (hs, nh) order, then k's and v's. */
function pack(p: LogicalParams, s: LayerShape, mode: Mode): PhysicalTensors {
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
}

const layout: Layout = {
  ...UNFUSED_LAYOUT,
  hiddenOrder: 'sbm',
  pack,
  // one Gemm with the weight first, W·Hᵀ: a different kernel than x·W
  projections: (s) => [{ batch: 1, m: (s.heads + 2) * s.headDim, k: modelDim(s), n: s.batch * s.seq, constantB: true, weightFirst: true }],
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
  seedOutputDims: (s) => [s.batch, s.heads * s.seq, s.headDim],
};

const step: StepBuilder = {
  order: 'sbm',
  build(g, x, s, io, n) {
    const { rows: B, heads: H, headDim: D } = s;
    const qkv = g.inStage('qkv', () => gemm(g, x, n('w_qkv'), n('b_qkv_row'), true));
    const [q, k, v, kRows, vRows] = g.inStage('split', () => {
      const [q0, k0, v0] = split(g, qkv, 1, [H * D, D, D]);
      // q [S·B, (d, h)] → [B, 1, H·S, D], rows in (h, s) order as the layer's layout
      const qh = reshape(g, transpose(g, reshape(g, q0!, [-1, B, D, H]), [1, 3, 0, 2]), [B, 1, -1, D]);
      const kr = transpose(g, reshape(g, k0!, [-1, B, D]), [1, 0, 2]); // [B, S, D]
      const vr = transpose(g, reshape(g, v0!, [-1, B, D]), [1, 0, 2]);
      return [qh, g.node('Unsqueeze', [kr, g.ints([1])]), g.node('Unsqueeze', [vr, g.ints([1])]), kr, vr];
    });
    const o = coreHeadMajor(g, io, q!, k!, v!, s);
    // o [B, 1, H·S, D] rows (h, s) → [S, B, H, D] → [S·B, nm]
    const merged = g.inStage('merge', () => reshape(g, transpose(g, reshape(g, o, [B, H, -1, D]), [2, 0, 1, 3]), [-1, H * D]));
    return { out: stepProj(g, n, merged), k: kRows!, v: vRows! };
  },
  // the column bias [rows, 1] of W·Hᵀ becomes the row bias [rows] of H·Wᵀ
  pack(p, s) {
    const t = preScaled(layout)(p, s);
    const { b_qkv: b, ...rest } = t;
    return { ...rest, b_qkv_row: { dims: [b!.dims[0]!], data: b!.data } };
  },
  leftPadding: true,
};

export const multiQuery: Variant = {
  name: 'multi-query',
  aliases: ['MultiQuery', 'MULTI_QUERY'],
  grouped: false,
  modes: ['seed', 'full'],
  kvHeads: () => 1,
  layout,
  step,
};
