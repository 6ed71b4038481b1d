/**
 * One generation on the decoder: prefill, then one step per token, with the strategy of
 * `search.ts`. With the KV cache (default) a step feeds one token per row; without it
 * (`kvCache: false`, as Hugging Face's use_cache=False) every step recomputes the whole
 * sequence. Every step's wall time is recorded with the context it attended to.
 *
 * The cache follows the model: a decoder that writes its cache in the graph (on WebGPU,
 * `cacheUpdate: 'graph'`) gets a device-resident cache (`device-kv-cache.ts`), and with
 * `argmax` a greedy search reads back only the chosen ids.
 */
import { MASK_MIN } from '../core/constants.ts';
import type { DecoderModel, ResidentStepOutput, TokenBatch } from '../model/model.ts';
import { DeviceKvCache } from './device-kv-cache.ts';
import { KvCache, roundUp } from './kv-cache.ts';
import { leftPad, type PaddedBatch } from './prompts.ts';
import { argmaxExcept, beamSearch, greedyOrSample, type GreedyStepModel, type SearchOptions, type StepModel } from './search.ts';

export interface StepTime {
  /** Keys the step attended to: positions in the cache plus the new token. */
  context: number;
  ms: number;
}

export interface GenerationTiming {
  prefillMs: number;
  steps: StepTime[];
  /** Beam search: milliseconds of each KV-cache reorder. */
  reorderMs: number[];
  /** Milliseconds spent growing the cache (included in the steps that grew it). */
  growMs: number;
  /** Bytes allocated for the caches at the end (K and V, and the reorder scratch). */
  kvAllocatedBytes: number;
  /** Positions in the cache at the end (padded prompt + generated, the last token not fed back). */
  finalLength: number;
}

export interface GenerationOutput {
  /** Per prompt: its ids followed by the generated ids. */
  sequences: number[][];
  generated: number[][];
  timing: GenerationTiming;
}

export interface GenerationOptions extends SearchOptions {
  /** Decode against a KV cache (false: every step recomputes the whole sequence). */
  kvCache: boolean;
  /** Cache capacity grows in chunks of this many positions. */
  cacheChunk: number;
  /** Called after every decode step (progress). */
  onStep?: () => void;
}

/** The padded prompts as the model's token batch. */
const tokenBatch = (b: PaddedBatch): TokenBatch => ({ rows: b.rows, seq: b.seq, tokens: b.tokens, positions: b.positions, selfMask: b.mask });

/** Rows of the model's batch for `prompts` (beam search expands each prompt to numBeams rows). */
export const expandForBeams = (prompts: readonly number[][], beams: number): number[][] => prompts.flatMap((p) => Array.from({ length: beams }, () => [...p]));

abstract class Source implements StepModel {
  readonly rows: number;
  readonly vocab: number;
  readonly timing: GenerationTiming = { prefillMs: 0, steps: [], reorderMs: [], growMs: 0, kvAllocatedBytes: 0, finalLength: 0 };
  protected nextPosition: number[];

  constructor(
    protected readonly model: DecoderModel,
    protected readonly batch: PaddedBatch,
    protected readonly o: GenerationOptions,
  ) {
    this.rows = batch.rows;
    this.vocab = model.config.vocab;
    this.nextPosition = [...batch.nextPosition];
  }
  abstract prefill(): Promise<Float32Array>;
  abstract step(tokens: Int32Array): Promise<Float32Array>;
  abstract reorder(src: Int32Array): void;
  /** Ids as fed to the model: an id beyond its vocabulary (pad = eos 50256 in a small model) becomes 0, as padding is masked anyway. */
  protected feedable(tokens: Int32Array): Int32Array {
    return tokens.map((t) => (t < this.vocab ? t : 0));
  }
  protected positionsAndAdvance(): BigInt64Array {
    const p = BigInt64Array.from(this.nextPosition, BigInt);
    this.nextPosition = this.nextPosition.map((x) => x + 1);
    return p;
  }
}

/** The KV-cached decoder: prefill fills the cache, each step reads it and appends one position. */
class CachedSource extends Source {
  cache?: KvCache;

  async prefill(): Promise<Float32Array> {
    const { rows, seq } = this.batch;
    await this.model.prepare(rows);
    const t0 = performance.now();
    const out = await this.model.prefill(tokenBatch(this.batch));
    this.cache = new KvCache({ ...this.model.cacheShape, rows }, roundUp(seq + 1, this.o.cacheChunk), this.o.cacheChunk, this.model.cachePrecision);
    this.cache.writePrefill(out.kv, seq, this.batch.live, out.scales);
    this.timing.prefillMs = performance.now() - t0;
    return out.logits;
  }

  async step(tokens: Int32Array): Promise<Float32Array> {
    const cache = this.cache!;
    const positions = this.positionsAndAdvance();
    const t0 = performance.now();
    const grew = cache.growMs;
    const out = await this.model.step(BigInt64Array.from(this.feedable(tokens), BigInt), positions, cache);
    const context = cache.length + 1;
    cache.append(out.kv);
    this.timing.steps.push({ context, ms: performance.now() - t0 });
    this.timing.growMs += cache.growMs - grew;
    this.o.onStep?.();
    return out.logits;
  }

  reorder(src: Int32Array): void {
    this.timing.reorderMs.push(this.cache!.reorder(src));
    this.nextPosition = Array.from(src, (s) => this.nextPosition[s]!);
  }

  finish(): void {
    this.timing.kvAllocatedBytes = this.cache?.allocatedBytes() ?? 0;
    this.timing.finalLength = this.cache?.length ?? 0;
  }
}

/**
 * The cache on the device: the step graph writes it, each step's written caches are fed to
 * the next, and JS holds only the mask. Greedy ids come back alone when the model has its
 * argmax (`prefillIds`/`stepIds`).
 */
class ResidentSource extends Source implements GreedyStepModel {
  cache?: DeviceKvCache;

  async prefill(): Promise<Float32Array> {
    return this.logitsOf(await this.runPrefill());
  }

  async step(tokens: Int32Array): Promise<Float32Array> {
    return this.logitsOf(await this.runStep(tokens));
  }

  async prefillIds(avoid: number): Promise<Int32Array> {
    return this.idsOf(await this.runPrefill(), avoid);
  }

  async stepIds(tokens: Int32Array, avoid: number): Promise<Int32Array> {
    return this.idsOf(await this.runStep(tokens), avoid);
  }

  private async runPrefill(): Promise<ResidentStepOutput> {
    const { rows, seq } = this.batch;
    await this.model.prepare(rows);
    // the cache's own sessions are made before the clock starts, as the decoder's is
    this.cache = await DeviceKvCache.create({ ...this.model.cacheShape, rows }, roundUp(seq + 1, this.o.cacheChunk), {
      chunk: this.o.cacheChunk,
      device: this.model.device,
      reorder: this.o.numBeams > 1,
    });
    const t0 = performance.now();
    const out = await this.model.forwardResident(tokenBatch(this.batch), this.cache);
    this.cache.adopt(out.present, seq, this.batch.live);
    this.timing.prefillMs = performance.now() - t0;
    return out;
  }

  private async runStep(tokens: Int32Array): Promise<ResidentStepOutput> {
    const cache = this.cache!;
    const positions = this.positionsAndAdvance();
    const t0 = performance.now();
    const grew = cache.growMs;
    await cache.ensure(1);
    const fed = BigInt64Array.from(this.feedable(tokens), BigInt);
    const rows = tokens.length;
    const out = await this.model.forwardResident({ rows, seq: 1, tokens: fed, positions, selfMask: new Float32Array(rows) }, cache);
    const context = cache.length + 1;
    cache.adopt(out.present, 1);
    this.timing.steps.push({ context, ms: performance.now() - t0 });
    this.timing.growMs += cache.growMs - grew;
    this.o.onStep?.();
    return out;
  }

  /** The logits in JS: as returned, or downloaded where the step left them on the device. */
  private async logitsOf(out: ResidentStepOutput): Promise<Float32Array> {
    if (out.logits) return out.logits;
    const t = out.logitsOnDevice!;
    const data = (await this.model.download(t)).data as Float32Array;
    t.dispose();
    return data;
  }

  private async idsOf(out: ResidentStepOutput, avoid: number): Promise<Int32Array> {
    // the device's ids where they answer the question: no token to skip (none, or one outside
    // the vocabulary), or the graph's argmax that skips this one; else the logits are read, as a CPU search would
    const ids = avoid < 0 || avoid >= this.vocab ? out.nextIds : avoid === this.model.settings.argmaxAvoid ? out.nextIdsAvoiding : null;
    if (ids) {
      out.logitsOnDevice?.dispose();
      return Int32Array.from(ids, Number);
    }
    const logits = await this.logitsOf(out);
    const v = this.vocab;
    return Int32Array.from({ length: this.rows }, (_, r) => argmaxExcept(logits.subarray(r * v, (r + 1) * v), avoid));
  }

  async reorder(src: Int32Array): Promise<void> {
    this.timing.reorderMs.push(await this.cache!.reorder(src));
    this.nextPosition = Array.from(src, (s) => this.nextPosition[s]!);
  }

  async finish(): Promise<void> {
    this.timing.kvAllocatedBytes = this.cache?.allocatedBytes() ?? 0;
    this.timing.finalLength = this.cache?.length ?? 0;
    await this.cache?.release();
  }
}

/** No cache: every step runs the whole sequence so far, as a prefill (the same session). */
class UncachedSource extends Source {
  private history: number[][] = [];
  private live: boolean[][] = [];
  private positions: number[][] = [];

  async prefill(): Promise<Float32Array> {
    const { rows, seq } = this.batch;
    for (let r = 0; r < rows; r++) {
      this.history.push(Array.from(this.batch.tokens.subarray(r * seq, (r + 1) * seq), Number));
      this.live.push(this.batch.live.slice(r * seq, (r + 1) * seq));
      this.positions.push(Array.from(this.batch.positions.subarray(r * seq, (r + 1) * seq), Number));
    }
    await this.model.prepare(rows);
    const t0 = performance.now();
    const out = await this.model.prefill(tokenBatch(this.batch));
    this.timing.prefillMs = performance.now() - t0;
    return out.logits;
  }

  async step(tokens: Int32Array): Promise<Float32Array> {
    const pos = this.positionsAndAdvance();
    const feed = this.feedable(tokens);
    this.history.forEach((h, r) => {
      h.push(feed[r]!);
      this.live[r]!.push(true);
      this.positions[r]!.push(Number(pos[r]));
    });
    const rows = this.rows;
    const seq = this.history[0]!.length;
    const mask = new Float32Array(rows * seq * seq).fill(MASK_MIN);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < seq; i++) for (let j = 0; j <= i; j++) if (this.live[r]![j]) mask[(r * seq + i) * seq + j] = 0;
    const flat = (xs: number[][]) => BigInt64Array.from(xs.flat(), BigInt);
    const t0 = performance.now();
    const out = await this.model.prefill({ rows, seq, tokens: flat(this.history), positions: flat(this.positions), selfMask: mask });
    this.timing.steps.push({ context: seq, ms: performance.now() - t0 });
    this.o.onStep?.();
    return out.logits;
  }

  reorder(src: Int32Array): void {
    const t0 = performance.now();
    this.history = Array.from(src, (s) => [...this.history[s]!]);
    this.live = Array.from(src, (s) => [...this.live[s]!]);
    this.positions = Array.from(src, (s) => [...this.positions[s]!]);
    this.nextPosition = Array.from(src, (s) => this.nextPosition[s]!);
    this.timing.reorderMs.push(performance.now() - t0);
  }

  finish(): void {
    this.timing.finalLength = this.history[0]?.length ?? 0;
  }
}

/** Generate for `prompts` (unpadded ids). */
export async function generate(model: DecoderModel, prompts: readonly number[][], o: GenerationOptions): Promise<GenerationOutput> {
  if (!o.kvCache && model.cacheUpdate === 'graph') {
    throw new Error("kvCache false recomputes every step from an empty cache: give it a decoder whose cache the caller updates (cacheUpdate: 'caller')");
  }
  const rowsPrompts = expandForBeams([...prompts], o.numBeams);
  // padding is masked, so any id the model has will do where `pad` is beyond a small vocabulary
  const feedPad = o.pad < model.config.vocab ? o.pad : 0;
  const batch = leftPad(rowsPrompts, feedPad);
  const src = !o.kvCache ? new UncachedSource(model, batch, o) : model.cacheUpdate === 'graph' ? new ResidentSource(model, batch, o) : new CachedSource(model, batch, o);
  const generated = o.numBeams > 1 ? await beamSearch(src, o) : await greedyOrSample(src, o);
  await src.finish();
  // as Hugging Face returns them: the prompt left-padded with `pad`, then the generated ids
  const padded = (p: readonly number[]) => [...new Array<number>(batch.seq - p.length).fill(o.pad), ...p];
  return { sequences: prompts.map((p, i) => [...padded(p), ...generated[i]!]), generated, timing: src.timing };
}
