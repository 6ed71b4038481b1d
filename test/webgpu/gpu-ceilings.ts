/**
 * The WebGPU test's direct GPU probes (test/webgpu/ceilings.ts; a run's own ceilings come
 * from src/roofline/node-ceilings.ts): the GPU's ceilings through the same provider and profiler
 * the layers use, as samples (one per run) from GPU program times, so that stage rates (also
 * program times) compare like with like:
 *  - compute: one square float32 MatMul → GFLOP/s;
 *  - memory: a ReduceSum over the last axis of a GPU-resident [rows, 1024] float32 tensor
 *    (every element read once, 1/1024 as much written) → GB/s. An elementwise x·1 reached
 *    only a quarter of this on the H200 (docs/webgpu.md §5): the provider's broadcasting Mul
 *    is no bandwidth probe.
 * The reduced tensor is made on the GPU by one Expand whose output stays there
 * ('gpu-buffer'), so the timed runs upload nothing; the result is checked element by
 * element, since past a binding limit a provider could read the wrong part.
 */
import { GraphBuilder } from '../../src/engine/graph.ts';
import { Engine, f32 } from '../../src/engine/session.ts';

const WARMUP = 2;
const COLS = 1024;

/** Σ GPU program time of each run after the warm-up (ms). */
const deviceMs = async (e: Engine) => (await e.endProfiling()).slice(WARMUP).map((r) => (r.gpu?.programUs ?? 0) / 1000);

const webgpu = (profile: boolean) => ({ threads: 1, graphOpt: 'all' as const, device: 'webgpu' as const, profile });

/** GFLOP/s of each of `runs` n³ float32 MatMuls (after 2 warm-up), from the GPU program time. */
export async function gpuMatmulGflops(n: number, runs: number): Promise<number[]> {
  const g = new GraphBuilder('gpu-ceiling-matmul');
  g.output(g.node('MatMul', [g.input('a', [n, n]), g.input('b', [n, n])]), 'out');
  const e = await Engine.create(g.toBytes(), webgpu(true));
  try {
    const a = f32(new Float32Array(n * n).fill(1), [n, n]);
    for (let i = 0; i < WARMUP + runs; i++) await e.runTensors({ a, b: a });
    return (await deviceMs(e)).map((ms) => (2 * n ** 3) / ms / 1e6);
  } finally {
    await e.release();
  }
}

/** GB/s (bytes read + written) of each of `runs` ReduceSums over a GPU-resident `mib` MiB tensor (after 2 warm-up). */
export async function gpuReadGBps(mib: number, runs: number): Promise<number[]> {
  const rows = Math.max(1, Math.floor((mib * 2 ** 20) / 4 / COLS));
  const make = new GraphBuilder('gpu-ceiling-fill');
  make.output(make.node('Expand', [make.input('one', [1, COLS]), make.ints([rows, COLS])]), 'big');
  const maker = await Engine.create(make.toBytes(), { ...webgpu(false), preferredOutputLocation: 'gpu-buffer' });
  const g = new GraphBuilder('gpu-ceiling-read');
  g.output(g.node('ReduceSum', [g.input('x', [rows, COLS]), g.ints([1])], { keepdims: 0 }), 'sum');
  const e = await Engine.create(g.toBytes(), webgpu(true));
  const big = (await maker.runTensors({ one: f32(new Float32Array(COLS).fill(1), [1, COLS]) })).big!;
  try {
    let sum: Float32Array = new Float32Array(0);
    for (let i = 0; i < WARMUP + runs; i++) sum = (await e.runTensors({ x: big })).sum!.data as Float32Array;
    const bad = sum.findIndex((v) => v !== COLS);
    if (bad >= 0) throw new Error(`GPU read ceiling over ${mib} MiB: element ${bad} of the sum is ${sum[bad]}, not ${COLS}`);
    const bytes = rows * COLS * 4 + rows * 4;
    return (await deviceMs(e)).map((ms) => bytes / ms / 1e6);
  } finally {
    big.dispose();
    await e.release();
    await maker.release();
  }
}
