/**
 * The KV cache, owned by JS: per layer one K and one V buffer [rows, g, capacity, hs],
 * fed whole to every decode step (the binding wraps inputs without copying), and an
 * additive mask [rows, capacity] that hides left padding and positions not written yet.
 *
 * A step's graph only reads the cache; its new K/V rows come back as one small tensor
 * and are appended here in place. Capacity grows in chunks (one copy when full), so a
 * step reads at most `chunk − 1` dead positions. Beam search reorders rows in place,
 * copying only the rows that change and only their live positions.
 */
import type * as ort from 'onnxruntime-node';
import { F32, MASK_MIN } from '../core/constants.ts';
import { f32 } from '../engine/session.ts';
import { predictedKvBytes, type CacheShape, type DecodeCache } from '../model/cache.ts';

export class KvCache implements DecodeCache {
  readonly k: Float32Array[] = [];
  readonly v: Float32Array[] = [];
  mask: Float32Array;
  /** Positions written in every row (live or padding). */
  length = 0;
  capacity: number;
  /** Total milliseconds spent growing (copies). */
  growMs = 0;
  private scratch: Float32Array[] = [];

  constructor(
    readonly shape: CacheShape,
    initialCapacity: number,
    readonly chunk = 256,
  ) {
    this.capacity = roundUp(Math.max(1, initialCapacity), chunk);
    for (let i = 0; i < shape.layers; i++) {
      this.k.push(new Float32Array(this.rowFloats(this.capacity) * shape.rows));
      this.v.push(new Float32Array(this.rowFloats(this.capacity) * shape.rows));
    }
    this.mask = new Float32Array(shape.rows * this.capacity).fill(MASK_MIN);
  }

  private rowFloats(capacity: number): number {
    return this.shape.kvHeads * capacity * this.shape.headDim;
  }

  /** Bytes allocated for K and V (what a step reads is `capacity` positions of them). */
  allocatedBytes(): number {
    return predictedKvBytes(this.shape, this.capacity) + F32 * this.scratch.reduce((a, s) => a + s.length, 0);
  }

  /** Bytes of the live part. */
  liveBytes(): number {
    return predictedKvBytes(this.shape, this.length);
  }

  /** Make room for `n` more positions (grows by whole chunks: one copy). */
  ensure(n: number): void {
    if (this.length + n <= this.capacity) return;
    const t0 = performance.now();
    const cap = roundUp(this.length + n, this.chunk);
    const { rows, kvHeads: G, headDim: D, layers } = this.shape;
    const grow = (old: Float32Array) => {
      const out = new Float32Array(rows * G * cap * D);
      for (let r = 0; r < rows * G; r++) out.set(old.subarray(r * this.capacity * D, (r * this.capacity + this.length) * D), r * cap * D);
      return out;
    };
    for (let i = 0; i < layers; i++) {
      this.k[i] = grow(this.k[i]!);
      this.v[i] = grow(this.v[i]!);
    }
    const mask = new Float32Array(rows * cap).fill(MASK_MIN);
    for (let r = 0; r < rows; r++) mask.set(this.mask.subarray(r * this.capacity, r * this.capacity + this.length), r * cap);
    this.mask = mask;
    this.capacity = cap;
    this.growMs += performance.now() - t0;
  }

  /**
   * Write `seq` positions from a prefill's K/V [layers, rows, seq, 2·g·hs] (k heads then
   * v heads); `live[r·seq + t]` says whether position t of row r is a token (not padding).
   */
  writePrefill(present: Float32Array, seq: number, live: ArrayLike<boolean>): void {
    this.ensure(seq);
    const { rows, kvHeads: G, headDim: D, layers } = this.shape;
    const width = 2 * G * D;
    for (let i = 0; i < layers; i++) {
      const k = this.k[i]!;
      const v = this.v[i]!;
      for (let r = 0; r < rows; r++)
        for (let t = 0; t < seq; t++) {
          const src = ((i * rows + r) * seq + t) * width;
          for (let h = 0; h < G; h++) {
            const dst = ((r * G + h) * this.capacity + this.length + t) * D;
            k.set(present.subarray(src + h * D, src + (h + 1) * D), dst);
            v.set(present.subarray(src + (G + h) * D, src + (G + h + 1) * D), dst);
          }
        }
    }
    for (let r = 0; r < rows; r++) for (let t = 0; t < seq; t++) this.mask[r * this.capacity + this.length + t] = live[r * seq + t] ? 0 : MASK_MIN;
    this.length += seq;
  }

  /** Append one position per row from a step's K/V rows [layers, rows, 2·g·hs]. */
  append(kv: Float32Array): void {
    this.ensure(1);
    const { rows, kvHeads: G, headDim: D, layers } = this.shape;
    const width = 2 * G * D;
    for (let i = 0; i < layers; i++) {
      const k = this.k[i]!;
      const v = this.v[i]!;
      for (let r = 0; r < rows; r++) {
        const src = (i * rows + r) * width;
        for (let h = 0; h < G; h++) {
          const dst = ((r * G + h) * this.capacity + this.length) * D;
          k.set(kv.subarray(src + h * D, src + (h + 1) * D), dst);
          v.set(kv.subarray(src + (G + h) * D, src + (G + h + 1) * D), dst);
        }
      }
    }
    for (let r = 0; r < rows; r++) this.mask[r * this.capacity + this.length] = 0;
    this.length += 1;
  }

  /**
   * Beam search: row r continues from row `src[r]`. Rows that keep their own history are
   * not touched; a source that is itself overwritten is saved first. Copies only the
   * live positions. Returns the milliseconds it took.
   */
  reorder(src: ArrayLike<number>): number {
    const t0 = performance.now();
    const { rows, kvHeads: G, headDim: D } = this.shape;
    const moved: number[] = [];
    for (let r = 0; r < rows; r++) if (src[r] !== r) moved.push(r);
    if (moved.length > 0) {
      const overwritten = new Set(moved);
      const saved = [...new Set(moved.map((r) => src[r]!))].filter((s) => overwritten.has(s));
      const live = this.length * D;
      const rowLen = this.capacity * D;
      const need = saved.length * G * live;
      if (this.scratch.length === 0 || this.scratch[0]!.length < need) this.scratch = [new Float32Array(Math.max(need, 1))];
      const tmp = this.scratch[0]!;
      const base = (row: number, h: number) => (row * G + h) * rowLen;
      for (const buf of [...this.k, ...this.v]) {
        saved.forEach((s, j) => {
          for (let h = 0; h < G; h++) tmp.set(buf.subarray(base(s, h), base(s, h) + live), (j * G + h) * live);
        });
        for (const r of moved) {
          const s = src[r]!;
          const j = saved.indexOf(s);
          for (let h = 0; h < G; h++) {
            const from = j >= 0 ? tmp.subarray((j * G + h) * live, (j * G + h + 1) * live) : buf.subarray(base(s, h), base(s, h) + live);
            buf.set(from, base(r, h));
          }
        }
      }
      const mask = Float32Array.from(this.mask);
      for (const r of moved) this.mask.set(mask.subarray(src[r]! * this.capacity, (src[r]! + 1) * this.capacity), r * this.capacity);
    }
    return performance.now() - t0;
  }

  /** Tensors for layer i's K and V: [rows, g, capacity, hs], wrapping the buffers. */
  tensors(i: number): [ort.Tensor, ort.Tensor] {
    const { rows, kvHeads: G, headDim: D } = this.shape;
    const dims = [rows, G, this.capacity, D];
    return [f32(this.k[i]!, dims), f32(this.v[i]!, dims)];
  }

  maskTensor(): ort.Tensor {
    return f32(this.mask, [this.shape.rows, this.capacity]);
  }
}

export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;
