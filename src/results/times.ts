/**
 * The rule for every time a result file holds, as zod types: every record (comparison.ts) and
 * every result kind (schema.ts) composes its times from these, so that nothing derived from
 * times is ever Infinity or NaN.
 */
import { z } from 'zod';
import { Samples, Summary } from '../timing/stats.ts';

/** The finest step of any clock a time here comes from (process.hrtime, the engine's profiler), ms. */
const NS_MS = 1e-6;
/** A year, ms: longer than any run of any command. */
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/**
 * The rule for every time a result file holds: a measured duration (a timed call, step or
 * generation: every sample, median, min, max, p90) lies between 1 ns and a year; a part of
 * one (a stage, the share of a step spent growing the cache, a reorder total) may also be 0 —
 * too short for the profiler to see, or nothing of that kind happened — never negative.
 * Within these bounds everything derived from times is a finite number: a ratio of two
 * medians (at most 3·10¹⁶), a mean of two samples, a sum or a variance. Zero, negative,
 * absurd (1e308 ms: over a real 0.2 ms, B/A is Infinity) or non-finite times
 * are refused on write and on read, with the field named; so no speedup, interval, chart or
 * gate is computed from them.
 */
function time(unit: 'ms' | 's', kind: 'measured' | 'part') {
  const perMs = unit === 'ms' ? 1 : 1e-3;
  const lo = kind === 'measured' ? NS_MS * perMs : 0;
  const what = kind === 'measured' ? `a measured time must be between 1 ns and a year (${lo} to ${YEAR_MS * perMs} ${unit})` : `a time must be between 0 and a year (0 to ${YEAR_MS * perMs} ${unit})`;
  const error = (iss: { input?: unknown }) => `${what}; it is ${String(iss.input)}`;
  return z.number({ error: (iss) => (typeof iss.input === 'number' ? error(iss) : undefined) }).gte(lo, { error }).lte(YEAR_MS * perMs, { error });
}

/** A measured duration in milliseconds or seconds, and a part of one that may be 0. */
export const Ms = time('ms', 'measured');
export const Seconds = time('s', 'measured');
export const PartMs = time('ms', 'part');
export const PartSeconds = time('s', 'part');

/** A summary of durations (`Summary` with the time rule): its spread is a time too, and may be 0. */
export const timeSummary = (t: z.ZodNumber, spread: z.ZodNumber) => Summary.extend({ median: t, min: t, max: t, p90: t, stddev: spread });
/** The same with every sample kept (`Samples` with the time rule). */
const timeSamples = (t: z.ZodNumber, spread: z.ZodNumber) => Samples.extend({ ...timeSummary(t, spread).shape, samples: z.array(t) });

export const MsSummary = timeSummary(Ms, PartMs);
export const MsSamples = timeSamples(Ms, PartMs);
export const SecondsSamples = timeSamples(Seconds, PartSeconds);

/** The range of a ratio of two times under the time rule: 1 ns / a year to its inverse (never 0, never Infinity). */
export const RATIO_RANGE = { min: NS_MS / YEAR_MS, max: YEAR_MS / NS_MS } as const;

const ratioError = (iss: { input?: unknown }) => `a ratio of two times must be between ${RATIO_RANGE.min} and ${RATIO_RANGE.max}; it is ${String(iss.input)}`;
/** A ratio of two times. */
export const Ratio = z.number().gte(RATIO_RANGE.min, { error: ratioError }).lte(RATIO_RANGE.max, { error: ratioError });
