/**
 * The roofline: the least time a piece of work can take on this machine, and how close a
 * measurement came to the ceilings. Every floor and fraction of a ceiling in the project
 * is computed here, so that a change of definition is made in one place.
 *
 *   floor = max(flops / compute ceiling, bytes / memory bandwidth)
 *
 * Today's definitions: the compute ceiling is the matmul probe's median GFLOP/s, the
 * memory bandwidth the copy probe's median GB/s (read + write counted).
 */
import type { Ceilings } from './probes.ts';

/** What a piece of work must do: floating-point operations and bytes moved. */
export interface Cost {
  flops: number;
  bytes: number;
}

/** The rates a floor divides by. */
export interface Rates {
  matmulGflops: number;
  copyGBps: number;
}

/** The rates of measured ceilings (their medians). */
export const ceilingRates = (c: Ceilings): Rates => ({ matmulGflops: c.matmulGflops.median, copyGBps: c.copyGBps.median });

/** The roofline floor of `cost` at `rates`, in milliseconds. */
export const floorMs = (cost: Cost, rates: Rates): number =>
  Math.max(cost.flops / (rates.matmulGflops * 1e6), cost.bytes / (rates.copyGBps * 1e6));

/** The roof at arithmetic intensity `flopsPerByte`: min(compute ceiling, intensity × bandwidth), GFLOP/s. */
export const roofGflops = (flopsPerByte: number, rates: Rates): number => Math.min(rates.matmulGflops, flopsPerByte * rates.copyGBps);

/** The rates `cost` reached in `ms`. */
export const achievedRates = (cost: Cost, ms: number): { gflops: number; gbps: number } => ({
  gflops: cost.flops / ms / 1e6,
  gbps: cost.bytes / ms / 1e6,
});

/** Achieved rates as fractions of the ceilings' (null without ceilings). */
export function ceilingFractions(achieved: { gflops: number; gbps: number }, c: Ceilings | null): { computeFraction: number | null; memoryFraction: number | null } {
  if (!c) return { computeFraction: null, memoryFraction: null };
  const r = ceilingRates(c);
  return { computeFraction: achieved.gflops / r.matmulGflops, memoryFraction: achieved.gbps / r.copyGBps };
}
