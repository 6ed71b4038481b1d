/**
 * This machine's ceilings, measured before a run so every figure can be read as a
 * fraction of what the hardware reaches here:
 *  - compute: GFLOP/s of one large float32 MatMul through the engine (same threads);
 *  - memory: GB/s of a buffer copy (`Float32Array.prototype.set`, counting read + write).
 * The copy probe is also taken again during long runs, because this host drifts.
 */
import { z } from 'zod';
import { F32 } from '../core/constants.ts';
import { GraphBuilder } from '../engine/graph.ts';
import { Engine, f32, type GraphOpt } from '../engine/session.ts';
import { timeRuns } from '../timing/measure.ts';
import { summarize, Summary } from '../timing/stats.ts';

export const Ceilings = z.object({
  matmulGflops: Summary,
  copyGBps: Summary,
  method: z.string(),
});
export type Ceilings = z.infer<typeof Ceilings>;

export interface CeilingOptions {
  threads: number;
  graphOpt: GraphOpt;
  /** Small probes (a 256³ matmul, a 4 MiB copy, 5 runs) for tests; the figures are then not ceilings. */
  quick?: boolean;
}

// 2048³: the 1024³ product measured about 20% below what the layers' larger matmuls reach here
const FULL = { matmulSize: 2048, copyMiB: 64, repeats: 15 };
const QUICK = { matmulSize: 256, copyMiB: 4, repeats: 5 };

/** The copy bandwidth probe: two preallocated buffers, already touched, copied `n` times. */
export class CopyProbe {
  private readonly src: Float32Array;
  private readonly dst: Float32Array;

  constructor(readonly mib = FULL.copyMiB) {
    const len = (mib * 2 ** 20) / F32;
    this.src = new Float32Array(len).fill(1);
    this.dst = new Float32Array(len);
    this.dst.set(this.src); // first touch outside the timing
  }

  /** GB/s of each of `n` copies, read + write counted. */
  run(n: number): number[] {
    return Array.from({ length: n }, () => {
      const t0 = performance.now();
      this.dst.set(this.src);
      return (2 * this.src.byteLength) / (performance.now() - t0) / 1e6;
    });
  }
}

/** GB/s of `n` copies of a fresh 64 MiB probe (the buffers are freed afterwards). */
export const probeCopyGBps = (n: number): number[] => new CopyProbe().run(n);

/** Per-run GFLOP/s of an n³ MatMul, from the MatMul kernel's time in the engine's profiler. */
async function probeMatmulGflops(n: number, repeats: number, o: CeilingOptions): Promise<number[]> {
  // kernel time, so that stage rates (also kernel times) compare like with like; the wall time of a run adds the binding
  const g = new GraphBuilder('ceiling-matmul');
  g.output(g.node('MatMul', [g.input('a', [n, n]), g.input('b', [n, n])]), 'out');
  const engine = await Engine.create(g.toBytes(), { threads: o.threads, graphOpt: o.graphOpt, profile: true });
  const a = f32(new Float32Array(n * n).fill(1), [n, n]);
  const feeds = { a, b: a };
  await timeRuns(3 + repeats, () => engine.run(feeds));
  const kernelMs = engine
    .endProfiling()
    .slice(3)
    .map((run) => run.kernels.reduce((t, k) => t + k.dur, 0) / 1000);
  await engine.release();
  return kernelMs.map((ms) => (2 * n * n * n) / ms / 1e6);
}

export async function measureCeilings(o: CeilingOptions): Promise<Ceilings> {
  const { matmulSize: n, copyMiB: mib, repeats } = o.quick ? QUICK : FULL;
  const matmul = await probeMatmulGflops(n, repeats, o);
  const copy = new CopyProbe(mib).run(repeats);
  return {
    matmulGflops: summarize(matmul),
    copyGBps: summarize(copy),
    method: `MatMul ${n}x${n}x${n} float32 through the engine, kernel time from its profiler (${repeats} runs after 3 warm-up); copy of a ${mib} MiB Float32Array into a preallocated one (${repeats} runs, read + write counted)`,
  };
}
