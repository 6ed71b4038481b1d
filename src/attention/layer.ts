/**
 * One attention layer as a standalone ONNX model: the graph a variant builds, its
 * physical inputs from logical parameters, and its output back in logical layout.
 *
 * The weights are graph constants (initializers) when the caller gives them at build time
 * — as a deployed model holds them, and where the engine pre-packs a product's B operand —
 * or graph inputs fed with every run (`weights: 'input'`), to measure what that costs.
 */
import { swapLeadingAxes } from '../core/arrays.ts';
import { MASK_MIN } from '../core/constants.ts';
import { GraphBuilder } from '../engine/graph.ts';
import type { Dtype } from '../precision/dtypes.ts';
import { quantizeWeights } from '../precision/weight-graph.ts';
import type { Runtime } from '../engine/runtime.ts';
import type { Layout, PhysicalTensors } from './layouts.ts';
import { modelDim, type LayerShape, type LogicalParams } from './params.ts';
import { layoutOf } from './registry.ts';
import { checkMode, kvHeads, type Mode, type VariantSpec } from './spec.ts';

export interface LayerModel {
  spec: VariantSpec;
  shape: LayerShape;
  mode: Mode;
  layout: Layout;
  model: Uint8Array;
  stages: readonly string[];
  /** Whether the weights are constants in the graph (else inputs of every run). */
  constantWeights: boolean;
  /** The weights' dtype in the graph (quantized constants: src/precision/weight-graph.ts). */
  weightDtype: Dtype;
  /** Bytes of the weights as the graph holds them (codes and scales when quantized). */
  weightBytes: number;
}

export function layerShape(spec: VariantSpec, dims: Omit<LayerShape, 'kvHeads'>): LayerShape {
  return { ...dims, kvHeads: kvHeads(spec, dims.heads, dims.headDim) };
}

/**
 * The layer's graph. With `params`, its weights are packed into the graph as constants
 * (quantized to `weightDtype`); without, they are float32 graph inputs (`layerInputs` then
 * feeds them).
 */
export function buildLayer(spec: VariantSpec, shape: LayerShape, mode: Mode, params?: LogicalParams, weightDtype: Dtype = 'float32'): LayerModel {
  checkMode(spec, mode);
  const layout = layoutOf(spec);
  const { batch: B, seq: S } = shape;
  const nm = modelDim(shape);
  const g = new GraphBuilder(`attnbench-${spec.kind}-${mode}`);
  const x = g.input('hidden', layout.hiddenOrder === 'bsm' ? [B, S, nm] : [S, B, nm]);
  if (params) for (const [name, t] of Object.entries(layout.pack(params, shape, mode))) g.initializer(name, t.data, t.dims);
  // declare the weights from a packing of zero-size-free dummy shapes: dims only matter here
  else for (const [name, t] of Object.entries(weightDims(layout, shape, mode))) g.input(name, t);
  if (mode === 'full' && layout.maskInput) g.input('mask', [S, S]);
  g.output(layout.build(g, x, shape, mode), 'out');
  const floatBytes = g.initializerBytes();
  if (params) quantizeWeights(g, weightDtype);
  const weightBytes = params ? g.initializerBytes() : floatBytes;
  return { spec, shape, mode, layout, model: g.toBytes(), stages: layout.stages(mode), constantWeights: params !== undefined, weightDtype: params ? weightDtype : 'float32', weightBytes };
}

/** The physical weight shapes, found by packing empty-valued parameters of the right sizes. */
function weightDims(layout: Layout, s: LayerShape, mode: Mode): Record<string, number[]> {
  const nm = modelDim(s);
  const kv = s.kvHeads * s.headDim;
  const z = (n: number) => new Float32Array(n);
  const p: LogicalParams = { hidden: z(0), wq: z(nm * nm), wk: z(nm * kv), wv: z(nm * kv) };
  if (mode === 'full') Object.assign(p, { bq: z(nm), bk: z(kv), bv: z(kv), wo: z(nm * nm), bo: z(nm) });
  return Object.fromEntries(Object.entries(layout.pack(p, s, mode)).map(([k, t]) => [k, t.dims]));
}

/** Causal additive mask [s, s]: 0 on and below the diagonal, float32's minimum above. */
export function causalMask(seq: number): Float32Array {
  const m = new Float32Array(seq * seq);
  for (let i = 0; i < seq; i++) m.fill(MASK_MIN, i * seq + i + 1, (i + 1) * seq);
  return m;
}

/** The layer's physical weights from logical parameters, as its graph names them. */
export const layerWeights = (layer: LayerModel, p: LogicalParams): PhysicalTensors => layer.layout.pack(p, layer.shape, layer.mode);

/** Physical input tensors for `layer` from logical parameters (the weights too, where they are inputs). */
export function layerInputs(layer: LayerModel, p: LogicalParams): PhysicalTensors {
  const { shape: s, layout, mode } = layer;
  const nm = modelDim(s);
  const hidden =
    layout.hiddenOrder === 'bsm'
      ? { dims: [s.batch, s.seq, nm], data: p.hidden }
      : { dims: [s.seq, s.batch, nm], data: swapLeadingAxes(p.hidden, s.batch, s.seq) };
  const t: PhysicalTensors = { hidden, ...(layer.constantWeights ? {} : layerWeights(layer, p)) };
  if (mode === 'full' && layout.maskInput) t.mask = { dims: [s.seq, s.seq], data: causalMask(s.seq) };
  return t;
}

/**
 * The layer's output in logical layout: seed mode [batch, heads, seq, headDim],
 * full mode [batch, seq, nm].
 */
export function outputToLogical(layer: LayerModel, out: Float32Array): Float32Array {
  const { shape: s, layout, mode } = layer;
  if (mode === 'seed') return layout.seedOutputToLogical(out, s);
  return layout.hiddenOrder === 'bsm' ? out : swapLeadingAxes(out, s.seq, s.batch);
}

/** Run `layer` once on `rt` with `params` (a session of its own, released after) and return its output in logical layout. */
export async function runLayer(rt: Runtime, layer: LayerModel, params: LogicalParams): Promise<Float32Array> {
  const session = await rt.createSession(layer.model, { sideBySide: true });
  try {
    const out = await session.run(session.feeds(layerInputs(layer, params)));
    return outputToLogical(layer, out.out!);
  } finally {
    await session.release();
  }
}
