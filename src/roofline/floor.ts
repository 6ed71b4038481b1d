/**
 * The roofline: the least time a piece of work can take on this machine, and how close a
 * measurement came to the ceilings. Every floor, fraction and bound check in the project is
 * computed here, so a change of definition is made in one place.
 *
 *   floor = max(flops / compute ceiling, bytes / read bandwidth)
 *
 * The ceilings are the fastest samples the probes measured (`probes.ts`), and the bandwidth
 * is a streaming READ: bytes that must be read and written are counted once each at the
 * read rate, which only lowers the floor (writes are not faster than reads), so the floor
 * stays a lower bound. Two floors per result:
 *  - the task floor: the minimum FLOPs and bytes any implementation needs (weights and
 *    inputs read once, the live KV cache read once, outputs written once);
 *  - the implementation floor: the bytes this layout's graph really moves — every kernel's
 *    inputs and outputs as the engine's profiler reports them (copies, transposes, splits,
 *    a cache read at its allocated capacity) plus the weights.
 * Their gap is what a layout costs. A measurement below a floor, or a rate above a ceiling,
 * means the bound is wrong, and is flagged, never shown as a speed.
 */
import type { IntDtype } from '../precision/dtypes.ts';
import type { Ceilings } from './probes.ts';

/** The part of a cost's FLOPs that quantized weight products compute, and their dtype. */
export interface QuantizedFlops {
  dtype: IntDtype;
  flops: number;
}

/** What a piece of work must do: floating-point operations (some of them, perhaps, in a quantized product) and bytes moved. */
export interface Cost {
  flops: number;
  bytes: number;
  quantized?: QuantizedFlops;
}

/** The rates a floor divides by: float32 products, the quantized products per dtype (where probed), the read. */
export interface Rates {
  matmulGflops: number;
  readGBps: number;
  quantizedGflops?: Partial<Record<IntDtype, number>>;
}

/** The bounds of measured ceilings. */
export const ceilingRates = (c: Ceilings): Rates => ({
  matmulGflops: c.matmulGflops,
  readGBps: c.readGBps,
  ...(c.quantizedGflops ? { quantizedGflops: c.quantizedGflops } : {}),
});

/** Rates to estimate a run's duration with: the ceilings, or a guess before they are measured. */
export const estimateRates = (c: Ceilings | null | undefined): Rates => (c ? ceilingRates(c) : { matmulGflops: 100, readGBps: 10 });

/**
 * The roofline floor of `cost` at `rates`, in milliseconds. FLOPs of quantized products take
 * their dtype's measured ceiling; where none was measured they are left out of the compute
 * term (never divided by the float32 ceiling, which an int8 path can beat: the floor would
 * then not bound).
 */
export const floorMs = (cost: Cost, rates: Rates): number => Math.max(computeMs(cost, rates), cost.bytes / (rates.readGBps * 1e6));

/** The least time the FLOPs of `cost` take at the compute ceilings (the floor's compute term). */
export function computeMs(cost: Cost, rates: Rates): number {
  const q = cost.quantized;
  const qRate = q ? rates.quantizedGflops?.[q.dtype] : undefined;
  return (cost.flops - (q?.flops ?? 0)) / (rates.matmulGflops * 1e6) + (q && qRate ? q.flops / (qRate * 1e6) : 0);
}

/** The roof at arithmetic intensity `flopsPerByte`: min(compute ceiling, intensity × bandwidth), GFLOP/s. */
export const roofGflops = (flopsPerByte: number, rates: Rates): number => Math.min(rates.matmulGflops, flopsPerByte * rates.readGBps);

/** The rates `cost` reached in `ms`. */
export const achievedRates = (cost: Cost, ms: number): { gflops: number; gbps: number } => ({
  gflops: cost.flops / ms / 1e6,
  gbps: cost.bytes / ms / 1e6,
});

/**
 * Achieved rates as fractions of the ceilings (null without ceilings). The compute fraction is
 * the compute term of the floor over the time taken: the matmul rate over its ceiling where
 * everything is float32, and with quantized products each part against its own ceiling.
 */
export function ceilingFractions(cost: Cost, ms: number, c: Ceilings | null): { computeFraction: number | null; memoryFraction: number | null } {
  if (!c) return { computeFraction: null, memoryFraction: null };
  return { computeFraction: computeMs(cost, ceilingRates(c)) / ms, memoryFraction: achievedRates(cost, ms).gbps / c.readGBps };
}

/** How a measurement stands against its bounds: each entry names a bound the measurement broke. */
export type BoundFlag = `below ${'task' | 'implementation'} floor` | `${string} above the matmul ceiling`;

/**
 * The bounds a measurement broke: its fastest sample below a floor, or a stage's rate above
 * the matmul ceiling. Any of them means a bound is wrong (a probe that missed the machine's
 * best, a cost model that counts too much), not that the code is fast.
 */
export function boundFlags(fastestMs: number, floors: { task: number | null; implementation: number | null }, stageGflops: readonly { name: string; gflops: number | null }[], stageCeilingGflops: number | null): BoundFlag[] {
  const flags: BoundFlag[] = [];
  if (floors.task !== null && fastestMs < floors.task) flags.push('below task floor');
  if (floors.implementation !== null && fastestMs < floors.implementation) flags.push('below implementation floor');
  if (stageCeilingGflops !== null) for (const s of stageGflops) if (s.gflops !== null && s.gflops > stageCeilingGflops) flags.push(`${s.name} above the matmul ceiling`);
  return flags;
}
