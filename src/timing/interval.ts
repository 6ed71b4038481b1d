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

const pick = <T>(xs: readonly T[], idx: readonly number[]): T[] => idx.map((i) => xs[i]!);

/**
 * Percentile-bootstrap bounds of `statistic` over resamples of n units: each resample
 * draws n unit indices with replacement (for two samples: `[i, j]`, one draw per side, or
 * the same draw for both when paired).
 */
export function bootstrapBounds(draws: (draw: (n: number) => number[]) => number, o: Omit<IntervalOptions, 'paired'>): { low: number; high: number; level: number } {
  const level = o.level ?? 0.95;
  const rng = new Rng(o.seed ?? 1);
  const draw = (n: number) => Array.from({ length: n }, () => Math.floor(rng.uniform() * n));
  const values = Array.from({ length: o.resamples ?? 2000 }, () => draws(draw));
  return { low: quantile(values, (1 - level) / 2), high: quantile(values, 1 - (1 - level) / 2), level };
}

/** The interval of median(num) / median(den). */
export function ratioInterval(num: readonly number[], den: readonly number[], o: IntervalOptions): RatioInterval {
  if (num.length === 0 || den.length === 0) throw new Error('ratioInterval: no samples');
  if (o.paired && num.length !== den.length) throw new Error(`ratioInterval: paired samples differ in length (${num.length} vs ${den.length})`);
  const bounds = bootstrapBounds((draw) => {
    const i = draw(num.length);
    const j = o.paired ? i : draw(den.length);
    return median(pick(num, i)) / median(pick(den, j));
  }, o);
  return {
    ratio: median([...num]) / median([...den]),
    ...bounds,
    n: Math.min(num.length, den.length),
    method: o.paired ? 'paired-bootstrap' : 'bootstrap',
  };
}

/**
 * The interval of median(all of num's values) / median(all of den's) where both are split
 * into the same rounds (sample lists per round): a resample draws whole rounds, the same
 * ones for both sides, so values that shared a minute of the host stay together.
 */
export function roundsRatioInterval(num: readonly (readonly number[])[], den: readonly (readonly number[])[], o: Omit<IntervalOptions, 'paired'>): RatioInterval {
  if (num.length === 0 || num.length !== den.length) throw new Error(`roundsRatioInterval: ${num.length} vs ${den.length} rounds`);
  const ratio = (idx: readonly number[]) => median(pick(num, idx).flat()) / median(pick(den, idx).flat());
  const all = num.map((_, k) => k);
  return { ratio: ratio(all), ...bootstrapBounds((draw) => ratio(draw(num.length)), o), n: num.length, method: 'paired-bootstrap' };
}
