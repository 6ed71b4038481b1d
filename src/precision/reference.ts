/**
 * The float64 references of a quantized computation: the same logical parameters with each
 * weight replaced by what its quantized product holds (dequantized), and each product's input
 * as the kernel quantizes it (weight-graph.ts `productInput`). A reference built from these
 * computes what the engine computes, up to float32 rounding (measured: under 5e-7 at every
 * variant and mode), so the check keeps its tolerance; the error against the float32 model
 * is the quality figure, reported beside it.
 */
import { modelDim, type LayerShape, type LogicalParams } from '../attention/params.ts';
import type { ProductInput } from '../attention/reference.ts';
import { isInt, type Dtype } from './dtypes.ts';
import { dequantizedWeight, productInput } from './weight-graph.ts';

/** A layer's logical parameters with its weights as dtype `d` holds them (biases and inputs as they are). */
export function dequantizedLayerParams(p: LogicalParams, s: LayerShape, d: Dtype): LogicalParams {
  if (!isInt(d)) return p;
  const nm = modelDim(s);
  const deq = (w: Float32Array) => dequantizedWeight(w, nm, w.length / nm, d);
  return { ...p, wq: deq(p.wq), wk: deq(p.wk), wv: deq(p.wv), ...(p.wo ? { wo: deq(p.wo) } : {}) };
}

/** How a weight product's input reaches the weight at dtype `d` (undefined: as it is). */
export const referenceInput = (d: Dtype): ProductInput | undefined => (isInt(d) ? productInput(d) : undefined);
