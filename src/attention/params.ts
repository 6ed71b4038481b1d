/**
 * Layer shapes and the *logical* parameters of an attention layer.
 *
 * Logical layout (what the reference and every variant agree on):
 *   hidden [batch, seq, heads*headDim]
 *   wq [nm, heads*headDim], wk and wv [nm, kvHeads*headDim]; column = head*headDim + d
 *   query head h reads K/V head floor(h / (heads / kvHeads)), as in Llama's repeat_kv
 *   full mode adds biases bq, bk, bv and the output projection wo [nm, nm], bo [nm].
 * Each variant packs these into its own physical tensors (see `layouts.ts`).
 */
import { Rng } from '../core/rng.ts';
import type { Mode } from './spec.ts';

export interface LayerShape {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

export const modelDim = (s: LayerShape) => s.heads * s.headDim;

export interface LogicalParams {
  hidden: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  /** Full mode only. */
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  wo?: Float32Array;
  bo?: Float32Array;
}

/**
 * Random parameters. Seed mode follows the seed (`torch.randn` everywhere); full mode
 * initialises weights as GPT-2 does (normal, std 0.02) so the softmax is not saturated.
 */
export function randomParams(shape: LayerShape, mode: Mode, seed = 1): LogicalParams {
  const rng = new Rng(seed);
  const nm = modelDim(shape);
  const kv = shape.kvHeads * shape.headDim;
  const std = mode === 'seed' ? 1 : 0.02;
  const p: LogicalParams = {
    hidden: rng.normals(shape.batch * shape.seq * nm),
    wq: rng.normals(nm * nm, std),
    wk: rng.normals(nm * kv, std),
    wv: rng.normals(nm * kv, std),
  };
  if (mode === 'full') {
    p.bq = rng.normals(nm, std);
    p.bk = rng.normals(kv, std);
    p.bv = rng.normals(kv, std);
    p.wo = rng.normals(nm * nm, std);
    p.bo = rng.normals(nm, std);
  }
  return p;
}
