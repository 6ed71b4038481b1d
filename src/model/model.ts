/**
 * The decoder on the engine: one session for the decode step (all layers and the LM head
 * in one run, so a step pays the binding's per-run cost once), and prefill sessions per
 * sequence length (static shapes; cheap to create because the weights are inputs).
 */
import { layoutOf } from '../attention/layouts.ts';
import { transpose2d } from '../core/arrays.ts';
import { Engine, f32, ort, type Feeds, type GraphOpt } from '../engine/session.ts';
import type { DecodeCache } from './cache.ts';
import { headDim } from './config.ts';
import { buildDecodeGraph, buildPrefillGraph, DECODE_INPUTS } from './graph.ts';
import type { PackedModel } from './weights.ts';

export interface EngineSettings {
  threads: number;
  graphOpt?: GraphOpt;
  /** Let the decode session's idle pool threads spin between runs (the prefill sessions never do). */
  spinning?: boolean;
}

export interface PrefillOutput {
  /** Logits of each row's last position [rows, vocab]. */
  logits: Float32Array;
  /** K/V of every position [layers, rows, seq, 2·g·hs] (cached runs only). */
  present?: Float32Array;
}

export class DecoderModel {
  private readonly decodes = new Map<number, Engine>();
  private readonly prefills = new Map<string, Engine>();
  readonly weightFeeds: Feeds;

  constructor(
    readonly packed: PackedModel,
    readonly engine: EngineSettings,
  ) {
    this.weightFeeds = Object.fromEntries(Object.entries(packed.tensors).map(([k, t]) => [k, f32(t.data, t.dims)]));
  }

  get config() {
    return this.packed.config;
  }

  /** Sequences are given batch-major; a layout with sequence-major hidden states takes them transposed. */
  get sequenceMajor(): boolean {
    return layoutOf(this.packed.spec).hiddenOrder === 'sbm';
  }

  private async session(model: () => Uint8Array, spinning = false): Promise<Engine> {
    // several sessions exist (prefill, decode): idle pool threads of one must not steal the other's cores
    return Engine.create(model(), { threads: this.engine.threads, graphOpt: this.engine.graphOpt ?? 'all', spinning });
  }

  /** Create the decode session now (so that its creation is not timed with the first step). */
  async prepareDecode(rows: number): Promise<Engine> {
    let e = this.decodes.get(rows);
    if (!e) {
      e = await this.session(() => buildDecodeGraph(this.packed, rows), this.engine.spinning ?? false);
      this.decodes.set(rows, e);
    }
    return e;
  }

  async preparePrefill(rows: number, seq: number, present: boolean): Promise<Engine> {
    const key = `${rows}x${seq}:${present}`;
    let e = this.prefills.get(key);
    if (!e) {
      e = await this.session(() => buildPrefillGraph(this.packed, rows, seq, present));
      this.prefills.set(key, e);
    }
    return e;
  }

  /** Drop the prefill session of one shape (the uncached mode uses each length once). */
  async dropPrefill(rows: number, seq: number, present: boolean): Promise<void> {
    const key = `${rows}x${seq}:${present}`;
    const e = this.prefills.get(key);
    if (e) {
      this.prefills.delete(key);
      await e.release();
    }
  }

  /**
   * The whole sequence: `tokens` and `positions` [rows, seq] batch-major, `mask` additive
   * [rows, seq, seq] (causal plus padding).
   */
  async prefill(tokens: BigInt64Array, positions: BigInt64Array, mask: Float32Array, rows: number, seq: number, present: boolean): Promise<PrefillOutput> {
    const e = await this.preparePrefill(rows, seq, present);
    const order = this.sequenceMajor ? [seq, rows] : [rows, seq];
    const arrange = (x: BigInt64Array) => (this.sequenceMajor ? transpose2d(x, rows, seq) : x);
    const feeds: Feeds = {
      ...this.weightFeeds,
      tokens: new ort.Tensor('int64', arrange(tokens), order),
      positions: new ort.Tensor('int64', arrange(positions), order),
      mask: f32(mask, [rows, seq, seq]),
    };
    const out = await e.run(feeds);
    return { logits: out.logits!.data as Float32Array, ...(present ? { present: out.present!.data as Float32Array } : {}) };
  }

  /**
   * One decode step: one token per row at `positions`, attending to `cache` (not written
   * here). Returns the logits [rows, vocab] and the new K/V rows [layers, rows, 2·g·hs].
   */
  async step(tokens: BigInt64Array, positions: BigInt64Array, cache: DecodeCache): Promise<{ logits: Float32Array; kv: Float32Array }> {
    const rows = tokens.length;
    const engine = await this.prepareDecode(rows);
    const I = DECODE_INPUTS;
    const feeds: Feeds = {
      ...this.weightFeeds,
      [I.tokens]: new ort.Tensor('int64', tokens, [rows]),
      [I.positions]: new ort.Tensor('int64', positions, [rows]),
      [I.mask]: cache.maskTensor(),
      // for the fused kernel: every row's live keys are positions [0, length] (no left padding)
      [I.seqlensK]: new ort.Tensor('int32', new Int32Array(rows).fill(cache.length), [rows]),
      [I.totalLength]: new ort.Tensor('int32', Int32Array.of(cache.length + 1), []),
    };
    for (let i = 0; i < this.config.layers; i++) {
      const [k, v] = cache.tensors(i);
      feeds[I.kCache(i)] = k;
      feeds[I.vCache(i)] = v;
    }
    const out = await engine.run(feeds);
    return { logits: out.logits!.data as Float32Array, kv: out.kv!.data as Float32Array };
  }

  get cacheShape() {
    return { layers: this.config.layers, kvHeads: this.packed.kvHeads, headDim: headDim(this.config) };
  }

  async release(): Promise<void> {
    for (const e of this.decodes.values()) await e.release();
    this.decodes.clear();
    for (const e of this.prefills.values()) await e.release();
    this.prefills.clear();
  }
}
