/**
 * The decoder on the engine: one session per batch of `rows` sequences, running the one
 * step graph (`graph.ts`) for prefill and decode alike. gpt-fast's shape: `prefill` and
 * `step` are small functions over one `forward`; the KV cache is the caller's, written in
 * place between steps (the graph only reads it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transpose2d } from '../core/arrays.ts';
import { Engine, f32, ort, type Feeds, type GraphOpt } from '../engine/session.ts';
import type { DecodeCache } from './cache.ts';
import { headDim } from './config.ts';
import { buildStepGraph, sequenceMajor, STEP_INPUTS, type WeightsAs } from './graph.ts';
import type { PackedModel } from './weights.ts';

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
}

const GIB = 2 ** 30;

export class DecoderModel {
  private readonly engines = new Map<number, Engine>();
  private readonly weightFeeds: Feeds = {};
  private readonly zeros = new Map<number, Float32Array>();

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
    const g = buildStepGraph(this.packed, rows, this.weightsAs);
    const options = {
      threads: this.settings.threads,
      graphOpt: this.settings.graphOpt ?? 'all',
      spinning: false,
      memPattern: false,
      profile: this.settings.profile ?? false,
      ...(this.settings.optimizedModelPath ? { optimizedModelPath: this.settings.optimizedModelPath } : {}),
    };
    if (g.initializerBytes() <= (this.settings.externalDataAbove ?? GIB)) return Engine.create(g.toBytes(), options);
    // large weights: written once as external data, read by the engine, then removed
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-model-'));
    try {
      return await Engine.create(g.toFolder(dir), options);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** S tokens per row against `cache` (null: an empty cache, i.e. a prefill). */
  async forward(batch: TokenBatch, cache: DecodeCache | null): Promise<StepOutput> {
    const { rows, seq } = batch;
    const e = await this.prepare(rows);
    const I = STEP_INPUTS;
    const sbm = sequenceMajor(this.packed);
    const order = sbm ? [seq, rows] : [rows, seq];
    const arrange = (x: BigInt64Array) => (sbm ? transpose2d(x, rows, seq) : x);
    const length = cache?.length ?? 0;
    const feeds: Feeds = {
      ...this.weightFeeds,
      [I.tokens]: new ort.Tensor('int64', arrange(batch.tokens), order),
      [I.positions]: new ort.Tensor('int64', arrange(batch.positions), order),
      [I.selfMask]: f32(batch.selfMask, [rows, seq, seq]),
      [I.cacheMask]: cache ? cache.maskTensor() : f32(new Float32Array(0), [rows, 0]),
      // the fused kernel: every row's live keys are positions [0, length + S) (no left padding)
      [I.seqlensK]: new ort.Tensor('int32', new Int32Array(rows).fill(length + seq - 1), [rows]),
      [I.totalLength]: new ort.Tensor('int32', Int32Array.of(length + seq), []),
    };
    const { kvHeads: G, headDim: D } = this.cacheShape;
    const empty = f32(new Float32Array(0), [rows, G, 0, D]);
    for (let i = 0; i < this.config.layers; i++) {
      const [k, v] = cache ? cache.tensors(i) : [empty, empty];
      feeds[I.kCache(i)] = k;
      feeds[I.vCache(i)] = v;
    }
    const out = await e.run(feeds);
    return { logits: out.logits!.data as Float32Array, kv: out.kv!.data as Float32Array };
  }

  /** The prompts (left-padded, with their mask) against an empty cache. */
  prefill(batch: TokenBatch): Promise<StepOutput> {
    return this.forward(batch, null);
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
  }
}
