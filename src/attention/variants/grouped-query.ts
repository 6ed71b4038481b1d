/**
 * `grouped-query:g`: g K/V heads, each shared by r = nh/g consecutive query heads. The r
 * heads of a group are folded into the row axis (as multi-query-1 folds all nh), so K and V
 * are never repeated: q [b, g, s·r, hs], k [b, g, hs, s], v [b, g, s, hs].
 */
import { fusedProjection, maskedSoftmax, proj, qkvProjection, rowsToLogical, same, scaleQ, UNFUSED_LAYOUT, type Layout } from '../layouts.ts';
import { matmul, reshape, split, transpose } from '../ops.ts';
import { modelDim } from '../params.ts';
import { fusedGroupedStep } from '../step.ts';
import { groupKvHeads, type Variant } from '../variant.ts';

const layout: Layout = {
  ...UNFUSED_LAYOUT,
  hiddenOrder: 'bsm',
  pack: fusedProjection,
  build(g, x, s, mode, n = same) {
    const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
    const R = H / G;
    const nm = modelDim(s);
    const qkv = qkvProjection(g, n, x, mode);
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
  seedOutputDims: (s) => [s.batch, s.kvHeads, s.seq * (s.heads / s.kvHeads), s.headDim],
};

export const groupedQuery: Variant = {
  name: 'grouped-query',
  aliases: [],
  grouped: true,
  modes: ['seed', 'full'],
  kvHeads: (heads, groups) => groupKvHeads('grouped-query', heads, groups),
  layout,
  step: fusedGroupedStep(layout),
};
