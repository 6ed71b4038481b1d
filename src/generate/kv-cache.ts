/**
 * The KV cache, owned by JS: per layer one K and one V buffer [rows, g, capacity, width],
 * fed whole to every decode step (the binding wraps inputs without copying), and an
 * additive mask [rows, capacity] that hides left padding and positions not written yet.
 *
 * At float32 the width is the head size. At int8/int4 (src/precision/cache-graph.ts) the
 * buffers hold codes (int8 [.., hs]; int4 two to a byte [.., hs/2]) and each position of each
 * head has a float32 scale beside them ([rows, g, capacity]), written as the row is written;
 * the fused kernel's cache has static per-channel scales instead, fixed from the prefill.
 *
 * A step's graph only reads the cache; its new K/V rows come back as one small float32
 * tensor and are appended here in place (quantized as they are written). Capacity grows in
 * chunks (one copy when full), so a step reads at most `chunk − 1` dead positions. Beam
 * search reorders rows in place, copying only the rows that change and only their live
 * positions.
 */
import * as ort from 'onnxruntime-node';
import { MASK_MIN } from '../core/constants.ts';
import { predictedKvBytes, type CacheShape, type DecodeCache } from '../model/cache.ts';
import { cacheCodes, quantizeHead, writeCodes } from '../precision/cache-graph.ts';
import { isInt, type Dtype } from '../precision/dtypes.ts';
import { qmax } from '../precision/blocks.ts';
import type { Rng } from '../core/rng.ts';

/** One buffer per layer of codes (or float32 values) or scales. */
type Lane = Float32Array | Int8Array | Uint8Array;

/** A cache's dtype; `staticScales`: the fused kernel's int cache (per-channel scales fixed from the prefill). */
export interface CachePrecision {
  dtype: Dtype;
  staticScales?: boolean;
}

/** A set of per-layer buffers whose positions are `width` elements wide (codes: the head's codes; scales: 1). */
interface Family {
  bufs: Lane[];
  width: number;
  make: (n: number) => Lane;
}

export class KvCache implements DecodeCache {
  readonly k: Lane[] = [];
  readonly v: Lane[] = [];
  /** Per position and head scales [rows, g, capacity] (the hand-built layouts' int cache); empty otherwise. */
  readonly kScale: Float32Array[] = [];
  readonly vScale: Float32Array[] = [];
  /** The fused kernel's static scales [g·hs] per layer, set by the prefill. */
  fixed: { k: Float32Array[]; v: Float32Array[] } | null = null;
  mask: Float32Array;
  /** Positions written in every row (live or padding). */
  length = 0;
  capacity: number;
  /** Total milliseconds spent growing (copies). */
  growMs = 0;
  private scratch: Lane | null = null;
  readonly precision: CachePrecision;
  /** Elements per position and head in the code buffers. */
  private readonly width: number;

  constructor(
    readonly shape: CacheShape,
    initialCapacity: number,
    readonly chunk = 256,
    precision: CachePrecision = { dtype: 'float32' },
  ) {
    this.precision = precision;
    const d = precision.dtype;
    this.width = isInt(d) ? cacheCodes(d, shape.headDim).width : shape.headDim;
    this.capacity = roundUp(Math.max(1, initialCapacity), chunk);
    const lanes = shape.rows * shape.kvHeads * this.capacity;
    for (let i = 0; i < shape.layers; i++) {
      this.k.push(this.codes(lanes * this.width));
      this.v.push(this.codes(lanes * this.width));
      if (this.perPositionScales) {
        this.kScale.push(new Float32Array(lanes));
        this.vScale.push(new Float32Array(lanes));
      }
    }
    this.mask = new Float32Array(shape.rows * this.capacity).fill(MASK_MIN);
  }

  private get perPositionScales(): boolean {
    return isInt(this.precision.dtype) && !this.precision.staticScales;
  }

  private codes(n: number): Lane {
    const d = this.precision.dtype;
    return d === 'int8' ? new Int8Array(n) : d === 'int4' ? new Uint8Array(n) : new Float32Array(n);
  }

  /** Every buffer family: the K and V codes (or values), and the per-position scales where there are any. */
  private families(): Family[] {
    const scales = { width: 1, make: (n: number) => new Float32Array(n) };
    return [
      { bufs: this.k, width: this.width, make: (n) => this.codes(n) },
      { bufs: this.v, width: this.width, make: (n) => this.codes(n) },
      ...(this.perPositionScales ? [{ bufs: this.kScale, ...scales }, { bufs: this.vScale, ...scales }] : []),
    ];
  }

  /** Bytes allocated for K and V (what a step reads is `capacity` positions of them). */
  allocatedBytes(): number {
    const lanes = this.families().reduce((a, f) => a + f.bufs.reduce((b, x) => b + x.byteLength, 0), 0);
    return lanes + (this.scratch?.byteLength ?? 0);
  }

  /** Bytes of the live part. */
  liveBytes(): number {
    return predictedKvBytes(this.shape, this.length, this.precision.dtype, this.precision.staticScales ?? false);
  }

  /** Make room for `n` more positions (grows by whole chunks: one copy). */
  ensure(n: number): void {
    if (this.length + n <= this.capacity) return;
    const t0 = performance.now();
    const cap = roundUp(this.length + n, this.chunk);
    const { rows, kvHeads: G } = this.shape;
    for (const f of this.families()) {
      f.bufs.forEach((old, i) => {
        const out = f.make(rows * G * cap * f.width);
        for (let r = 0; r < rows * G; r++) out.set(old.subarray(r * this.capacity * f.width, (r * this.capacity + this.length) * f.width) as never, r * cap * f.width);
        f.bufs[i] = out;
      });
    }
    const mask = new Float32Array(rows * cap).fill(MASK_MIN);
    for (let r = 0; r < rows; r++) mask.set(this.mask.subarray(r * this.capacity, r * this.capacity + this.length), r * cap);
    this.mask = mask;
    this.capacity = cap;
    this.growMs += performance.now() - t0;
  }

  /** Write one new K or V head (D values of `src` at `from`) at (row r, head h, position pos) of layer i, quantized at the cache's dtype. */
  private put(side: 'k' | 'v', i: number, src: Float32Array, from: number, r: number, h: number, pos: number): void {
    const { kvHeads: G, headDim: D } = this.shape;
    const lane = (r * G + h) * this.capacity + pos;
    const codes = (side === 'k' ? this.k : this.v)[i]!;
    const d = this.precision.dtype;
    if (!isInt(d)) return void (codes as Float32Array).set(src.subarray(from, from + D), lane * D);
    if (this.fixed) return writeCodes(src, from, D, this.fixed[side][i]!.subarray(h * D, (h + 1) * D), d, codes as Int8Array | Uint8Array, lane * D);
    (side === 'k' ? this.kScale : this.vScale)[i]![lane] = quantizeHead(src, from, D, d, codes as Int8Array | Uint8Array, lane * D);
  }

  /**
   * Write `seq` positions from a prefill's K/V [layers, rows, seq, 2·g·hs] (k heads then
   * v heads); `live[r·seq + t]` says whether position t of row r is a token (not padding).
   * The fused kernel's int cache takes the static scales its prefill ran with (`fixed`).
   */
  writePrefill(present: Float32Array, seq: number, live: ArrayLike<boolean>, fixed?: { k: Float32Array[]; v: Float32Array[] }): void {
    if (this.precision.staticScales) {
      if (!fixed) throw new Error("the fused kernel's int cache needs the static scales its prefill ran with");
      this.fixed = fixed;
    }
    this.ensure(seq);
    const { rows, kvHeads: G, headDim: D, layers } = this.shape;
    const width = 2 * G * D;
    for (let i = 0; i < layers; i++)
      for (let r = 0; r < rows; r++)
        for (let t = 0; t < seq; t++) {
          const src = ((i * rows + r) * seq + t) * width;
          for (let h = 0; h < G; h++) {
            this.put('k', i, present, src + h * D, r, h, this.length + t);
            this.put('v', i, present, src + (G + h) * D, r, h, this.length + t);
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
    for (let i = 0; i < layers; i++)
      for (let r = 0; r < rows; r++) {
        const src = (i * rows + r) * width;
        for (let h = 0; h < G; h++) {
          this.put('k', i, kv, src + h * D, r, h, this.length);
          this.put('v', i, kv, src + (G + h) * D, r, h, this.length);
        }
      }
    for (let r = 0; r < rows; r++) this.mask[r * this.capacity + this.length] = 0;
    this.length += 1;
  }

  /**
   * Beam search: row r continues from row `src[r]`. Rows that keep their own history are
   * not touched; a source that is itself overwritten is saved first. Copies only the
   * live positions (codes and their scales alike). Returns the milliseconds it took.
   */
  reorder(src: ArrayLike<number>): number {
    const t0 = performance.now();
    const { rows, kvHeads: G } = this.shape;
    const moved: number[] = [];
    for (let r = 0; r < rows; r++) if (src[r] !== r) moved.push(r);
    if (moved.length > 0) {
      const overwritten = new Set(moved);
      const saved = [...new Set(moved.map((r) => src[r]!))].filter((s) => overwritten.has(s));
      for (const f of this.families()) for (const buf of f.bufs) this.reorderBuffer(buf, f, src, moved, saved, G);
      const mask = Float32Array.from(this.mask);
      for (const r of moved) this.mask.set(mask.subarray(src[r]! * this.capacity, (src[r]! + 1) * this.capacity), r * this.capacity);
    }
    return performance.now() - t0;
  }

  private reorderBuffer(buf: Lane, f: Family, src: ArrayLike<number>, moved: readonly number[], saved: readonly number[], G: number): void {
    const live = this.length * f.width;
    const rowLen = this.capacity * f.width;
    const need = saved.length * G * live;
    if (!this.scratch || this.scratch.constructor !== buf.constructor || this.scratch.length < need) this.scratch = f.make(Math.max(need, 1));
    const tmp = this.scratch;
    const base = (row: number, h: number) => (row * G + h) * rowLen;
    saved.forEach((s, j) => {
      for (let h = 0; h < G; h++) tmp.set(buf.subarray(base(s, h), base(s, h) + live) as never, (j * G + h) * live);
    });
    for (const r of moved) {
      const s = src[r]!;
      const j = saved.indexOf(s);
      for (let h = 0; h < G; h++) {
        const from = j >= 0 ? tmp.subarray((j * G + h) * live, (j * G + h + 1) * live) : buf.subarray(base(s, h), base(s, h) + live);
        buf.set(from as never, base(r, h));
      }
    }
  }

  /**
   * Random contents for a step whose time is measured, not its answer: float32 values of
   * `scale`, or random codes with scales that give them that range (the fused kernel's static
   * scales too).
   */
  fillRandom(rng: Rng, scale = 0.5): void {
    const d = this.precision.dtype;
    for (const buf of [...this.k, ...this.v]) {
      if (buf instanceof Float32Array) rng.fill(buf, scale);
      else for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rng.uniform() * 256) - (buf instanceof Int8Array ? 128 : 0);
    }
    if (!isInt(d)) return;
    const s = scale / qmax(d);
    for (const buf of [...this.kScale, ...this.vScale]) buf.fill(s);
    if (this.precision.staticScales) {
      const { layers, kvHeads: G, headDim: D } = this.shape;
      const one = () => Array.from({ length: layers }, () => new Float32Array(G * D).fill(s));
      this.fixed = { k: one(), v: one() };
    }
  }

  /** Tensors for layer i's K and V: [rows, g, capacity, width], wrapping the buffers. */
  tensors(i: number): [ort.Tensor, ort.Tensor] {
    const { rows, kvHeads: G } = this.shape;
    const dims = [rows, G, this.capacity, this.width];
    return [laneTensor(this.k[i]!, dims), laneTensor(this.v[i]!, dims)];
  }

  /** Layer i's K and V scales as the step graph takes them (null for a float32 cache). */
  scaleTensors(i: number): [ort.Tensor, ort.Tensor] | null {
    const { rows, kvHeads: G, headDim: D } = this.shape;
    if (this.fixed) return [new ort.Tensor('float32', this.fixed.k[i]!, [1, G, 1, D]), new ort.Tensor('float32', this.fixed.v[i]!, [1, G, 1, D])];
    if (!this.perPositionScales) return null;
    const dims = [rows, G, this.capacity, 1];
    return [new ort.Tensor('float32', this.kScale[i]!, dims), new ort.Tensor('float32', this.vScale[i]!, dims)];
  }

  maskTensor(): ort.Tensor {
    return new ort.Tensor('float32', this.mask, [this.shape.rows, this.capacity]);
  }
}

/** A buffer as the engine's tensor of its element type, without a copy. */
const laneTensor = (x: Lane, dims: number[]): ort.Tensor =>
  x instanceof Int8Array ? new ort.Tensor('int8', x, dims) : x instanceof Uint8Array ? new ort.Tensor('uint8', x, dims) : new ort.Tensor('float32', x, dims);

export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;
