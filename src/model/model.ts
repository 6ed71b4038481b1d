/**
 * The decoder on the engine: one session per batch of `rows` sequences, running the one
 * step graph (`graph.ts`) for prefill and decode alike. gpt-fast's shape: `prefill` and
 * `step` are small functions over one `forward`; the KV cache is the caller's, written in
 * place between steps (the graph only reads it).
 *
 * On a device (`device: 'webgpu'`) the cache stays there: the graph writes the new rows
 * itself (`cacheUpdate: 'graph'`, the default on WebGPU), `forwardResident` returns the
 * written caches as device tensors for the caller to feed back, and only the logits (or,
 * with `argmax`, the greedy ids) come back to JS.
 */
import fs from 'node:fs';
import { transpose2d } from '../core/arrays.ts';
import { MASK_MIN } from '../core/constants.ts';
import { tempSubdir } from '../core/temp.ts';
import { Downloader } from '../engine/download.ts';
import { Engine, f32, ort, type NodeDevice, type Feeds, type GraphOpt, type OutputLocation } from '../engine/session.ts';
import type { DecodeCache, ResidentCache } from './cache.ts';
import { headDim } from './config.ts';
import { buildStepGraph, sequenceMajor, STEP_INPUTS, STEP_OUTPUTS, type CacheUpdate, type WeightsAs } from './graph.ts';
import type { PackedModel } from './weights.ts';
import { isInt, type Dtype, type IntDtype } from '../precision/dtypes.ts';
import { cacheCodes, prefillStaticScales } from '../precision/cache-graph.ts';

export interface EngineSettings {
  threads: number;
  graphOpt?: GraphOpt;
  /** Weights as constants the engine pre-packs (default), or as inputs fed every run. */
  weights?: WeightsAs;
  /** Turn the engine's profiler on (a profiled step: stages and the bytes each kernel moves). */
  profile?: boolean;
  /** Models whose weights exceed this many bytes go to the engine as a file with external data (protobuf caps a model at 2 GiB). */
  externalDataAbove?: number;
  /** Save the engine's optimised graph here (to check where the weights ended up). */
  optimizedModelPath?: string;
  /** The provider (default 'cpu'). */
  device?: NodeDevice;
  /** Who writes new K/V rows into the cache (default: 'graph' on WebGPU, 'caller' on the CPU). */
  cacheUpdate?: CacheUpdate;
  /** `cacheUpdate: 'graph'`: the step also returns each row's argmax id, and its logits stay on the device. */
  argmax?: boolean;
  /** With `argmax`: also each row's argmax over every token but this one (eos, which a search skips before its minimum length). */
  argmaxAvoid?: number;
  /** The weights' dtype (quantized products, src/precision/weight-graph.ts); float32 by default. */
  weightDtype?: Dtype;
  /** The cache's dtype (codes and scales as inputs, src/precision/cache-graph.ts); float32 by default. */
  kvDtype?: Dtype;
}

/** S new tokens for each of `rows` sequences, batch-major. */
export interface TokenBatch {
  rows: number;
  seq: number;
  /** [rows, S] token ids and their positions. */
  tokens: BigInt64Array;
  positions: BigInt64Array;
  /** [rows, S, S] additive: causal, plus padding among the new tokens. */
  selfMask: Float32Array;
}

export interface StepOutput {
  /** Logits of each row's last position [rows, vocab]. */
  logits: Float32Array;
  /** The new tokens' K and V of every layer [layers, rows, S, 2·g·hs] (k heads, then v heads). */
  kv: Float32Array;
  /** A prefill of the fused kernel's int cache: the static scales it ran with, which the cache keeps for the generation. */
  scales?: StaticScales;
}

/** The fused kernel's static cache scales per layer, [g·hs] each. */
export type StaticScales = { k: Float32Array[]; v: Float32Array[] };

/** A step whose cache update ran in the graph: the written caches stay where the session computes. */
export interface ResidentStepOutput {
  /** Logits of each row's last position [rows, vocab]; null with `argmax` (they stay on the device: `logitsOnDevice`). */
  logits: Float32Array | null;
  logitsOnDevice: ort.Tensor | null;
  /** With `argmax`: each row's argmax id. */
  nextIds: BigInt64Array | null;
  /** With `argmax` and `argmaxAvoid`: each row's argmax over every token but that one. */
  nextIdsAvoiding: BigInt64Array | null;
  /** Every layer's caches with the new rows written, k then v per layer: [k0, v0, k1, v1, …]. */
  present: ort.Tensor[];
}

const GIB = 2 ** 30;

export class DecoderModel {
  private readonly engines = new Map<number, Engine>();
  private readonly weightFeeds: Feeds = {};
  private readonly zeros = new Map<number, Float32Array>();
  private downloader?: Downloader;

  constructor(
    readonly packed: PackedModel,
    readonly settings: EngineSettings,
  ) {
    if (this.weightsAs === 'input') {
      this.weightFeeds = Object.fromEntries(Object.entries(packed.tensors).map(([k, t]) => [k, f32(t.data, t.dims)]));
    }
  }

  get config() {
    return this.packed.config;
  }

  get weightsAs(): WeightsAs {
    return this.settings.weights ?? 'constant';
  }

  get device(): NodeDevice {
    return this.settings.device ?? 'cpu';
  }

  get cacheUpdate(): CacheUpdate {
    return this.settings.cacheUpdate ?? (this.device === 'webgpu' ? 'graph' : 'caller');
  }

  get cacheShape() {
    return { layers: this.config.layers, kvHeads: this.packed.kvHeads, headDim: headDim(this.config) };
  }

  /** The session for `rows` sequences, created on first use (call it before timing). */
  async prepare(rows: number): Promise<Engine> {
    let e = this.engines.get(rows);
    if (!e) {
      e = await this.createEngine(rows);
      this.engines.set(rows, e);
    }
    return e;
  }

  private async createEngine(rows: number): Promise<Engine> {
    if (this.hostWeightsReleased) throw new Error(`no session for ${rows} rows: the weights' arrays were released`);
    const inGraph = this.cacheUpdate === 'graph';
    const argmax = inGraph && (this.settings.argmax ?? false);
    const avoid = argmax && this.settings.argmaxAvoid !== undefined ? { avoid: this.settings.argmaxAvoid } : {};
    const precision = { ...(this.settings.weightDtype ? { weightDtype: this.settings.weightDtype } : {}), ...(this.settings.kvDtype ? { kvDtype: this.settings.kvDtype } : {}) };
    const g = buildStepGraph(this.packed, rows, this.weightsAs, inGraph ? { cacheUpdate: 'graph', argmax, ...avoid, ...precision } : precision);
    const options = {
      threads: this.settings.threads,
      graphOpt: this.settings.graphOpt ?? 'all',
      spinning: false,
      memPattern: false,
      profile: this.settings.profile ?? false,
      ...(this.settings.optimizedModelPath ? { optimizedModelPath: this.settings.optimizedModelPath } : {}),
      ...(this.device === 'webgpu' ? { device: this.device, ...(inGraph ? { preferredOutputLocation: this.outputLocations(argmax) } : {}) } : {}),
    };
    if (g.initializerBytes() <= (this.settings.externalDataAbove ?? GIB)) return Engine.create(g.toBytes(), options);
    // large weights: written once as external data, read by the engine, then removed
    const dir = tempSubdir('model-', g.initializerBytes());
    try {
      return await Engine.create(g.toFolder(dir), options);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Whether the step graph has the argmax that skips `argmaxAvoid` (a token inside the vocabulary). */
  get avoidsInGraph(): boolean {
    const t = this.settings.argmaxAvoid;
    return (this.settings.argmax ?? false) && t !== undefined && t >= 0 && t < this.config.vocab;
  }

  /** Where the step's outputs are left on the device: the caches (and the logits, with argmax) stay there. */
  private outputLocations(argmax: boolean): Record<string, OutputLocation> {
    const loc: Record<string, OutputLocation> = { [STEP_OUTPUTS.logits]: argmax ? 'gpu-buffer' : 'cpu' };
    if (argmax) loc[STEP_OUTPUTS.nextIds] = 'cpu';
    if (argmax && this.avoidsInGraph) loc[STEP_OUTPUTS.nextIdsAvoiding] = 'cpu';
    for (let i = 0; i < this.config.layers; i++) loc[STEP_OUTPUTS.presentK(i)] = loc[STEP_OUTPUTS.presentV(i)] = 'gpu-buffer';
    return loc;
  }

  /** The cache's dtype and whether it is the fused kernel's own (static scales). */
  get cachePrecision(): { dtype: Dtype; staticScales: boolean } {
    const dtype = this.settings.kvDtype ?? 'float32';
    return { dtype, staticScales: isInt(dtype) && this.packed.spec.kind === 'fused-gqa' };
  }

  /** The feeds every step has: tokens, positions, masks, the fused kernel's lengths, the caches (and an int cache's scales). */
  private stepFeeds(batch: TokenBatch, cache: DecodeCache | null, prefillScales?: StaticScales): Feeds {
    const { rows, seq } = batch;
    const I = STEP_INPUTS;
    const sbm = sequenceMajor(this.packed);
    const order = sbm ? [seq, rows] : [rows, seq];
    const arrange = (x: BigInt64Array) => (sbm ? transpose2d(x, rows, seq) : x);
    const length = cache?.length ?? 0;
    // No cache (a prefill, a step without one) is an empty cache [rows, g, 0, hs], except on
    // WebGPU: its provider ends the process (SIGSEGV) on the empty one (measured with
    // onnxruntime-node 1.30, docs/webgpu.md §8), so there it is one masked position of zeros,
    // which changes no output (the fused kernel reads the live keys from the lengths).
    const none = this.device === 'webgpu' ? 1 : 0;
    const feeds: Feeds = {
      ...this.weightFeeds,
      [I.tokens]: new ort.Tensor('int64', arrange(batch.tokens), order),
      [I.positions]: new ort.Tensor('int64', arrange(batch.positions), order),
      [I.selfMask]: f32(batch.selfMask, [rows, seq, seq]),
      [I.cacheMask]: cache ? cache.maskTensor() : f32(new Float32Array(rows * none).fill(MASK_MIN), [rows, none]),
      // the fused kernel: every row's live keys are positions [0, length + S) (no left padding)
      [I.seqlensK]: new ort.Tensor('int32', new Int32Array(rows).fill(length + seq - 1), [rows]),
      [I.totalLength]: new ort.Tensor('int32', Int32Array.of(length + seq), []),
    };
    const { kvHeads: G, headDim: D } = this.cacheShape;
    const { dtype, staticScales } = this.cachePrecision;
    const empty = isInt(dtype) ? emptyCodes(dtype, rows, G, D) : f32(new Float32Array(rows * G * none * D), [rows, G, none, D]);
    for (let i = 0; i < this.config.layers; i++) {
      const [k, v] = cache ? cache.tensors(i) : [empty, empty];
      feeds[I.kCache(i)] = k;
      feeds[I.vCache(i)] = v;
      if (!isInt(dtype)) continue;
      // an int cache's scales: the cache's own; a prefill's, none (hand-built) or the static ones it runs with (fused)
      const noScales = f32(new Float32Array(0), [rows, G, 0, 1]);
      const fixed = prefillScales ? [f32(prefillScales.k[i]!, [1, G, 1, D]), f32(prefillScales.v[i]!, [1, G, 1, D])] : null;
      const [ks, vs] = cache?.scaleTensors?.(i) ?? fixed ?? [noScales, noScales];
      if (staticScales && !cache && !fixed) throw new Error("a prefill of the fused kernel's int cache needs its static scales");
      feeds[I.kScale(i)] = ks!;
      feeds[I.vScale(i)] = vs!;
    }
    return feeds;
  }

  /** S tokens per row against `cache` (null: an empty cache, i.e. a prefill; the fused kernel's int cache needs the scales it runs with). */
  async forward(batch: TokenBatch, cache: DecodeCache | null, prefillScales?: StaticScales): Promise<StepOutput> {
    if (this.cacheUpdate === 'graph') throw new Error("this decoder writes its cache in the graph (cacheUpdate 'graph'): use forwardResident");
    const e = await this.prepare(batch.rows);
    const out = await e.runTensors(this.stepFeeds(batch, cache, prefillScales));
    return { logits: out.logits!.data as Float32Array, kv: out.kv!.data as Float32Array };
  }

  /**
   * S tokens per row against a cache the graph writes (`cacheUpdate: 'graph'`). A prefill is
   * a step against an empty cache of some capacity (length 0: every position masked). The
   * cache needs room for S more positions; the caller adopts `present` as its new tensors.
   */
  async forwardResident(batch: TokenBatch, cache: ResidentCache): Promise<ResidentStepOutput> {
    if (this.cacheUpdate !== 'graph') throw new Error("this decoder's cache is updated by the caller (cacheUpdate 'caller'): use forward");
    if (cache.length + batch.seq > cache.capacity) throw new Error(`the cache holds ${cache.capacity} positions, ${cache.length} used: no room for ${batch.seq} more`);
    const e = await this.prepare(batch.rows);
    const feeds = this.stepFeeds(batch, cache);
    feeds[STEP_INPUTS.cacheIndex] = cache.indexTensor(batch.seq);
    const out = await e.runTensors(feeds);
    const O = STEP_OUTPUTS;
    const logits = out[O.logits]!;
    const onDevice = logits.location === 'gpu-buffer';
    return {
      logits: onDevice ? null : (logits.data as Float32Array),
      logitsOnDevice: onDevice ? logits : null,
      nextIds: out[O.nextIds] ? (out[O.nextIds]!.data as BigInt64Array) : null,
      nextIdsAvoiding: out[O.nextIdsAvoiding] ? (out[O.nextIdsAvoiding]!.data as BigInt64Array) : null,
      present: Array.from({ length: this.config.layers }, (_, i) => [out[O.presentK(i)]!, out[O.presentV(i)]!]).flat(),
    };
  }

  /** A device tensor's values in JS (the logits a greedy step left on the GPU, for instance). */
  async download(t: ort.Tensor): Promise<ort.Tensor> {
    if (t.location === 'cpu') return t;
    this.downloader ??= new Downloader();
    return this.downloader.download(t);
  }

  /**
   * The prompts (left-padded, with their mask) against an empty cache. The fused kernel's int
   * cache quantizes the prompts' own K and V with static scales that come from those K and V
   * rows: pass j gets layer j's rows (and so its scales) right given the layers before it, so
   * the prefill runs layers + 1 times, and the last pass's scales are the cache's for the
   * whole generation (its prefill time counts every pass).
   */
  async prefill(batch: TokenBatch): Promise<StepOutput> {
    const { dtype, staticScales } = this.cachePrecision;
    if (!staticScales || !isInt(dtype)) return this.forward(batch, null);
    const { layers, kvHeads: G, headDim: D } = this.cacheShape;
    let scales: StaticScales = { k: Array.from({ length: layers }, () => new Float32Array(G * D).fill(1)), v: Array.from({ length: layers }, () => new Float32Array(G * D).fill(1)) };
    let out: StepOutput | undefined;
    for (let pass = 0; pass <= layers; pass++) {
      const used = scales;
      out = { ...(await this.forward(batch, null, used)), scales: used };
      scales = prefillStaticScales(out.kv, layers, batch.rows, batch.seq, G, D, dtype);
    }
    return out!;
  }

  /** One token per row at `positions`, attending to `cache` and to itself. */
  step(tokens: BigInt64Array, positions: BigInt64Array, cache: DecodeCache): Promise<StepOutput> {
    const rows = tokens.length;
    let selfMask = this.zeros.get(rows);
    if (!selfMask) this.zeros.set(rows, (selfMask = new Float32Array(rows)));
    return this.forward({ rows, seq: 1, tokens, positions, selfMask }, cache);
  }

  /**
   * Let go of the weights' JS arrays once the sessions that need them exist (constant
   * weights live in the engine from then on): a run that keeps several models side by side
   * would otherwise hold every model's weights twice. No session for another row count can
   * be created afterwards.
   */
  releaseHostWeights(): void {
    if (this.weightsAs !== 'constant') return;
    this.hostWeightsReleased = true;
    (this as { packed: PackedModel }).packed = { ...this.packed, tensors: {} };
  }

  private hostWeightsReleased = false;

  /** The session of `rows` (for its profiler), if created. */
  engine(rows: number): Engine | undefined {
    return this.engines.get(rows);
  }

  async release(): Promise<void> {
    for (const e of this.engines.values()) await e.release();
    this.engines.clear();
    await this.downloader?.release();
    this.downloader = undefined;
  }
}

/** An empty int cache's codes [rows, g, 0, width] (a prefill's). */
function emptyCodes(d: IntDtype, rows: number, G: number, D: number): ort.Tensor {
  const c = cacheCodes(d, D);
  return new ort.Tensor(c.type, c.type === 'int8' ? new Int8Array(0) : new Uint8Array(0), [rows, G, 0, c.width]);
}
