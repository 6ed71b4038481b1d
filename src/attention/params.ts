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
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
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

/** A seeded source of normal variates (Box–Muller over xoroshiro128+). */
export class Rng {
  private gen;
  private spare: number | undefined;
  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed);
  }
  uniform(): number {
    return uniformFloat64(this.gen);
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  fill(out: Float32Array, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = std * this.normal();
    return out;
  }
  normals(n: number, std = 1): Float32Array {
    return this.fill(new Float32Array(n), std);
  }
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
