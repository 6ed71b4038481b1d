/**
 * Decoding strategies over any source of logits (`StepModel`), so that each can be tested
 * on hand-made logits: greedy, seeded sampling, and beam search (Hugging Face's
 * BeamSearchScorer: 2·beams candidates per prompt, finished hypotheses scored
 * sum_logprobs / generated_length^length_penalty, early stopping true / false / never).
 *
 * Logits that are not finite (NaN, ±∞: NaN weights, an overflow) stop the generation with a
 * one-line error naming the step, instead of decoding garbage (greedy's argmax of NaNs is
 * token 0, forever). The check rides along the pass each strategy makes over a row anyway.
 */
import type { EarlyStopping } from '../config/generate.ts';
import { UsageError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { checkedLogSoftmax, minNewTokens, sampleFrom, warp, type TokenBan } from './logits.ts';

/** Where logits come from: a model with its KV cache, or a test's hand-made table. */
export interface StepModel {
  readonly rows: number;
  readonly vocab: number;
  /** Logits [rows·vocab] for the token after each row's prompt. */
  prefill(): Promise<Float32Array>;
  /** Feed one token per row; logits for the next one. */
  step(tokens: Int32Array): Promise<Float32Array>;
  /** Row r continues from row src[r]'s history (beam search). */
  reorder(src: Int32Array): void | Promise<void>;
}

/**
 * A source whose device picks the greedy token itself (an ArgMax in the step graph), so
 * only ids come back, not rows × vocab logits. `avoid` is a token the choice must skip (eos
 * before --min-new-tokens), or −1.
 */
export interface GreedyStepModel extends StepModel {
  prefillIds(avoid: number): Promise<Int32Array>;
  stepIds(tokens: Int32Array, avoid: number): Promise<Int32Array>;
}

const choosesOnDevice = (m: StepModel): m is GreedyStepModel => 'stepIds' in m && 'prefillIds' in m;

export interface SearchOptions {
  maxNewTokens: number;
  minNewTokens: number;
  eos: number;
  pad: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
}

/** Generated ids per prompt (padded with `pad` after a row's eos, as Hugging Face returns them). */
export type Generated = number[][];

const rowOf = (logits: Float32Array, r: number, v: number) => logits.slice(r * v, (r + 1) * v);

/** The end-of-sequence rule of a search: no eos before --min-new-tokens. */
const noEarlyEos = (o: SearchOptions): TokenBan => minNewTokens(o.minNewTokens, o.eos);

function allFinite(row: Float32Array): boolean {
  let poison = 0;
  for (let i = 0; i < row.length; i++) poison += row[i]! - row[i]!;
  return poison === 0;
}

/** A running maximum over part of a row, and the sum of v − v over it (0 while every value is finite, NaN after NaN or ±∞). */
interface MaxScan {
  best: number;
  value: number;
  poison: number;
}

function scanMax(row: Float32Array, from: number, to: number, s: MaxScan): void {
  let { best, value, poison } = s;
  for (let i = from; i < to; i++) {
    const v = row[i]!;
    poison += v - v;
    if (v > value) {
      value = v;
      best = i;
    }
  }
  s.best = best;
  s.value = value;
  s.poison = poison;
}

/**
 * argmax skipping index `skip` (the first maximum on ties); -1 when the row holds a value
 * that is not finite. One plain loop with the finiteness check in it, and a second pass only
 * when the skipped index is the maximum (eos wanted before --min-new-tokens): measured faster
 * than the single loop with a branch on the index it replaced.
 */
export function argmaxExcept(row: Float32Array, skip: number): number {
  const all: MaxScan = { best: -1, value: -Infinity, poison: 0 };
  scanMax(row, 0, row.length, all);
  if (all.poison !== 0) return -1;
  if (all.best !== skip) return all.best;
  const rest: MaxScan = { best: -1, value: -Infinity, poison: 0 };
  scanMax(row, 0, skip, rest);
  scanMax(row, skip + 1, row.length, rest);
  return rest.best;
}

/** Where logits came from, for the message: the prefill's, or decode step t's. */
const stepName = (t: number) => (t === 0 ? 'the prefill' : `decode step ${t}`);

/** The error that stops a generation whose logits are not finite, naming the step, the row and the first bad value. */
export function nonFiniteLogits(row: ArrayLike<number>, t: number, r: number, after = ''): UsageError {
  let i = 0;
  while (i < row.length && Number.isFinite(row[i]!)) i++;
  const value = i < row.length ? String(row[i]) : 'a non-finite value';
  return new UsageError(
    `generation stopped at ${stepName(t)}: the logits${after} of row ${r} hold ${value} (token ${i}); numbers that are not finite cannot be trusted (NaN or infinite weights, or an overflow)`,
  );
}

/** Greedy or sampling: one row per prompt. */
export async function greedyOrSample(m: StepModel, o: SearchOptions): Promise<Generated> {
  const rng = new Rng(o.seed);
  const out: Generated = Array.from({ length: m.rows }, () => []);
  const unfinished = new Array<boolean>(m.rows).fill(true);
  if (!o.doSample && choosesOnDevice(m)) return greedyOnDevice(m, o, out, unfinished);
  const eos = noEarlyEos(o);
  let logits = await m.prefill();
  for (let t = 0; t < o.maxNewTokens; t++) {
    const next = new Int32Array(m.rows);
    for (let r = 0; r < m.rows; r++) {
      let tok: number;
      if (o.doSample) {
        const row = rowOf(logits, r, m.vocab);
        if (!allFinite(row)) throw nonFiniteLogits(row, t, r);
        const warped = warp(eos.apply(row, t), o);
        // −∞ is how the warpers drop a token; NaN or +∞ after them is an overflow (a tiny temperature)
        if (warped.some((v) => v !== v || v === Infinity)) throw nonFiniteLogits(warped.map((v) => (v === -Infinity ? 0 : v)), t, r, ` divided by --temperature ${o.temperature}`);
        tok = sampleFrom(warped, rng.uniform());
      } else {
        // greedy reads the logits in place (no copy per row), skipping the token the rule forbids
        const row = logits.subarray(r * m.vocab, (r + 1) * m.vocab);
        tok = argmaxExcept(row, eos.at(t));
        if (tok < 0) throw nonFiniteLogits(row, t, r);
      }
      next[r] = unfinished[r] ? tok : o.pad;
      out[r]!.push(next[r]!);
      if (next[r] === o.eos) unfinished[r] = false;
    }
    if (t === o.maxNewTokens - 1 || !unfinished.includes(true)) break;
    logits = await m.step(next);
  }
  return out;
}

/** Greedy with the argmax taken on the device: the same choices as reading the logits (first maximum, eos skipped before min tokens). */
async function greedyOnDevice(m: GreedyStepModel, o: SearchOptions, out: Generated, unfinished: boolean[]): Promise<Generated> {
  const eos = noEarlyEos(o);
  let ids = await m.prefillIds(eos.at(0));
  for (let t = 0; t < o.maxNewTokens; t++) {
    const next = new Int32Array(m.rows);
    for (let r = 0; r < m.rows; r++) {
      next[r] = unfinished[r] ? ids[r]! : o.pad;
      out[r]!.push(next[r]!);
      if (next[r] === o.eos) unfinished[r] = false;
    }
    if (t === o.maxNewTokens - 1 || !unfinished.includes(true)) break;
    ids = await m.stepIds(next, eos.at(t + 1));
  }
  return out;
}

interface Hypothesis {
  score: number;
  tokens: number[];
}

/** Hugging Face's BeamHypotheses: the best `beams` finished sequences of one prompt. */
export class BeamHypotheses {
  readonly beams: Hypothesis[] = [];
  worst = 1e9;

  constructor(
    readonly numBeams: number,
    readonly lengthPenalty: number,
    readonly earlyStopping: EarlyStopping,
    readonly maxNewTokens: number,
  ) {}

  add(tokens: number[], sumLogprobs: number, generatedLen: number): void {
    const score = sumLogprobs / generatedLen ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worst) {
      this.beams.push({ score, tokens });
      if (this.beams.length > this.numBeams) {
        const sorted = this.beams.map((b, i) => [b.score, i] as const).sort((a, b) => a[0] - b[0]);
        this.beams.splice(sorted[0]![1], 1);
        this.worst = sorted[1]![0];
      } else this.worst = Math.min(score, this.worst);
    }
  }

  /** Can no running beam beat the worst finished one any more? */
  isDone(bestSumLogprobs: number, generatedLen: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    const len = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxNewTokens : generatedLen;
    return this.worst >= bestSumLogprobs / len ** this.lengthPenalty;
  }

  best(): Hypothesis {
    return this.beams.reduce((a, b) => (b.score > a.score ? b : a));
  }
}

/**
 * Beam search over `m.rows = prompts · numBeams` rows (each prompt's rows are consecutive
 * and start identical). Returns one sequence per prompt: the best hypothesis, ended by eos
 * when it is shorter than the longest, then padded.
 */
export async function beamSearch(m: StepModel, o: SearchOptions): Promise<Generated> {
  const nb = o.numBeams;
  const prompts = m.rows / nb;
  let scores = new Float64Array(m.rows).map((_, r) => (r % nb === 0 ? 0 : -1e9));
  let seqs: number[][] = Array.from({ length: m.rows }, () => []);
  const hyps = Array.from({ length: prompts }, () => new BeamHypotheses(nb, o.lengthPenalty, o.earlyStopping, o.maxNewTokens));
  const done = new Array<boolean>(prompts).fill(false);
  const eos = noEarlyEos(o);
  let logits = await m.prefill();
  for (let t = 0; t < o.maxNewTokens; t++) {
    const next = beamScores(logits, scores, m.vocab, t, eos);
    const chosen = { scores: new Float64Array(m.rows), tokens: new Int32Array(m.rows), src: new Int32Array(m.rows) };
    for (let b = 0; b < prompts; b++) {
      if (done[b]) fillDone(chosen, b * nb, nb, o.pad);
      else done[b] = advancePrompt(next, b, seqs, hyps[b]!, chosen, { nb, vocab: m.vocab, t, eos: o.eos });
    }
    const { tokens, src } = chosen;
    seqs = Array.from(src, (s, r) => [...seqs[s]!, tokens[r]!]);
    scores = chosen.scores;
    if (t === o.maxNewTokens - 1 || !done.includes(false)) break;
    if (src.some((s, r) => s !== r)) await m.reorder(src);
    logits = await m.step(tokens);
  }
  return bestSequences(hyps, done, seqs, scores, o);
}

/** Every row's log-probabilities plus its beam's score so far (eos ruled out before the minimum length), [rows · vocab]. */
function beamScores(logits: Float32Array, scores: Float64Array, V: number, t: number, eos: TokenBan): Float64Array {
  const next = new Float64Array(scores.length * V);
  for (let r = 0; r < scores.length; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    const lp = checkedLogSoftmax(row);
    if (!lp) throw nonFiniteLogits(row, t, r);
    eos.apply(lp, t);
    for (let i = 0; i < V; i++) next[r * V + i] = lp[i]! + scores[r]!;
  }
  return next;
}

/** The beams chosen for the next step: each row's score, token, and the row it continues. */
interface Chosen {
  scores: Float64Array;
  tokens: Int32Array;
  src: Int32Array;
}

/** A finished prompt's rows: padding, each continuing its first row. */
function fillDone(c: Chosen, base: number, nb: number, pad: number): void {
  for (let j = 0; j < nb; j++) [c.scores[base + j], c.tokens[base + j], c.src[base + j]] = [0, pad, base];
}

/**
 * One prompt's step: of its 2·nb best candidates, eos among the first nb ends a hypothesis,
 * the others fill its nb beams in order. Returns whether the prompt is done.
 */
function advancePrompt(next: Float64Array, b: number, seqs: number[][], hyps: BeamHypotheses, c: Chosen, s: { nb: number; vocab: number; t: number; eos: number }): boolean {
  const { nb, vocab: V, t } = s;
  const base = b * nb;
  const cands = topCandidates(next.subarray(base * V, (base + nb) * V), 2 * nb);
  let j = 0;
  for (const [rank, cand] of cands.entries()) {
    const beam = Math.floor(cand.index / V);
    const token = cand.index % V;
    if (token === s.eos) {
      if (rank >= nb) continue;
      hyps.add([...seqs[base + beam]!], cand.score, t + 1);
    } else {
      [c.scores[base + j], c.tokens[base + j], c.src[base + j]] = [cand.score, token, base + beam];
      j++;
    }
    if (j === nb) break;
  }
  return hyps.isDone(cands[0]!.score, t + 1);
}

/** Each prompt's best hypothesis (its running beams count where it is not done), ended by eos when shorter than the longest, then padded. */
function bestSequences(hyps: BeamHypotheses[], done: boolean[], seqs: number[][], scores: Float64Array, o: SearchOptions): Generated {
  const nb = o.numBeams;
  const best = hyps.map((h, b) => {
    if (!done[b]) for (let j = 0; j < nb; j++) h.add(seqs[b * nb + j]!, scores[b * nb + j]!, seqs[b * nb + j]!.length);
    return h.best().tokens;
  });
  const longest = best.reduce((n, s) => Math.max(n, s.length), 0);
  const width = Math.min(longest + 1, o.maxNewTokens);
  return best.map((s) => {
    const out = [...s];
    if (out.length < width) out.push(o.eos);
    while (out.length < width) out.push(o.pad);
    return out;
  });
}

/** The k best (score, flat index) pairs, best first; ties go to the lower index. */
export function topCandidates(xs: Float64Array, k: number): { score: number; index: number }[] {
  const best: { score: number; index: number }[] = [];
  for (let i = 0; i < xs.length; i++) {
    const s = xs[i]!;
    if (best.length === k && s <= best[k - 1]!.score) continue;
    let j = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push({ score: s, index: i });
    else best[j] = { score: s, index: i };
    while (j > 0 && best[j - 1]!.score < s) {
      [best[j - 1], best[j]] = [best[j]!, best[j - 1]!];
      j--;
    }
  }
  return best;
}
