/**
 * Analytic cost of one attention layer: floating-point operations, the minimum bytes its
 * op sequence must move, and the memory it needs (checked before anything is allocated).
 *
 * FLOPs count 2·m·n·k per matmul, plus in full mode 5 per attention score (mask add, max,
 * exp, sum, divide) and one per bias element. Bytes count, in float32, every input read
 * once, the qkv projection written and read once, the [s, s] attention matrix written and
 * read once (twice in full mode: scores and probabilities) and the output written once —
 * the traffic of this op sequence with every intermediate materialised exactly once.
 * The fused kernel is charged the same bytes, so its GB/s is an effective figure.
 */
import { F32 } from '../core/constants.ts';
import { modelDim, type LayerShape } from './params.ts';
import type { Mode } from './spec.ts';

export interface LayerCost {
  flops: number;
  bytes: number;
  /** Peak bytes the layer's run is predicted to hold (inputs, intermediates, outputs and their JS copies). */
  memoryBytes: number;
}

export function layerCost(s: LayerShape, mode: Mode): LayerCost {
  const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
  const nm = modelDim(s);
  const rows = B * S;
  const qkvWidth = (H + 2 * G) * D;
  const scores = B * H * S * S;
  const full = mode === 'full';

  let flops = 2 * rows * nm * qkvWidth + 2 * (2 * scores * D);
  if (full) flops += 5 * scores + 2 * rows * nm * nm + rows * (qkvWidth + nm);

  const hidden = rows * nm;
  const weights = nm * qkvWidth + (full ? nm * nm + qkvWidth + nm : 0);
  const qkv = rows * qkvWidth;
  const out = rows * nm;
  const bytes = F32 * (hidden + weights + 2 * qkv + (full ? 4 : 2) * scores + out + (full ? 2 * out : 0));

  // inputs + the qkv product and its rearranged copy + scores (and probabilities) + output and the binding's copy of it
  const memoryBytes = F32 * (hidden + weights + 2 * qkv + (full ? 2 : 1) * scores + 3 * out + (full ? S * S : 0));
  return { flops, bytes, memoryBytes };
}

/** FLOPs of each stage (matmul stages and full mode's softmax), for per-stage achieved rates. */
export function stageFlops(s: LayerShape, mode: Mode): Record<string, number> {
  const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
  const nm = modelDim(s);
  const rows = B * S;
  const scores = B * H * S * S;
  const qkvWidth = (H + 2 * G) * D;
  const f: Record<string, number> = {
    qkv: 2 * rows * nm * qkvWidth + (mode === 'full' ? rows * qkvWidth : 0),
    weights: 2 * scores * D,
    output: 2 * scores * D,
  };
  if (mode === 'full') {
    f.softmax = 5 * scores;
    f.proj = 2 * rows * nm * nm + rows * nm;
    f.attention = f.weights! + f.softmax + f.output!; // the fused kernel's stage
  }
  return f;
}
