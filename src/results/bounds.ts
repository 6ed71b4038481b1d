/**
 * A layer result against the machine's bounds, and against multi-head: the rates its
 * median run reached, their fractions of the ceilings, its task and implementation floors,
 * the bounds it broke, and its speedup with a confidence interval. Pure functions of the
 * measured fields, so a run whose ceilings were probed again (a long or resumed sweep)
 * recomputes them against the final bounds when it writes its file.
 */
import type { Bounds, DecodeResult, LayerResult, Speedup } from './schema.ts';
import { achievedRates, boundFlags, ceilingFractions, ceilingRates, floorMs } from '../roofline/floor.ts';
import type { Ceilings } from '../roofline/ceilings.ts';
import { ratioInterval } from '../timing/interval.ts';

/** The fields computed from the measurement and the ceilings. */
type Derived = keyof Bounds;

export type Measured = Omit<LayerResult, Derived>;

/** What the bounds of a measurement are computed from: its analytic cost, what its kernels moved, its timed runs and its stages' rates. */
export interface Bounded {
  flops: number;
  bytes: number;
  implementationBytes: number | null;
  ms: { median: number; min: number };
  stages: readonly { name: string; gflops?: number }[];
}

/** The derived fields of any measurement (a layer, a decode step) against the ceilings. */
export function boundsOf(m: Bounded, c: Ceilings | null): Pick<LayerResult, Derived> {
  const achieved = achievedRates({ flops: m.flops, bytes: m.bytes }, m.ms.median);
  const rates = c ? ceilingRates(c) : null;
  const taskFloorMs = rates ? floorMs({ flops: m.flops, bytes: m.bytes }, rates) : null;
  const implementationFloorMs = rates && m.implementationBytes !== null ? floorMs({ flops: m.flops, bytes: m.implementationBytes }, rates) : null;
  const stageRates = m.stages.map((s) => ({ name: s.name, gflops: s.gflops ?? null }));
  return {
    ...achieved,
    ...ceilingFractions(achieved, c),
    taskFloorMs,
    implementationFloorMs,
    flags: boundFlags(m.ms.min, { task: taskFloorMs, implementation: implementationFloorMs }, stageRates, c),
  };
}

export const underRoofline = (r: Measured, c: Ceilings | null): LayerResult => ({ ...r, ...boundsOf({ ...r, ms: r.totalMs }, c) });

/** A decode step against (final) ceilings: its derived fields recomputed, the rest as measured. */
export const decodeUnderRoofline = (r: DecodeResult, c: Ceilings | null): DecodeResult => ({ ...r, ...boundsOf({ ...r, ms: r.stepMs }, c) });

/** The variant every speedup is taken against (in layer sweeps, decode comparisons and generations alike). */
export const BASELINE = 'multi-head';

const sameLayer = (a: Measured, b: Measured) => a.mode === b.mode && a.batch === b.batch && a.seq === b.seq && a.heads === b.heads && a.headDim === b.headDim;
const wrong = (r: Measured) => r.verify !== undefined && !r.verify.ok;

/**
 * Each result's speedup over multi-head measured in the same rounds: the ratio of medians
 * with a paired bootstrap interval. None for multi-head itself, without a multi-head result
 * of the same rounds, or when either result verified wrong (a wrong answer has no speed).
 */
export function withSpeedups<T extends Measured>(group: readonly T[], seed = 1): T[] {
  return group.map((r) => {
    const base = group.find((b) => b.variant === BASELINE && sameLayer(b, r));
    if (!base || r.variant === BASELINE || wrong(r) || wrong(base) || base.totalMs.samples.length !== r.totalMs.samples.length) return { ...r, speedup: null };
    return { ...r, speedup: pairedSpeedup(base.totalMs.samples, r.totalMs.samples, seed) };
  });
}

/** Median of the baseline's runs over median of these, with a paired bootstrap interval (sample i of both from round i). */
export const pairedSpeedup = (baseline: readonly number[], runs: readonly number[], seed: number): Speedup => ({
  baseline: BASELINE,
  ...ratioInterval(baseline, runs, { paired: true, seed }),
});
