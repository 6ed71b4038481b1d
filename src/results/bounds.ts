/**
 * A comparison record (a layer, a decode step) against the machine's bounds, and against
 * multi-head: the rates its median run reached, their fractions of the ceilings, its task and implementation floors,
 * the bounds it broke, and its speedup with a confidence interval. Pure functions of the
 * measured fields, so a run whose ceilings were probed again (a long or resumed sweep)
 * recomputes them against the final bounds when it writes its file.
 */
import type { Bounds, Comparison, Speedup } from './comparison.ts';
import type { LayerResult } from './schema.ts';
import { achievedRates, boundFlags, ceilingFractions, ceilingRates, floorMs } from '../roofline/floor.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { ratioInterval } from '../timing/interval.ts';
import { isInt, type Dtype } from '../precision/dtypes.ts';

/** The fields computed from the measurement and the ceilings. */
type Derived = keyof Bounds;

export type Measured = Omit<LayerResult, Derived>;

/** What the bounds of a measurement are computed from: its analytic cost, what its kernels moved, its timed runs and its stages' rates. */
export interface Bounded {
  flops: number;
  bytes: number;
  /** FLOPs of quantized weight products, at dtype `weightDtype`. */
  quantizedFlops?: number;
  weightDtype?: Dtype;
  implementationBytes: number | null;
  ms: { median: number; min: number };
  stages: readonly { name: string; gflops?: number }[];
}

/** The derived fields of any measurement (a layer, a decode step) against the ceilings. */
export function boundsOf(m: Bounded, c: Ceilings | null): Bounds {
  const achieved = achievedRates({ flops: m.flops, bytes: m.bytes }, m.ms.median);
  const rates = c ? ceilingRates(c) : null;
  const d = m.weightDtype;
  const quantized = d && isInt(d) && m.quantizedFlops ? { quantized: { dtype: d, flops: m.quantizedFlops } } : {};
  const taskFloorMs = rates ? floorMs({ flops: m.flops, bytes: m.bytes, ...quantized }, rates) : null;
  const implementationFloorMs = rates && m.implementationBytes !== null ? floorMs({ flops: m.flops, bytes: m.implementationBytes, ...quantized }, rates) : null;
  const stageRates = m.stages.map((s) => ({ name: s.name, gflops: s.gflops ?? null }));
  return {
    ...achieved,
    ...ceilingFractions({ flops: m.flops, bytes: m.bytes, ...quantized }, m.ms.median, c),
    taskFloorMs,
    implementationFloorMs,
    flags: boundFlags(m.ms.min, { task: taskFloorMs, implementation: implementationFloorMs }, stageRates, c && stageCeiling(c, d)),
  };
}

/**
 * The rate no stage may pass: the float32 matmul ceiling, or with quantized weights the
 * faster of it and their dtype's (a stage mixes both); null where that dtype's ceiling was
 * not probed (an int8 stage may beat the float32 ceiling, so that would flag a speed, not a
 * wrong bound).
 */
function stageCeiling(c: Ceilings, d: Dtype | undefined): number | null {
  if (!d || !isInt(d)) return c.matmulGflops;
  const q = c.quantizedGflops?.[d];
  return q ? Math.max(q, c.matmulGflops) : null;
}

/** A record against (final) ceilings: its derived fields recomputed from its own, the rest as measured. */
export const underRoofline = <T extends Omit<Comparison, Derived>>(r: T, c: Ceilings | null): T & Bounds => ({ ...r, ...boundsOf(r, c) });

/** The variant every speedup is taken against (in layer sweeps, decode comparisons and generations alike). */
export const BASELINE = 'multi-head';

/** What a speedup is computed from: the type, its samples in round order, and its check. */
type Speedable = Pick<Comparison, 'attention' | 'ms' | 'verify' | 'speedup'>;
const wrong = (r: Speedable) => r.verify !== undefined && !r.verify.ok;

/**
 * Each result's speedup over multi-head measured in the same rounds: the ratio of medians
 * with a paired bootstrap interval. None for multi-head itself, without a multi-head result
 * of the same rounds (`same`: measured together; by default the whole group), or when either
 * result verified wrong (a wrong answer has no speed).
 */
export function withSpeedups<T extends Speedable>(group: readonly T[], seed = 1, same: (a: T, b: T) => boolean = () => true): T[] {
  return group.map((r) => {
    const base = group.find((b) => b.attention === BASELINE && same(b, r));
    if (!base || r.attention === BASELINE || wrong(r) || wrong(base) || base.ms.samples.length !== r.ms.samples.length) return { ...r, speedup: null };
    return { ...r, speedup: pairedSpeedup(base.ms.samples, r.ms.samples, seed) };
  });
}

const sameLayer = (a: Measured, b: Measured) =>
  a.mode === b.mode && a.batch === b.batch && a.seq === b.seq && a.heads === b.heads && a.headDim === b.headDim && a.weightDtype === b.weightDtype;

/** A sweep's layer results with their speedups: multi-head of the same layer, batch and length is the baseline. */
export const withLayerSpeedups = <T extends Measured>(group: readonly T[], seed = 1): T[] => withSpeedups(group, seed, sameLayer);

/** Median of the baseline's runs over median of these, with a paired bootstrap interval (sample i of both from round i). */
export const pairedSpeedup = (baseline: readonly number[], runs: readonly number[], seed: number): Speedup => ({
  baseline: BASELINE,
  ...ratioInterval(baseline, runs, { paired: true, seed }),
});
