/**
 * One generation on the decoder: prefill, then one step per token, with the strategy of
 * `search.ts`. With the KV cache (default) a step feeds one token per row; without it
 * (`kvCache: false`, as Hugging Face's use_cache=False) every step recomputes the whole
 * sequence. Every step's wall time is recorded with the context it attended to.
 */
import { MASK_MIN } from '../core/constants.ts';
import type { DecoderModel, TokenBatch } from '../model/model.ts';
import { KvCache, roundUp } from './kv-cache.ts';
import { leftPad, type PaddedBatch } from './prompts.ts';
import { beamSearch, greedyOrSample, type SearchOptions, type StepModel } from './search.ts';

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
    this.cache = new KvCache({ ...this.model.cacheShape, rows }, roundUp(seq + 1, this.o.cacheChunk), this.o.cacheChunk);
    this.cache.writePrefill(out.kv, seq, this.batch.live);
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
  const rowsPrompts = expandForBeams([...prompts], o.numBeams);
  // padding is masked, so any id the model has will do where `pad` is beyond a small vocabulary
  const feedPad = o.pad < model.config.vocab ? o.pad : 0;
  const batch = leftPad(rowsPrompts, feedPad);
  const src = o.kvCache ? new CachedSource(model, batch, o) : new UncachedSource(model, batch, o);
  const generated = o.numBeams > 1 ? await beamSearch(src, o) : await greedyOrSample(src, o);
  src.finish();
  // as Hugging Face returns them: the prompt left-padded with `pad`, then the generated ids
  const padded = (p: readonly number[]) => [...new Array<number>(batch.seq - p.length).fill(o.pad), ...p];
  return { sequences: prompts.map((p, i) => [...padded(p), ...generated[i]!]), generated, timing: src.timing };
}
