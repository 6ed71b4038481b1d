/**
 * A layer result against the machine's bounds, and against multi-head: the rates its
 * median run reached, their fractions of the ceilings, its task and implementation floors,
 * the bounds it broke, and its speedup with a confidence interval. Pure functions of the
 * measured fields, so a run whose ceilings were probed again (a long or resumed sweep)
 * recomputes them against the final bounds when it writes its file.
 */
import type { LayerResult } from './schema.ts';
import { achievedRates, boundFlags, ceilingFractions, ceilingRates, floorMs } from '../roofline/floor.ts';
import type { Ceilings } from '../roofline/ceilings.ts';
import { ratioInterval } from '../timing/interval.ts';

/** The fields computed from the measurement and the ceilings. */
type Derived = 'gflops' | 'gbps' | 'computeFraction' | 'memoryFraction' | 'taskFloorMs' | 'implementationFloorMs' | 'flags';

export type Measured = Omit<LayerResult, Derived>;

export function underRoofline(r: Measured, c: Ceilings | null): LayerResult {
  const achieved = achievedRates({ flops: r.flops, bytes: r.bytes }, r.totalMs.median);
  const rates = c ? ceilingRates(c) : null;
  const taskFloorMs = rates ? floorMs({ flops: r.flops, bytes: r.bytes }, rates) : null;
  const implementationFloorMs = rates && r.implementationBytes !== null ? floorMs({ flops: r.flops, bytes: r.implementationBytes }, rates) : null;
  const stageRates = r.stages.map((s) => ({ name: s.name, gflops: s.gflops ?? null }));
  return {
    ...r,
    ...achieved,
    ...ceilingFractions(achieved, c),
    taskFloorMs,
    implementationFloorMs,
    flags: boundFlags(r.totalMs.min, { task: taskFloorMs, implementation: implementationFloorMs }, stageRates, c),
  };
}

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
    const ci = ratioInterval(base.totalMs.samples, r.totalMs.samples, { paired: true, seed });
    return { ...r, speedup: { baseline: BASELINE, ...ci } };
  });
}
