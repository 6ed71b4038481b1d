/**
 * Analytic cost of one attention layer: the floating-point operations and the bytes the
 * TASK needs — what any implementation must do — and the memory a run of it holds (checked
 * before anything is allocated).
 *
 * FLOPs count 2·m·n·k per matmul, plus in full mode 5 per attention score (mask add, max,
 * exp, sum, divide) and one per bias element. Task bytes count, in float32, the hidden
 * states and the weights read once and the output written once: an implementation that
 * never materialises q, k, v or the [s, s] matrix (a fused, flash-style kernel) moves no
 * more. What a layout's graph really moves is measured from the engine's profiler instead
 * (`src/roofline/traffic.ts`).
 */
import { F32 } from '../core/constants.ts';
import { isInt, type Dtype } from '../precision/dtypes.ts';
import { weightBytes as matrixBytes } from '../precision/weight-graph.ts';
import type { QuantizedFlops } from '../roofline/floor.ts';
import { sideBySideBytes } from '../core/footprint.ts';
import { modelDim, type LayerShape } from './params.ts';
import type { Mode } from './spec.ts';

export interface LayerCost {
  flops: number;
  /** The FLOPs of the weight products when the weights are quantized (they run at the int8 path's rate: src/roofline/floor.ts). */
  quantized?: QuantizedFlops;
  /** The task's bytes: inputs and weights read once, output written once. */
  bytes: number;
  /** Bytes a layer holds for as long as its session lives: its inputs, and its weights twice (the engine pre-packs a copy). */
  residentBytes: number;
  /** Bytes a run allocates and frees: the qkv product and its rearranged copy, scores (and probabilities), the output and the binding's copy of it. */
  transientBytes: number;
  /** The peak of one layer alone (the side-by-side rule with one contender: resident plus transient). */
  memoryBytes: number;
}

export function layerCost(s: LayerShape, mode: Mode, weightDtype: Dtype = 'float32'): LayerCost {
  const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
  const nm = modelDim(s);
  const rows = B * S;
  const qkvWidth = (H + 2 * G) * D;
  const scores = B * H * S * S;
  const full = mode === 'full';

  let flops = 2 * rows * nm * qkvWidth + 2 * (2 * scores * D);
  if (full) flops += 5 * scores + 2 * rows * nm * nm + rows * (qkvWidth + nm);

  const hidden = rows * nm;
  const biases = full ? qkvWidth + nm : 0;
  const weights = nm * qkvWidth + (full ? nm * nm + biases : 0);
  // the weights as their products hold them: codes and scales when quantized, biases in float32
  const weightBytes = matrixBytes(nm, qkvWidth, weightDtype) + (full ? matrixBytes(nm, nm, weightDtype) + F32 * biases : 0);
  const qkv = rows * qkvWidth;
  const out = rows * nm;
  const bytes = F32 * (hidden + out) + weightBytes;
  const residentBytes = F32 * (hidden + (full ? S * S : 0)) + weightBytes + F32 * weights;
  const transientBytes = F32 * (2 * qkv + (full ? 2 : 1) * scores + 3 * out);
  const weightFlops = 2 * rows * nm * qkvWidth + (full ? 2 * rows * nm * nm : 0);
  return {
    flops,
    ...(isInt(weightDtype) ? { quantized: { dtype: weightDtype, flops: weightFlops } } : {}),
    bytes,
    residentBytes,
    transientBytes,
    memoryBytes: sideBySideBytes([{ resident: residentBytes, transient: transientBytes }]),
  };
}

/** FLOPs of each stage (matmul stages and full mode's softmax), for per-stage achieved rates; a layout with stages of its own adds theirs (`Layout.stageFlops`). */
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
  }
  return f;
}
