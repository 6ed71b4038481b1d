/**
 * A machine's ceilings, measured through a runtime (src/engine/runtime.ts) with the run's own
 * settings, so every figure can be read as a fraction of what this hardware reaches there —
 * and is bounded by it. Platform-neutral: Node probes through onnxruntime-node
 * (`node-ceilings.ts`), the browser page through onnxruntime-web, with the same graphs and rules:
 *
 *  - compute: float32 MatMul GFLOP/s over the kernel's own time (the engine's profiler; on
 *    a GPU its program times), for a large square product (its B operand an input, and a
 *    pre-packed constant) and for the shapes the run itself multiplies;
 *  - memory: streaming through the engine over buffers several times the last-level cache,
 *    bytes over kernel time — a read (ReduceSum) and an elementwise Add (two inputs read,
 *    one written: its reads and its write counted), because the floors count every byte a
 *    kernel reads or writes at one rate, so the rate must bound both (measured on the CPU,
 *    an Add moves its bytes faster than ReduceSum reads them); a JS buffer copy (read +
 *    write counted) is kept as a second figure, never used by a floor.
 *
 * A ceiling must bound what is measured, and a shared host drifts by 20–40 % within
 * minutes: the bound is the FASTEST sample of every probe taken in the run (a sweep probes
 * again between configurations), not a median.
 */
import { z } from 'zod';
import { F32 } from '../core/constants.ts';
import { GraphBuilder } from '../engine/graph.ts';
import type { IntDtype } from '../precision/dtypes.ts';
import { quantizeWeights } from '../precision/weight-graph.ts';
import type { HostTensors, Runtime } from '../engine/runtime.ts';
import { timeRuns } from '../timing/measure.ts';
import { Samples, withSamples } from '../timing/stats.ts';

/** A (batched) product [batch, m, k] · [batch, k, n]; `constantB`: B is an initializer, pre-packed by the engine. */
export interface MatmulShape {
  batch: number;
  m: number;
  k: number;
  n: number;
  constantB: boolean;
  /** The weight first: A [m, k] a constant and B given as [n, k], one Gemm with transB (multi-query's W·Hᵀ), a different kernel than x·W. */
  weightFirst?: boolean;
}

export const shapeLabel = (s: MatmulShape): string =>
  `${s.batch > 1 ? `${s.batch}×` : ''}${s.m}×${s.k}×${s.n}${s.weightFirst ? ' (W·Xᵀ)' : s.constantB ? ' (B constant)' : ''}`;
export const matmulFlops = (s: MatmulShape): number => 2 * s.batch * s.m * s.k * s.n;

/** One probing: when, why, and every sample. */
export const Probe = z.object({
  at: z.string(),
  /** Why it was taken: 'start', 'between configurations', 'resume', ... */
  label: z.string(),
  matmul: z.array(z.object({ shape: z.string(), flops: z.number().positive(), gflops: Samples })),
  /** The same products with quantized weights, through the engine's int8 paths (src/precision/weight-graph.ts), where the run has quantized weights. */
  quantized: z.array(z.object({ dtype: z.enum(['int8', 'int4']), shape: z.string(), flops: z.number().positive(), gflops: Samples })).optional(),
  readGBps: Samples,
  /** An elementwise Add over buffers past the cache: bytes read and written over kernel time. */
  streamGBps: Samples,
  copyGBps: Samples,
});
export type Probe = z.infer<typeof Probe>;

export const CpuPeak = z.object({
  gflops: z.number().positive(),
  cores: z.number().int().positive(),
  ghz: z.number().positive(),
  flopsPerCycle: z.number().positive(),
  method: z.string(),
});
export type CpuPeak = z.infer<typeof CpuPeak>;

export const Ceilings = z.object({
  /** The compute bound: the fastest MatMul sample of any probe, GFLOP/s over kernel time. */
  matmulGflops: z.number().positive(),
  /** The memory bound: the fastest streaming sample of any probe (a read, or an Add's reads and write), GB/s over kernel time. */
  readGBps: z.number().positive(),
  /**
   * The quantized products' compute bounds, GFLOP/s (2 per multiply-add) over kernel time:
   * int8, DynamicQuantizeMatMul; int4, MatMulNBits at accuracy level 4 — each the fastest
   * sample of its probe. Absent from runs that probed no quantized product.
   */
  quantizedGflops: z.object({ int8: z.number().positive().optional(), int4: z.number().positive().optional() }).optional(),
  /** The fastest JS copy sample, GB/s with read + write counted (shown beside; floors use the read). */
  copyGBps: z.number().positive(),
  /** The CPU's theoretical peak (nominal clock), recorded beside the measured bound and shown as one only where it is above it (`peakNote`); null where the OS does not say. */
  peak: CpuPeak.nullable(),
  /** Every probing of the run, in order. */
  probes: z.array(Probe).min(1),
  method: z.string(),
});
export type Ceilings = z.infer<typeof Ceilings>;

/** How large the probes are: the square product's side, the read and copy sizes, timed runs per probe. */
export interface ProbeSizes {
  square: number;
  readMiB: number;
  /** Each input of the Add. */
  streamMiB: number;
  copyMiB: number;
  runs: number;
}

export const FULL_PROBES: ProbeSizes = { square: 2048, readMiB: 256, streamMiB: 64, copyMiB: 64, runs: 15 };
/** Tiny probes for tests (a 256³ product, 4 MiB, 5 runs): the figures then bound nothing. */
export const QUICK_PROBES: ProbeSizes = { square: 256, readMiB: 4, streamMiB: 4, copyMiB: 4, runs: 5 };

export interface ProbeOptions {
  /** Products the run itself multiplies (probed beside the square ones). */
  shapes?: readonly MatmulShape[];
  /** QUICK_PROBES: the figures then bound nothing (the method says so). */
  quick?: boolean;
  /** Other sizes than FULL_PROBES (a software GPU in a page cannot take a 2048³ product 17 times in reasonable time). */
  sizes?: ProbeSizes;
  /** The most FLOPs one run of a probe of the run's own products may take (default MAX_PROBE_FLOPS; a software adapter takes far fewer). */
  maxFlops?: number;
  label?: string;
  /** Quantized weight dtypes the run multiplies: their products are probed too (the square one and the run's own constant-weight ones). */
  dtypes?: readonly IntDtype[];
}

export const probeSizes = (o: Pick<ProbeOptions, 'quick' | 'sizes'>): ProbeSizes => (o.quick ? QUICK_PROBES : (o.sizes ?? FULL_PROBES));

/** Products larger than this are probed at fewer rows: the rate is what matters, and a probe must stay short. */
const MAX_PROBE_FLOPS = 2e10;
const WARMUP = 2;

/** Each run's kernel time (ms) after the warm-up runs. */
const kernelMs = async (s: { endProfiling(): Promise<{ kernels: { dur: number }[] }[]> }): Promise<number[]> =>
  (await s.endProfiling()).slice(WARMUP).map((run) => run.kernels.reduce((t, k) => t + k.dur, 0) / 1000);

/**
 * The rate of each run that moved `amount` (GFLOP or GB, as amount / ms / 1e6) in its kernel
 * time. A run the profiler timed at 0 (faster than its clock: a tiny probe, a page's coarse
 * profiler) has no rate, not an infinite one, and is left out: none may be left.
 */
const ratesOf = async (amount: number, s: Parameters<typeof kernelMs>[0]): Promise<number[]> =>
  (await kernelMs(s)).filter((ms) => ms > 0).map((ms) => amount / ms / 1e6);

/** A bound needs at least one timed run: a probe with none says so, rather than bounding a run by Infinity or nothing. */
function timed(what: string, rates: number[]): number[] {
  if (rates.length === 0) throw new Error(`the ${what} probe: every run was faster than the profiler's clock can tell; a larger probe is needed on this runtime`);
  return rates;
}

/**
 * Run graph `g` on `inputs` through `rt`, WARMUP + `runs` times, profiled, and give the rate
 * of each timed run that moved `amount` (GFLOP or GB) in its kernel time: what every engine
 * probe does once its graph and inputs are made.
 */
async function profiledRates(rt: Runtime, g: GraphBuilder, inputs: HostTensors, runs: number, amount: number): Promise<number[]> {
  const session = await rt.createSession(g.toBytes(), { profile: true });
  try {
    const feeds = session.feeds(inputs);
    await timeRuns(WARMUP + runs, () => session.run(feeds), rt.now);
    return await ratesOf(amount, session);
  } finally {
    await session.release();
  }
}

/**
 * GFLOP/s of each of `runs` runs of one product, over its kernel time (none for a run the
 * profiler timed at 0). With `dtype`, its constant weight is quantized by the same pass the
 * runs' graphs take (src/precision/weight-graph.ts): the int8 path's rate, kernel for kernel.
 */
export async function probeMatmul(rt: Runtime, s: MatmulShape, runs: number, dtype?: IntDtype): Promise<number[]> {
  if (s.weightFirst) return probeWeightFirst(rt, s, runs, dtype);
  const g = new GraphBuilder('probe-matmul');
  const aDims = s.batch > 1 ? [s.batch, s.m, s.k] : [s.m, s.k];
  const bDims = s.batch > 1 ? [s.batch, s.k, s.n] : [s.k, s.n];
  const b = probeWeight(s.batch * s.k * s.n);
  const bName = s.constantB ? g.initializer('b', b, bDims) : g.input('b', bDims);
  g.output(g.node('MatMul', [g.input('a', aDims), bName]), 'out');
  if (dtype) quantizeWeights(g, dtype);
  const a = { data: new Float32Array(s.batch * s.m * s.k).fill(1), dims: aDims };
  return profiledRates(rt, g, { a, ...(s.constantB ? {} : { b: { data: b, dims: bDims } }) }, runs, matmulFlops(s));
}

/** A probe's weight: varied values (a quantized weight of one repeated value would be all equal codes). */
const probeWeight = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 255) / 255 - 0.5);

/** A weight-first product: Gemm(W [m, k] constant, X [n, k], transB), as a layout that projects W·Hᵀ runs it. */
function probeWeightFirst(rt: Runtime, s: MatmulShape, runs: number, dtype?: IntDtype): Promise<number[]> {
  const g = new GraphBuilder('probe-gemm');
  const w = g.initializer('w', probeWeight(s.m * s.k), [s.m, s.k]);
  g.output(g.node('Gemm', [w, g.input('x', [s.n, s.k])], { transB: 1 }), 'out');
  if (dtype) quantizeWeights(g, dtype);
  return profiledRates(rt, g, { x: { data: new Float32Array(s.n * s.k).fill(1), dims: [s.n, s.k] } }, runs, matmulFlops(s));
}

/** GB/s of each of `runs` streaming reads: ReduceSum of a [rows, 1024] tensor of `mib` MiB over its last axis, kernel time. */
export async function probeRead(rt: Runtime, mib: number, runs: number): Promise<number[]> {
  const rows = (mib * 2 ** 20) / F32 / 1024;
  const g = new GraphBuilder('probe-read');
  g.output(g.node('ReduceSum', [g.input('x', [rows, 1024]), g.ints([1])], { keepdims: 0 }), 'out');
  const x = { data: new Float32Array(rows * 1024).fill(1), dims: [rows, 1024] };
  return timed('streaming read', await profiledRates(rt, g, { x }, runs, rows * 1024 * F32));
}

/** GB/s of each of `runs` elementwise Adds of two `mib` MiB tensors: two reads and one write over the kernel time. */
export async function probeStream(rt: Runtime, mib: number, runs: number): Promise<number[]> {
  const n = (mib * 2 ** 20) / F32;
  const g = new GraphBuilder('probe-stream');
  g.output(g.node('Add', [g.input('a', [n]), g.input('b', [n])]), 'out');
  const inputs = { a: { data: new Float32Array(n).fill(1), dims: [n] }, b: { data: new Float32Array(n).fill(2), dims: [n] } };
  return timed('streaming Add', await profiledRates(rt, g, inputs, runs, 3 * n * F32));
}

/** The copy probe: two preallocated buffers, already touched, copied `n` times; GB/s read + write counted. */
export class CopyProbe {
  private readonly src: Float32Array;
  private readonly dst: Float32Array;

  constructor(readonly mib = FULL_PROBES.copyMiB) {
    const len = (mib * 2 ** 20) / F32;
    this.src = new Float32Array(len).fill(1);
    this.dst = new Float32Array(len);
    this.dst.set(this.src); // first touch outside the timing
  }

  /** GB/s of `n` copies; a copy the clock reads as 0 ms (a page's coarse clock, a tiny probe) has no rate and is left out. */
  run(n: number): number[] {
    const rates = Array.from({ length: n }, () => {
      const t0 = performance.now();
      this.dst.set(this.src);
      return (2 * this.src.byteLength) / (performance.now() - t0) / 1e6;
    }).filter(Number.isFinite);
    if (rates.length === 0) throw new Error(`the copy probe: every copy of ${this.mib} MiB was faster than the clock can tell; a larger probe is needed here`);
    return rates;
  }
}

/** A product of at most `maxFlops` a run: fewer rows (m; n for a weight-first one, whose rows are the input's) keep its shape class. */
function capped(s: MatmulShape, maxFlops: number): MatmulShape {
  if (s.weightFirst) return { ...s, n: Math.max(1, Math.min(s.n, Math.floor(maxFlops / (2 * s.batch * s.k * s.m)))) };
  return { ...s, m: Math.max(1, Math.min(s.m, Math.floor(maxFlops / (2 * s.batch * s.k * s.n)))) };
}

/** The products a probing multiplies: the square ones, then the run's own (capped, without repeats). */
export function probeShapes(o: Pick<ProbeOptions, 'shapes' | 'quick' | 'sizes' | 'maxFlops'>): MatmulShape[] {
  const n = probeSizes(o).square;
  const square = [false, true].map((constantB) => ({ batch: 1, m: n, k: n, n, constantB }));
  const own = (o.shapes ?? []).map(o.quick ? (s: MatmulShape) => ({ ...s, batch: 1, m: Math.min(s.m, 64), k: Math.min(s.k, 64), n: Math.min(s.n, 64) }) : (s: MatmulShape) => capped(s, o.maxFlops ?? MAX_PROBE_FLOPS));
  const seen = new Set<string>();
  return [...square, ...own].filter((s) => {
    const key = shapeLabel(s);
    return !seen.has(key) && seen.add(key);
  });
}

/** Probe every ceiling once through `rt`. */
export async function probeWith(rt: Runtime, o: ProbeOptions): Promise<Probe> {
  const p = probeSizes(o);
  const matmul = [];
  for (const s of probeShapes(o)) {
    // a product too small for this clock (a tiny run's own, in a page) gives no rate and bounds nothing
    const rates = await probeMatmul(rt, s, p.runs);
    if (rates.length > 0) matmul.push({ shape: shapeLabel(s), flops: matmulFlops(s), gflops: withSamples(rates) });
  }
  timed('matmul', matmul.flatMap((m) => m.gflops.samples));
  const quantized = [];
  for (const dtype of o.dtypes ?? [])
    for (const s of probeShapes(o).filter((x) => x.constantB)) {
      const rates = await probeMatmul(rt, s, p.runs, dtype);
      if (rates.length > 0) quantized.push({ dtype, shape: shapeLabel(s), flops: matmulFlops(s), gflops: withSamples(rates) });
    }
  const readGBps = withSamples(await probeRead(rt, p.readMiB, p.runs));
  const streamGBps = withSamples(await probeStream(rt, p.streamMiB, p.runs));
  const copyGBps = withSamples(new CopyProbe(p.copyMiB).run(p.runs));
  return { at: new Date().toISOString(), label: o.label ?? 'start', matmul, ...(quantized.length ? { quantized } : {}), readGBps, streamGBps, copyGBps };
}

/**
 * The CPU's peak as shown beside the matmul ceiling: a bound only where it is above what the
 * probes measured. At the nominal clock it is below the measured rate on a CPU that boosts,
 * and then it is shown as what it is, never as a bound. Null where no peak was read.
 */
export function peakNote(c: Pick<Ceilings, 'matmulGflops' | 'peak'>, unit = ''): string | null {
  if (!c.peak) return null;
  const gflops = `${c.peak.gflops.toFixed(0)}${unit}`;
  return c.peak.gflops >= c.matmulGflops ? `theoretical peak ${gflops}` : `nominal peak ${gflops}; this CPU boosts past it`;
}

const fastest = (xs: readonly number[]) => Math.max(...xs);

/** How the ceilings of a run were taken (recorded beside them). */
export interface CeilingsMethod {
  /** The runtime probed (e.g. its provider and threads), named in the method text. */
  runtime: string;
  sizes: ProbeSizes;
  quick?: boolean;
}

/** The fastest sample of each quantized dtype's probes (none where none was probed). */
function quantizedCeilings(probes: readonly Probe[]): Pick<Ceilings, 'quantizedGflops'> {
  const out: Partial<Record<IntDtype, number>> = {};
  for (const q of probes.flatMap((x) => x.quantized ?? [])) out[q.dtype] = Math.max(out[q.dtype] ?? 0, ...q.gflops.samples);
  return Object.keys(out).length ? { quantizedGflops: out } : {};
}

/** The ceilings of a set of probings: the fastest sample of each kind bounds the run. */
export function ceilingsFrom(probes: readonly Probe[], peak: CpuPeak | null, m: CeilingsMethod): Ceilings {
  if (probes.length === 0) throw new Error('ceilingsFrom: no probe');
  const p = m.sizes;
  return {
    matmulGflops: fastest(probes.flatMap((x) => x.matmul.flatMap((mm) => mm.gflops.samples))),
    ...quantizedCeilings(probes),
    readGBps: fastest(probes.flatMap((x) => [...x.readGBps.samples, ...x.streamGBps.samples])),
    copyGBps: fastest(probes.flatMap((x) => x.copyGBps.samples)),
    peak,
    probes: [...probes],
    method:
      `the fastest sample of every probing in the run (${probes.length}), through ${m.runtime}: float32 MatMul GFLOP/s over the kernel time from the engine's profiler ` +
      `(${p.square}³ with B an input and a constant, and the run's own products, ${p.runs} runs each after ${WARMUP} warm-up); ` +
      (probes.some((x) => x.quantized?.length)
        ? `the same constant-weight products with int8 weights (DynamicQuantizeMatMul) and int4 (MatMulNBits, int8 activations) where the run has them, 2 FLOPs per multiply-add over kernel time; `
        : '') +
      `streaming through the engine over its kernel time, a ReduceSum over ${p.readMiB} MiB and an Add of two ${p.streamMiB} MiB tensors (its reads and its write counted); ` +
      `a ${p.copyMiB} MiB JS copy (read + write) as a second figure` +
      (m.quick ? ' — QUICK probes for tests: these bound nothing' : ''),
  };
}
