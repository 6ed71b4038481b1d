/** Summary statistics of repeated measurements (via simple-statistics), and their schema in result files. */
import { max, median, min, quantile, sampleStandardDeviation } from 'simple-statistics';
import { z } from 'zod';

export const Summary = z.object({
  median: z.number(),
  min: z.number(),
  max: z.number(),
  p90: z.number(),
  /** Sample standard deviation (n − 1); 0 when n = 1. */
  stddev: z.number().nonnegative(),
  n: z.number().int().positive(),
});
export type Summary = z.infer<typeof Summary>;

/** Summary plus every repetition's raw sample, in run order. */
export const Samples = Summary.extend({ samples: z.array(z.number()) });
export type Samples = z.infer<typeof Samples>;

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const xs = [...samples];
  return {
    median: median(xs),
    min: min(xs),
    max: max(xs),
    p90: quantile(xs, 0.9),
    stddev: xs.length > 1 ? sampleStandardDeviation(xs) : 0,
    n: xs.length,
  };
}

/** A summary that keeps its samples. */
export const withSamples = (xs: number[]): Samples => ({ ...summarize(xs), samples: xs });
