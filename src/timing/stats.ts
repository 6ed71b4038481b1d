/** Summary statistics of repeated measurements (via simple-statistics). */
import { max, median, min, quantile, sampleStandardDeviation } from 'simple-statistics';

export interface Summary {
  median: number;
  min: number;
  max: number;
  p90: number;
  /** Sample standard deviation (n − 1); 0 when n = 1. */
  stddev: number;
  n: number;
}

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
