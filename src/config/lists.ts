/**
 * Flag values: numbers, and list and range arguments as llama-bench takes them: `8,16`,
 * `64-1984+128` (from 64 to 1984 in steps of 128), `64-2048*2` (doubling), or any
 * comma-separated mix. Each bad value is a UsageError naming the flag.
 */
import { MAX_LIST } from '../config/parse.ts';
import { UsageError } from '../core/errors.ts';

const POSITIVE = /^\d+$/;

function positive(flag: string, text: string): number {
  if (!POSITIVE.test(text)) throw new UsageError(`${flag}: '${text}' is not a positive integer`);
  const n = Number(text);
  if (n < 1) throw new UsageError(`${flag}: ${text} must be at least 1`);
  return n;
}

/** Parse a positive integer flag value. */
export const parsePositive = (flag: string) => (text: string) => positive(flag, text.trim());

/** Parse a non-negative integer flag value. */
export const parseCount = (flag: string) => (text: string) => {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: '${text}' is not a non-negative integer`);
  return Number(text);
};

/** Parse a number flag value. */
export const parseNumber = (flag: string) => (text: string) => {
  const v = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${flag}: '${text}' is not a number`);
  return v;
};


/** How many values a range holds, without building it (so `1-1000000000` is refused, not built). */
function rangeLength(from: number, to: number, op: string, step: number): number {
  return op === '+' ? Math.floor((to - from) / step) + 1 : Math.floor(Math.log(to / from) / Math.log(step) + 1e-9) + 1;
}

/** Parse a list of positive integers with ranges; duplicates are dropped, order kept. */
export function parseIntList(flag: string, text: string): number[] {
  const out: number[] = [];
  const tooMany = (n: number) => new UsageError(`${flag}: '${text}' holds ${n} values; a list takes at most ${MAX_LIST}`);
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (!item) throw new UsageError(`${flag}: empty item in '${text}'`);
    const m = /^([^-+*]+)-([^-+*]+)(?:([+*])([^-+*]+))?$/.exec(item);
    if (!m) {
      out.push(positive(flag, item));
      if (out.length > MAX_LIST) throw tooMany(out.length);
      continue;
    }
    const [, a, b, op = '+', s = '1'] = m;
    const from = positive(flag, a!);
    const to = positive(flag, b!);
    const step = positive(flag, s);
    if (from > to) throw new UsageError(`${flag}: range '${item}' is empty (${from} > ${to})`);
    if (op === '*' && step < 2) throw new UsageError(`${flag}: range '${item}' needs a factor of at least 2`);
    const n = out.length + rangeLength(from, to, op, step);
    if (n > MAX_LIST) throw tooMany(n);
    for (let v = from; v <= to; v = op === '+' ? v + step : v * step) out.push(v);
  }
  return [...new Set(out)];
}

/** Split a comma-separated list of names. */
export function parseNameList(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => !s)) throw new UsageError(`${flag}: empty item in '${text}'`);
  if (items.length > MAX_LIST) throw new UsageError(`${flag}: ${items.length} names; a list takes at most ${MAX_LIST}`);
  return items;
}

/** Parse a positive integer or the word `auto` (e.g. `--repeats`). */
export const parsePositiveOrAuto = (flag: string) => (text: string): number | 'auto' => (text.trim() === 'auto' ? 'auto' : positive(flag, text.trim()));
