/**
 * Prompts: GPT-2's byte-level BPE (`gpt-tokenizer`'s r50k_base, which ships its
 * vocabulary), seeded random token ids as the seed used, and left padding with an
 * attention mask so that a batch of different lengths runs as one.
 */
import { decode, encode } from 'gpt-tokenizer/encoding/r50k_base';
import { MASK_MIN } from '../core/constants.ts';
import { Rng } from '../core/rng.ts';
import { EOS_TOKEN } from '../model/config.ts';

const EOT_TEXT = '<|endoftext|>';

/** Encode text as GPT-2 does; `<|endoftext|>` in the text is the special token 50256. */
export function encodeText(text: string): number[] {
  return text.split(EOT_TEXT).flatMap((part, i) => [...(i > 0 ? [EOS_TOKEN] : []), ...encode(part, { disallowedSpecial: new Set() })]);
}

/** Decode ids to text, skipping special tokens (and ids beyond GPT-2's vocabulary, which a random model may emit). */
export function decodeIds(ids: readonly number[]): string {
  return decode(ids.filter((t) => t >= 0 && t < EOS_TOKEN));
}

/** `rows` prompts of `length` random ids in [0, min(vocab, 50256)) (never eos). */
export function randomPrompts(rows: number, length: number, vocab: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const top = Math.min(vocab, EOS_TOKEN);
  return Array.from({ length: rows }, () => Array.from({ length }, () => Math.floor(rng.uniform() * top)));
}

/** A left-padded batch: everything the prefill graph takes, plus what decoding needs to go on. */
export interface PaddedBatch {
  rows: number;
  /** Padded length (the longest prompt). */
  seq: number;
  tokens: BigInt64Array;
  /** Hugging Face's position ids: cumsum(mask) − 1, padding at 1. */
  positions: BigInt64Array;
  /** Additive [rows, seq, seq]: causal, and padding keys hidden. */
  mask: Float32Array;
  live: boolean[];
  /** The position id of each row's next token. */
  nextPosition: number[];
}

export function leftPad(prompts: readonly (readonly number[])[], pad: number): PaddedBatch {
  const rows = prompts.length;
  const seq = prompts.reduce((n, p) => Math.max(n, p.length), 0); // no spread: a batch may have more rows than the stack has room for arguments
  const tokens = new BigInt64Array(rows * seq);
  const positions = new BigInt64Array(rows * seq);
  const live = new Array<boolean>(rows * seq).fill(false);
  const mask = new Float32Array(rows * seq * seq).fill(MASK_MIN);
  prompts.forEach((p, r) => {
    const padN = seq - p.length;
    for (let t = 0; t < seq; t++) {
      const isLive = t >= padN;
      live[r * seq + t] = isLive;
      tokens[r * seq + t] = BigInt(isLive ? p[t - padN]! : pad);
      positions[r * seq + t] = BigInt(isLive ? t - padN : 1);
    }
    for (let i = 0; i < seq; i++) for (let j = padN; j <= i; j++) mask[(r * seq + i) * seq + j] = 0;
  });
  return { rows, seq, tokens, positions, mask, live, nextPosition: prompts.map((p) => p.length) };
}
