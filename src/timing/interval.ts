/**
 * Confidence intervals of a ratio of medians by the percentile bootstrap: the speedup of
 * one variant over another. Paired: runs of the two were taken in the same rounds, so a
 * resample draws whole rounds (drift within a round hits both); unpaired: two separate
 * runs (two result files), each side resampled on its own.
 */
import { median, quantile } from 'simple-statistics';
import { Rng } from '../core/rng.ts';

export interface RatioInterval {
  /** median(num) / median(den). */
  ratio: number;
  /** Bounds of the 95 % interval. */
  low: number;
  high: number;
  level: number;
  /** Samples on each side (rounds when paired). */
  n: number;
  method: 'paired-bootstrap' | 'bootstrap';
}

export interface IntervalOptions {
  paired: boolean;
  resamples?: number;
  level?: number;
  seed?: number;
}

function resample(xs: readonly number[], idx: Int32Array): number[] {
  return Array.from(idx, (i) => xs[i]!);
}

/** The interval of median(num) / median(den). */
export function ratioInterval(num: readonly number[], den: readonly number[], o: IntervalOptions): RatioInterval {
  if (num.length === 0 || den.length === 0) throw new Error('ratioInterval: no samples');
  if (o.paired && num.length !== den.length) throw new Error(`ratioInterval: paired samples differ in length (${num.length} vs ${den.length})`);
  const level = o.level ?? 0.95;
  const B = o.resamples ?? 2000;
  const rng = new Rng(o.seed ?? 1);
  const draw = (n: number) => Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * n));
  const ratios = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const i = draw(num.length);
    const j = o.paired ? i : draw(den.length);
    ratios[b] = median(resample(num, i)) / median(resample(den, j));
  }
  const sorted = Array.from(ratios);
  return {
    ratio: median([...num]) / median([...den]),
    low: quantile(sorted, (1 - level) / 2),
    high: quantile(sorted, 1 - (1 - level) / 2),
    level,
    n: Math.min(num.length, den.length),
    method: o.paired ? 'paired-bootstrap' : 'bootstrap',
  };
}
