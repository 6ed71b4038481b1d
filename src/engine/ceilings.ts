/**
 * This machine's ceilings, measured before a sweep so every figure can be read as a
 * fraction of what the hardware reaches here:
 *  - compute: GFLOP/s of one large float32 MatMul through the engine (same threads);
 *  - memory: GB/s of a buffer copy (`Float32Array.prototype.set`, counting read + write).
 */
import { GraphBuilder } from './graph.ts';
import { Engine, f32, type GraphOpt } from './session.ts';
import { summarize, type Summary } from '../timing/stats.ts';
import { timeRuns } from '../timing/measure.ts';

export interface Ceilings {
  matmulGflops: Summary;
  copyGBps: Summary;
  method: string;
}

export interface CeilingOptions {
  threads: number;
  graphOpt: GraphOpt;
  /** Square matmul size and copy buffer size; smaller values make quick tests. */
  matmulSize?: number;
  copyMiB?: number;
  repeats?: number;
}

export async function measureCeilings(o: CeilingOptions): Promise<Ceilings> {
  // 2048³: the 1024³ product measured about 20% below what the layers' larger matmuls reach here
  const n = o.matmulSize ?? 2048;
  const mib = o.copyMiB ?? 64;
  const repeats = o.repeats ?? 15;

  // Timed by the engine's profiler (the MatMul kernel alone), so that stage rates, which
  // are also kernel times, compare like with like; the wall time of a run adds the binding.
  const g = new GraphBuilder('ceiling-matmul');
  g.output(g.node('MatMul', [g.input('a', [n, n]), g.input('b', [n, n])]), 'out');
  const engine = await Engine.create(g.toBytes(), { threads: o.threads, graphOpt: o.graphOpt, profile: true });
  const a = f32(new Float32Array(n * n).fill(1), [n, n]);
  const feeds = { a, b: a };
  await timeRuns(3 + repeats, () => engine.run(feeds));
  const mmMs = engine
    .endProfiling()
    .slice(3)
    .map((run) => run.kernels.reduce((t, k) => t + k.dur, 0) / 1000);
  await engine.release();
  const flops = 2 * n * n * n;

  const len = (mib * 2 ** 20) / 4;
  const src = new Float32Array(len).fill(1);
  const dst = new Float32Array(len);
  dst.set(src); // first touch outside the timing
  const cpMs = await timeRuns(repeats, async () => dst.set(src));
  const bytes = 2 * len * 4;

  return {
    matmulGflops: summarize(mmMs.map((ms) => flops / ms / 1e6)),
    copyGBps: summarize(cpMs.map((ms) => bytes / ms / 1e6)),
    method: `MatMul ${n}x${n}x${n} float32 through the engine, kernel time from its profiler (${repeats} runs after 3 warm-up); copy of a ${mib} MiB Float32Array into a preallocated one (${repeats} runs, read + write counted)`,
  };
}
