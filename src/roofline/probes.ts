/**
 * This machine's ceilings, measured through the engine with the run's own threads, so
 * every figure can be read as a fraction of what this hardware reaches here — and is
 * bounded by it:
 *
 *  - compute: float32 MatMul GFLOP/s over the kernel's own time (the engine's profiler),
 *    for a large square product (its B operand an input, and a pre-packed constant) and for
 *    the shapes the run itself multiplies;
 *  - memory: streaming through the engine over buffers several times the last-level cache,
 *    bytes over kernel time — a read (ReduceSum over 256 MiB) and an elementwise Add (two
 *    64 MiB inputs read, one written: its reads and its write counted), because the floors
 *    count every byte a kernel reads or writes at one rate, so the rate must bound both
 *    (measured here, an Add moves its bytes faster than ReduceSum reads them); a JS buffer
 *    copy (read + write counted) is kept as a second figure, never used by a floor.
 *
 * A ceiling must bound what is measured, and this host drifts by 20–40 % within minutes:
 * the bound is the FASTEST sample of every probe taken in the run (the sweep probes again
 * between configurations), not a median. The CPU's theoretical peak is shown beside it.
 */
import { z } from 'zod';
import { F32 } from '../core/constants.ts';
import { GraphBuilder } from '../engine/graph.ts';
import { Engine, f32, type GraphOpt } from '../engine/session.ts';
import { timeRuns } from '../timing/measure.ts';
import { Samples, withSamples } from '../timing/stats.ts';
import { cpuPeak } from './cpu.ts';

/** A (batched) product [batch, m, k] · [batch, k, n]; `constantB`: B is an initializer, pre-packed by the engine. */
export interface MatmulShape {
  batch: number;
  m: number;
  k: number;
  n: number;
  constantB: boolean;
}

export const shapeLabel = (s: MatmulShape): string =>
  `${s.batch > 1 ? `${s.batch}×` : ''}${s.m}×${s.k}×${s.n}${s.constantB ? ' (B constant)' : ''}`;
export const matmulFlops = (s: MatmulShape): number => 2 * s.batch * s.m * s.k * s.n;

/** One probing: when, why, and every sample. */
export const Probe = z.object({
  at: z.string(),
  /** Why it was taken: 'start', 'between configurations', 'resume', ... */
  label: z.string(),
  matmul: z.array(z.object({ shape: z.string(), flops: z.number().positive(), gflops: Samples })),
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

export const Ceilings = z.object({
  /** The compute bound: the fastest MatMul sample of any probe, GFLOP/s over kernel time. */
  matmulGflops: z.number().positive(),
  /** The memory bound: the fastest streaming sample of any probe (a read, or an Add's reads and write), GB/s over kernel time. */
  readGBps: z.number().positive(),
  /** The fastest JS copy sample, GB/s with read + write counted (shown beside; floors use the read). */
  copyGBps: z.number().positive(),
  /** The CPU's theoretical peak (nominal clock), shown beside the measured bound; null where the OS does not say. */
  peak: CpuPeak.nullable(),
  /** Every probing of the run, in order. */
  probes: z.array(Probe).min(1),
  method: z.string(),
});
export type Ceilings = z.infer<typeof Ceilings>;

export interface ProbeOptions {
  threads: number;
  graphOpt: GraphOpt;
  /** Products the run itself multiplies (probed beside the square ones). */
  shapes?: readonly MatmulShape[];
  /** Tiny probes for tests (a 256³ product, 4 MiB, 5 runs): the figures then bound nothing. */
  quick?: boolean;
  label?: string;
}

const FULL = { square: 2048, readMiB: 256, streamMiB: 64, copyMiB: 64, runs: 15 };
const QUICK = { square: 256, readMiB: 4, streamMiB: 4, copyMiB: 4, runs: 5 };
/** Products larger than this are probed at fewer rows: the rate is what matters, and a probe must stay short. */
const MAX_PROBE_FLOPS = 2e10;

const kernelMs = (e: Engine, skip: number): number[] =>
  e
    .endProfiling()
    .slice(skip)
    .map((run) => run.kernels.reduce((t, k) => t + k.dur, 0) / 1000);

/** GFLOP/s of each of `runs` runs of one product, over its kernel time. */
export async function probeMatmul(s: MatmulShape, threads: number, graphOpt: GraphOpt, runs: number): Promise<number[]> {
  const g = new GraphBuilder('probe-matmul');
  const aDims = s.batch > 1 ? [s.batch, s.m, s.k] : [s.m, s.k];
  const bDims = s.batch > 1 ? [s.batch, s.k, s.n] : [s.k, s.n];
  const b = new Float32Array(s.batch * s.k * s.n).fill(0.5);
  const bName = s.constantB ? g.initializer('b', b, bDims) : g.input('b', bDims);
  g.output(g.node('MatMul', [g.input('a', aDims), bName]), 'out');
  const e = await Engine.create(g.toBytes(), { threads, graphOpt, profile: true });
  try {
    const feeds = { a: f32(new Float32Array(s.batch * s.m * s.k).fill(1), aDims), ...(s.constantB ? {} : { b: f32(b, bDims) }) };
    await timeRuns(2 + runs, () => e.run(feeds));
    return kernelMs(e, 2).map((ms) => matmulFlops(s) / ms / 1e6);
  } finally {
    await e.release();
  }
}

/** GB/s of each of `runs` streaming reads: ReduceSum of a [rows, 1024] tensor of `mib` MiB over its last axis, kernel time. */
export async function probeRead(mib: number, threads: number, graphOpt: GraphOpt, runs: number): Promise<number[]> {
  const rows = (mib * 2 ** 20) / F32 / 1024;
  const g = new GraphBuilder('probe-read');
  g.output(g.node('ReduceSum', [g.input('x', [rows, 1024]), g.ints([1])], { keepdims: 0 }), 'out');
  const e = await Engine.create(g.toBytes(), { threads, graphOpt, profile: true });
  try {
    const x = f32(new Float32Array(rows * 1024).fill(1), [rows, 1024]);
    await timeRuns(2 + runs, () => e.run({ x }));
    return kernelMs(e, 2).map((ms) => (rows * 1024 * F32) / ms / 1e6);
  } finally {
    await e.release();
  }
}

/** GB/s of each of `runs` elementwise Adds of two `mib` MiB tensors: two reads and one write over the kernel time. */
export async function probeStream(mib: number, threads: number, graphOpt: GraphOpt, runs: number): Promise<number[]> {
  const n = (mib * 2 ** 20) / F32;
  const g = new GraphBuilder('probe-stream');
  g.output(g.node('Add', [g.input('a', [n]), g.input('b', [n])]), 'out');
  const e = await Engine.create(g.toBytes(), { threads, graphOpt, profile: true });
  try {
    const a = f32(new Float32Array(n).fill(1), [n]);
    const b = f32(new Float32Array(n).fill(2), [n]);
    await timeRuns(2 + runs, () => e.run({ a, b }));
    return kernelMs(e, 2).map((ms) => (3 * n * F32) / ms / 1e6);
  } finally {
    await e.release();
  }
}

/** The copy probe: two preallocated buffers, already touched, copied `n` times; GB/s read + write counted. */
export class CopyProbe {
  private readonly src: Float32Array;
  private readonly dst: Float32Array;

  constructor(readonly mib = FULL.copyMiB) {
    const len = (mib * 2 ** 20) / F32;
    this.src = new Float32Array(len).fill(1);
    this.dst = new Float32Array(len);
    this.dst.set(this.src); // first touch outside the timing
  }

  run(n: number): number[] {
    return Array.from({ length: n }, () => {
      const t0 = performance.now();
      this.dst.set(this.src);
      return (2 * this.src.byteLength) / (performance.now() - t0) / 1e6;
    });
  }
}

/** A product no larger than a probe should be: fewer rows (m) keep its shape class. */
function capped(s: MatmulShape): MatmulShape {
  const m = Math.max(1, Math.min(s.m, Math.floor(MAX_PROBE_FLOPS / (2 * s.batch * s.k * s.n))));
  return { ...s, m };
}

/** The products a probing multiplies: the square ones, then the run's own (capped, without repeats). */
export function probeShapes(o: Pick<ProbeOptions, 'shapes' | 'quick'>): MatmulShape[] {
  const n = (o.quick ? QUICK : FULL).square;
  const square = [false, true].map((constantB) => ({ batch: 1, m: n, k: n, n, constantB }));
  const own = (o.shapes ?? []).map(o.quick ? (s: MatmulShape) => ({ ...s, batch: 1, m: Math.min(s.m, 64), k: Math.min(s.k, 64), n: Math.min(s.n, 64) }) : capped);
  const seen = new Set<string>();
  return [...square, ...own].filter((s) => {
    const key = shapeLabel(s);
    return !seen.has(key) && seen.add(key);
  });
}

/** Probe every ceiling once. */
export async function probe(o: ProbeOptions): Promise<Probe> {
  const p = o.quick ? QUICK : FULL;
  const matmul = [];
  for (const s of probeShapes(o)) {
    matmul.push({ shape: shapeLabel(s), flops: matmulFlops(s), gflops: withSamples(await probeMatmul(s, o.threads, o.graphOpt, p.runs)) });
  }
  const readGBps = withSamples(await probeRead(p.readMiB, o.threads, o.graphOpt, p.runs));
  const streamGBps = withSamples(await probeStream(p.streamMiB, o.threads, o.graphOpt, p.runs));
  const copyGBps = withSamples(new CopyProbe(p.copyMiB).run(p.runs));
  return { at: new Date().toISOString(), label: o.label ?? 'start', matmul, readGBps, streamGBps, copyGBps };
}

const fastest = (xs: readonly number[]) => Math.max(...xs);

/** The ceilings of a set of probings: the fastest sample of each kind bounds the run. */
export function ceilingsOf(probes: readonly Probe[], threads: number, quick = false): Ceilings {
  if (probes.length === 0) throw new Error('ceilingsOf: no probe');
  const p = quick ? QUICK : FULL;
  return {
    matmulGflops: fastest(probes.flatMap((x) => x.matmul.flatMap((m) => m.gflops.samples))),
    readGBps: fastest(probes.flatMap((x) => [...x.readGBps.samples, ...x.streamGBps.samples])),
    copyGBps: fastest(probes.flatMap((x) => x.copyGBps.samples)),
    peak: cpuPeak(threads),
    probes: [...probes],
    method:
      `the fastest sample of every probing in the run (${probes.length}): float32 MatMul GFLOP/s over the kernel time from the engine's profiler ` +
      `(${p.square}³ with B an input and a constant, and the run's own products, ${p.runs} runs each after 2 warm-up); ` +
      `streaming through the engine over its kernel time, a ReduceSum over ${p.readMiB} MiB and an Add of two ${p.streamMiB} MiB tensors (its reads and its write counted); ` +
      `a ${p.copyMiB} MiB JS copy (read + write) as a second figure` +
      (quick ? ' — QUICK probes for tests: these bound nothing' : ''),
  };
}

/** Probe once and return the ceilings. */
export async function measureCeilings(o: ProbeOptions): Promise<Ceilings> {
  return ceilingsOf([await probe(o)], o.threads, o.quick);
}

/** The ceilings with one more probing (taken between configurations of a long run). */
export async function probeAgain(c: Ceilings, o: ProbeOptions): Promise<Ceilings> {
  const next = await probe({ ...o, label: o.label ?? 'between configurations' });
  return ceilingsOf([...c.probes, next], o.threads, o.quick);
}
