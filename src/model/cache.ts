/**
 * The KV cache as the decoder reads it. The model owns this interface; the cache itself
 * (`src/generate/kv-cache.ts`) lives with the generation loop that fills and reorders it.
 */
import type * as ort from 'onnxruntime-node';
import { bitsOf, isInt, kvRowBytes, type Dtype } from '../precision/dtypes.ts';

/** How many K/V tensors a cache holds and of what size (per layer: [rows, kvHeads, capacity, headDim]). */
export interface CacheShape {
  layers: number;
  rows: number;
  kvHeads: number;
  headDim: number;
}

/** What one decode step reads from the cache: the past K and V of every layer, and which positions are live. */
export interface DecodeCache {
  /** Positions written in every row (live or padding). */
  readonly length: number;
  /** Layer i's K and V as [rows, kvHeads, capacity, headDim] tensors. */
  tensors(i: number): [ort.Tensor, ort.Tensor];
  /** The additive mask [rows, capacity]: 0 where a position is live, MASK_MIN elsewhere. */
  maskTensor(): ort.Tensor;
  /** An int8/int4 cache's scales of layer i, K then V (src/precision/cache-graph.ts); null or absent for float32. */
  scaleTensors?(i: number): [ort.Tensor, ort.Tensor] | null;
}

/**
 * A cache that lives where the step's session computes and that the step graph writes
 * itself (`cacheUpdate: 'graph'`): its tensors are fixed-capacity and, on WebGPU, GPU
 * buffers fed back from the previous step's outputs.
 */
export interface ResidentCache extends DecodeCache {
  /** Positions the cache holds (every layer's tensors are [rows, kvHeads, capacity, headDim]). */
  readonly capacity: number;
  /** int64 [rows, kvHeads, seq, 3]: the (row, head, position) of each of the next `seq` rows (positions length … length + seq − 1). */
  indexTensor(seq: number): ort.Tensor;
}

/**
 * Bytes of K and V at `positions` positions: 2 · layers · rows · kvHeads · positions times a
 * head's bytes at the cache's dtype (float32: headDim · 4; int8/int4: its codes plus a float32
 * scale per position and head, src/precision/dtypes.ts; the fused kernel's int cache: codes
 * only, its scales static). The one formula: the cost model's prediction, and the caches'
 * live and allocated bytes.
 */
export const predictedKvBytes = (s: CacheShape, positions: number, dtype: Dtype = 'float32', staticScales = false): number => {
  const head = isInt(dtype) && staticScales ? (s.headDim * bitsOf(dtype)) / 8 : kvRowBytes(1, s.headDim, dtype);
  return 2 * s.layers * s.rows * s.kvHeads * positions * head;
};
