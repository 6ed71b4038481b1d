/**
 * `fused-gqa:g`: ONNX Runtime's own `com.microsoft.GroupQueryAttention` kernel (causal,
 * scale 1/√d, heads merged in its output) between the same projections as grouped-query:g.
 * It exists in full mode only (the kernel is the whole attention), needs a head size that is
 * a multiple of 8, reads the decode cache as `past` (so no left padding) and scales q itself.
 */
import { MS_DOMAIN } from '../../engine/graph.ts';
import { UsageError } from '../../core/errors.ts';
import { stageFlops } from '../cost.ts';
import { fusedProjection, fusedProjectionProducts, proj, qkvProjection, same, type Layout } from '../layouts.ts';
import { reshape, split } from '../ops.ts';
import { fusedStepProjection, stepProj, type StepBuilder } from '../step.ts';
import { groupKvHeads, type Variant } from '../variant.ts';

const STAGES = ['qkv', 'split', 'attention', 'proj'] as const;

const layout: Layout = {
  hiddenOrder: 'bsm',
  pack: fusedProjection,
  projections: fusedProjectionProducts,
  maskInput: false,
  stages: () => STAGES,
  // its one kernel does the scores, the softmax and the output
  stageFlops(s, mode) {
    const f = stageFlops(s, mode);
    return { ...f, attention: f.weights! + f.softmax! + f.output! };
  },
  build(g, x, s, mode, n = same) {
    const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
    const qkv = qkvProjection(g, n, x, mode);
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
  seedOutputDims: () => {
    throw new Error('fused-gqa has no seed mode');
  },
};

/** GroupQueryAttention reads the cache as `past` (no left padding) and scales q itself. */
const step: StepBuilder = {
  order: 'bsm',
  build(g, x, s, io, n) {
    const { rows: B, heads: H, kvHeads: G, headDim: D } = s;
    const [q, k, v] = fusedStepProjection(g, n, x, s);
    const o = g.inStage('attention', () => {
      const as3 = (t: string, w: number) => reshape(g, t, [B, -1, w]);
      const inputs = [as3(q!, H * D), as3(k!, G * D), as3(v!, G * D), io.kCache, io.vCache, io.seqlensK, io.totalLength];
      const attrs: Record<string, number | string> = { num_heads: H, kv_num_heads: G };
      // its native quantized cache: inputs 7–11 (rotary, positions, bias, sink) absent, the scales at 12 and 13
      if (io.quantized) {
        inputs.push('', '', '', '', '', io.quantized.kScale, io.quantized.vScale);
        Object.assign(attrs, { k_quant_type: 'PER_CHANNEL', v_quant_type: 'PER_CHANNEL', kv_cache_bit_width: io.quantized.bits });
      }
      return g.nodeMulti('GroupQueryAttention', inputs, attrs, { domain: MS_DOMAIN, outputs: 3 })[0]!;
    });
    const merged = g.inStage('proj', () => reshape(g, o, [-1, H * D]));
    return { out: stepProj(g, n, merged), k: reshape(g, k!, [B, -1, G * D]), v: reshape(g, v!, [B, -1, G * D]) };
  },
  pack: (p, s) => layout.pack(p, s, 'full'),
  leftPadding: false,
};

export const fusedGqa: Variant = {
  name: 'fused-gqa',
  aliases: [],
  grouped: true,
  modes: ['full'],
  modesWhy: "it is the engine's fused kernel",
  kvHeads(heads, groups, headDim) {
    // ONNX Runtime's GroupQueryAttention kernel refuses other head sizes at run time
    if (headDim !== undefined && headDim % 8 !== 0) {
      throw new UsageError(`variant 'fused-gqa:${groups}': the engine's GroupQueryAttention needs a head size that is a multiple of 8, got ${headDim}`);
    }
    return groupKvHeads('fused-gqa', heads, groups);
  },
  layout,
  step,
};
