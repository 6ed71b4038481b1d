/**
 * `multi-query-1`: the seed's MultiQuery1, in Hugging Face order: one fused projection
 * [nm, (nh+2)hs]. Its attention core after the projection (shared with
 * `multi-query-separate`): q [b, s·nh, hs] (rows in (sl, nh) order, a free reshape),
 * k → [b, hs, s], v stays [b, s, hs].
 */
import type { GraphBuilder } from '../../engine/graph.ts';
import { fusedProjection, maskedSoftmax, proj, qkvProjection, rowsToLogical, same, scaleQ, UNFUSED_LAYOUT, type Layout, type TensorNames } from '../layouts.ts';
import { matmul, reshape, split, transpose } from '../ops.ts';
import { modelDim, type LayerShape } from '../params.ts';
import type { Mode } from '../spec.ts';
import { fusedGroupedStep } from '../step.ts';
import type { Variant } from '../variant.ts';

/** The core from the projected q [b, s, nm], k, v [b, s, hs]. */
export function mqa1Core(g: GraphBuilder, n: TensorNames, q0: string, k0: string, v0: string, s: LayerShape, mode: Mode): string {
  const { batch: B, seq: S, heads: H, headDim: D } = s;
  const [q, k] = g.inStage('split', () => [reshape(g, scaleQ(g, q0, s, mode), [B, S * H, D]), transpose(g, k0, [0, 2, 1])]);
  let w = g.inStage('weights', () => matmul(g, q!, k!));
  if (mode === 'full') w = maskedSoftmax(g, n, w, [B, S * H, S], [B, S, H, S], [S, 1, S]);
  const o = g.inStage('output', () => matmul(g, w, v0));
  if (mode === 'seed') return o;
  return proj(g, n, g.inStage('merge', () => reshape(g, o, [B, S, modelDim(s)])));
}

/** The seed-mode output [b, s·nh, hs], rows in (sl, nh) order, and back to logical. */
export const MQA1_OUTPUT: Pick<Layout, 'seedOutputToLogical' | 'seedOutputDims'> = {
  seedOutputToLogical: (out, s) => rowsToLogical(out, s, 1, s.heads, true),
  seedOutputDims: (s) => [s.batch, s.seq * s.heads, s.headDim],
};

const layout: Layout = {
  ...UNFUSED_LAYOUT,
  ...MQA1_OUTPUT,
  hiddenOrder: 'bsm',
  pack: fusedProjection,
  build(g, x, s, mode, n = same) {
    const qkv = qkvProjection(g, n, x, mode);
    const [q, k, v] = g.inStage('split', () => split(g, qkv, 2, [modelDim(s), s.headDim, s.headDim]));
    return mqa1Core(g, n, q!, k!, v!, s, mode);
  },
};

export const multiQuery1: Variant = {
  name: 'multi-query-1',
  aliases: ['MultiQuery1', 'MULTI_QUERY_1'],
  grouped: false,
  modes: ['seed', 'full'],
  kvHeads: () => 1,
  layout,
  step: fusedGroupedStep(layout),
};
