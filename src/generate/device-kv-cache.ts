/**
 * The KV cache kept where the decoder computes (on WebGPU: GPU buffers), for a step graph
 * that writes its own new rows (`cacheUpdate: 'graph'`, src/model/graph.ts). Nothing of it
 * crosses to the CPU between steps: each step's written caches (its `present` outputs,
 * left on the device) are fed back as the next step's; JS keeps only the additive mask
 * [rows, capacity] (uploaded each step: 4 bytes a position) and the length.
 *
 * The CPU cache (`kv-cache.ts`) is fed whole every step, which on WebGPU means uploading
 * the capacity of every layer every step (docs/webgpu.md §6 measures both).
 *
 * Like the CPU cache, capacity grows in chunks, so a session compiles its programs once
 * per capacity; growing is one small graph that pads every layer's K and V along the
 * positions (on the device), and a beam reorder is one graph of Gathers along the rows.
 * The same class runs on the CPU provider too (its tensors are then JS arrays), which is
 * how the tests check the in-graph update against the caller's, cheaply.
 */
import { MASK_MIN } from '../core/constants.ts';
import { GraphBuilder } from '../engine/graph.ts';
import { Engine, f32, ort, type NodeDevice, type OutputLocation } from '../engine/session.ts';
import { predictedKvBytes, type CacheShape, type ResidentCache } from '../model/cache.ts';
import { roundUp, type KvCache } from './kv-cache.ts';

/** The small sessions a device cache needs besides the decoder's: zeros, pad, gather. */
class CacheOps {
  private constructor(
    private readonly zerosSession: Engine,
    private readonly padSession: Engine,
    private gatherSession: Engine | null,
    private readonly shape: CacheShape,
    private readonly device: NodeDevice,
  ) {}

  static async create(shape: CacheShape, device: NodeDevice, reorder: boolean): Promise<CacheOps> {
    const n = 2 * shape.layers;
    const dims = [shape.rows, shape.kvHeads, 'T', shape.headDim];
    const opts = (loc: OutputLocation) => ({ threads: 1, graphOpt: 'all' as const, device, ...(device === 'webgpu' ? { preferredOutputLocation: loc } : {}) });

    // zeros made on the device, so an empty cache is never uploaded
    const z = new GraphBuilder('cache-zeros');
    z.output(z.node('Expand', [z.floats([0], [1, 1, 1, 1]), z.input('shape', [4], 'int64')], {}, { stage: 'kv' }), 'zeros');
    // one Pad per tensor along the positions; the pads are an input, so one session serves every capacity
    const p = new GraphBuilder('cache-grow');
    const pads = p.input('pads', [8], 'int64');
    for (let i = 0; i < n; i++) p.output(p.node('Pad', [p.input(`x${i}`, dims), pads], { mode: 'constant' }, { stage: 'kv' }), `y${i}`);
    const [zeros, pad] = await Promise.all([Engine.create(z.toBytes(), opts('gpu-buffer')), Engine.create(p.toBytes(), opts('gpu-buffer'))]);
    const ops = new CacheOps(zeros, pad, null, shape, device);
    if (reorder) ops.gatherSession = await ops.createGather();
    return ops;
  }

  private createGather(): Promise<Engine> {
    const s = this.shape;
    const g = new GraphBuilder('cache-reorder');
    const idx = g.input('rows', [s.rows], 'int64');
    for (let i = 0; i < 2 * s.layers; i++) g.output(g.node('Gather', [g.input(`x${i}`, [s.rows, s.kvHeads, 'T', s.headDim]), idx], { axis: 0 }, { stage: 'kv' }), `y${i}`);
    return Engine.create(g.toBytes(), { threads: 1, graphOpt: 'all', device: this.device, ...(this.device === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}) });
  }

  /** Host tensors copied onto the device (one Identity each, its output left there). */
  async upload(xs: readonly ort.Tensor[]): Promise<ort.Tensor[]> {
    this.uploadSession ??= await this.createUpload();
    const out = await this.uploadSession.runTensors(Object.fromEntries(xs.map((x, i) => [`x${i}`, x])));
    return xs.map((_, i) => out[`y${i}`]!);
  }

  private uploadSession: Engine | null = null;

  private createUpload(): Promise<Engine> {
    const s = this.shape;
    const g = new GraphBuilder('cache-upload');
    for (let i = 0; i < 2 * s.layers; i++) g.output(g.node('Identity', [g.input(`x${i}`, [s.rows, s.kvHeads, 'T', s.headDim])], {}, { stage: 'kv' }), `y${i}`);
    return Engine.create(g.toBytes(), { threads: 1, graphOpt: 'all', device: this.device, ...(this.device === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}) });
  }

  async zeros(capacity: number): Promise<ort.Tensor> {
    const { rows, kvHeads, headDim } = this.shape;
    const shape = new ort.Tensor('int64', BigInt64Array.from([rows, kvHeads, capacity, headDim], BigInt), [4]);
    return (await this.zerosSession.runTensors({ shape })).zeros!;
  }

  /** Every tensor padded with `extra` zero positions at the end. */
  async grow(xs: readonly ort.Tensor[], extra: number): Promise<ort.Tensor[]> {
    const pads = new ort.Tensor('int64', BigInt64Array.from([0, 0, 0, 0, 0, 0, extra, 0], BigInt), [8]);
    const out = await this.padSession.runTensors({ pads, ...Object.fromEntries(xs.map((x, i) => [`x${i}`, x])) });
    return xs.map((_, i) => out[`y${i}`]!);
  }

  /** Every tensor's rows gathered: row r becomes row src[r]. */
  async gather(xs: readonly ort.Tensor[], src: ArrayLike<number>): Promise<ort.Tensor[]> {
    this.gatherSession ??= await this.createGather();
    const rows = new ort.Tensor('int64', BigInt64Array.from(Array.from(src), BigInt), [src.length]);
    const out = await this.gatherSession.runTensors({ rows, ...Object.fromEntries(xs.map((x, i) => [`x${i}`, x])) });
    return xs.map((_, i) => out[`y${i}`]!);
  }

  async release(): Promise<void> {
    await Promise.all([this.zerosSession.release(), this.padSession.release(), this.gatherSession?.release(), this.uploadSession?.release()]);
  }
}

export class DeviceKvCache implements ResidentCache {
  /** k0, v0, k1, v1, … each [rows, g, capacity, hs], on the device. */
  private tensorsNow: ort.Tensor[];
  mask: Float32Array;
  length = 0;
  /** Total milliseconds spent growing (device pads). */
  growMs = 0;

  private constructor(
    readonly shape: CacheShape,
    public capacity: number,
    readonly chunk: number,
    private readonly ops: CacheOps,
    zeros: ort.Tensor,
  ) {
    // the graph never writes its inputs (every output is a new buffer), so every layer may start from the same zeros
    this.tensorsNow = new Array<ort.Tensor>(2 * shape.layers).fill(zeros);
    this.mask = new Float32Array(shape.rows * capacity).fill(MASK_MIN);
  }

  /** An empty cache of `initialCapacity` positions (rounded up to the chunk); `reorder` prepares the beam-reorder graph. */
  static async create(shape: CacheShape, initialCapacity: number, o: { chunk?: number; device: NodeDevice; reorder?: boolean }): Promise<DeviceKvCache> {
    const chunk = o.chunk ?? 256;
    const capacity = roundUp(Math.max(1, initialCapacity), chunk);
    const ops = await CacheOps.create(shape, o.device, o.reorder ?? false);
    return new DeviceKvCache(shape, capacity, chunk, ops, await ops.zeros(capacity));
  }

  /**
   * A device copy of a host cache (its capacity, length and mask): one upload of everything,
   * for benchmarks and tests that start decoding from a given cache.
   */
  static async fromHost(host: KvCache, o: { device: NodeDevice; reorder?: boolean }): Promise<DeviceKvCache> {
    const ops = await CacheOps.create(host.shape, o.device, o.reorder ?? false);
    const c = new DeviceKvCache(host.shape, host.capacity, host.chunk, ops, await ops.zeros(host.capacity));
    const hostTensors = Array.from({ length: host.shape.layers }, (_, i) => host.tensors(i)).flat();
    c.replace(await ops.upload(hostTensors));
    c.mask = Float32Array.from(host.mask);
    c.length = host.length;
    return c;
  }

  tensors(i: number): [ort.Tensor, ort.Tensor] {
    return [this.tensorsNow[2 * i]!, this.tensorsNow[2 * i + 1]!];
  }

  maskTensor(): ort.Tensor {
    return f32(this.mask, [this.shape.rows, this.capacity]);
  }

  indexTensor(seq: number): ort.Tensor {
    const { rows, kvHeads: G } = this.shape;
    const idx = new BigInt64Array(rows * G * seq * 3);
    for (let r = 0; r < rows; r++)
      for (let h = 0; h < G; h++)
        for (let t = 0; t < seq; t++) idx.set([BigInt(r), BigInt(h), BigInt(this.length + t)], ((r * G + h) * seq + t) * 3);
    return new ort.Tensor('int64', idx, [rows, G, seq, 3]);
  }

  /** Bytes allocated for K and V on the device. */
  allocatedBytes(): number {
    return predictedKvBytes(this.shape, this.capacity);
  }

  liveBytes(): number {
    return predictedKvBytes(this.shape, this.length);
  }

  /** Replace the tensors (disposing the old ones, each once: they may be shared). */
  private replace(next: ort.Tensor[]): void {
    const keep = new Set(next);
    for (const t of new Set(this.tensorsNow)) if (!keep.has(t)) t.dispose();
    this.tensorsNow = next;
  }

  /** Make room for `n` more positions (grows by whole chunks: one pad of every tensor, on the device). */
  async ensure(n: number): Promise<void> {
    if (this.length + n <= this.capacity) return;
    const t0 = performance.now();
    const cap = roundUp(this.length + n, this.chunk);
    // pad each distinct tensor once (a fresh cache shares one zeros tensor)
    const distinct = [...new Set(this.tensorsNow)];
    const grown = await this.ops.grow(distinct, cap - this.capacity);
    this.replace(this.tensorsNow.map((t) => grown[distinct.indexOf(t)]!));
    const { rows } = this.shape;
    const mask = new Float32Array(rows * cap).fill(MASK_MIN);
    for (let r = 0; r < rows; r++) mask.set(this.mask.subarray(r * this.capacity, r * this.capacity + this.length), r * cap);
    this.mask = mask;
    this.capacity = cap;
    this.growMs += performance.now() - t0;
  }

  /**
   * Take a step's written caches (`present`, k then v per layer) as the cache, now `seq`
   * positions longer; `live[r·seq + t]` says whether position t of row r is a token (a
   * prefill's left padding is not), by default all are.
   */
  adopt(present: ort.Tensor[], seq: number, live?: ArrayLike<boolean>): void {
    if (present.length !== this.tensorsNow.length) throw new Error(`expected ${this.tensorsNow.length} cache tensors, got ${present.length}`);
    this.replace(present);
    const { rows } = this.shape;
    for (let r = 0; r < rows; r++) for (let t = 0; t < seq; t++) this.mask[r * this.capacity + this.length + t] = !live || live[r * seq + t] ? 0 : MASK_MIN;
    this.length += seq;
  }

  /** Beam search: row r continues from row src[r] (every tensor gathered on the device, and the mask in JS). Returns the milliseconds. */
  async reorder(src: ArrayLike<number>): Promise<number> {
    const t0 = performance.now();
    let moved = false;
    for (let r = 0; r < src.length; r++) if (src[r] !== r) moved = true;
    if (moved) {
      const distinct = [...new Set(this.tensorsNow)];
      const gathered = await this.ops.gather(distinct, src);
      this.replace(this.tensorsNow.map((t) => gathered[distinct.indexOf(t)]!));
      const old = Float32Array.from(this.mask);
      for (let r = 0; r < src.length; r++) this.mask.set(old.subarray(src[r]! * this.capacity, (src[r]! + 1) * this.capacity), r * this.capacity);
    }
    return performance.now() - t0;
  }

  async release(): Promise<void> {
    this.replace([]);
    await this.ops.release();
  }
}
