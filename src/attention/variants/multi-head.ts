/**
 * `multi-head`: Hugging Face GPT-2's attention, the baseline every other variant is compared
 * with. One fused projection [nm, 3·nm]; q, v → [b, nh, s, hs], k pre-transposed → [b, nh, hs, s].
 */
import { fusedProjection, maskedSoftmax, proj, qkvProjection, same, scaleQ, UNFUSED_LAYOUT, type Layout } from '../layouts.ts';
import { matmul, reshape, split, transpose } from '../ops.ts';
import { modelDim } from '../params.ts';
import { fusedGroupedStep } from '../step.ts';
import type { Variant } from '../variant.ts';

const layout: Layout = {
  ...UNFUSED_LAYOUT,
  hiddenOrder: 'bsm',
  pack: fusedProjection,
  build(g, x, s, mode, n = same) {
    const { batch: B, seq: S, heads: H, headDim: D } = s;
    const nm = modelDim(s);
    const qkv = qkvProjection(g, n, x, mode);
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
  seedOutputDims: (s) => [s.batch, s.heads, s.seq, s.headDim],
};

export const multiHead: Variant = {
  name: 'multi-head',
  aliases: ['MultiHead', 'MULTI_HEAD'],
  grouped: false,
  modes: ['seed', 'full'],
  kvHeads: (heads) => heads,
  layout,
  step: fusedGroupedStep(layout),
};
