/**
 * From the engine's profiler events to per-stage times.
 *
 * Each node is tagged with its stage in its name (`stage/op#n`); nodes the optimiser fuses
 * keep the name of the node they were fused into, so a stage whose nodes were all fused
 * away shows no kernels (its ops appear under the stage that absorbed them).
 *
 * A node's *slot* runs from the end of the previous kernel (or the executor's start) to
 * the end of its own kernel, so slots tile the executor's span: stage wall = Σ slots,
 * stage kernel = Σ kernel durations, stage host = wall − kernel (scheduling, allocation,
 * fences between kernels).
 */
import { median } from 'simple-statistics';
import { z } from 'zod';
import { Summary, summarize } from '../timing/stats.ts';
import { STAGE_SEP } from './graph.ts';
import type { ProfiledRun } from './trace.ts';

/** One stage of a profiled run (its schema in result files). */
export const Stage = z.object({
  name: z.string(),
  wallMs: z.number().nonnegative(),
  kernelMs: z.number().nonnegative(),
  hostMs: z.number().nonnegative(),
  /** The wall time's spread over the profiled runs (wallMs is its median). */
  wallStats: Summary.optional(),
  ops: z.array(z.string()),
  /**
   * Only in results imported from the seed: its [cpu us, cuda us, all us] for this range
   * exactly as read, so exporting to the seed's format gives back the same numbers bit for bit.
   */
  seedUs: z.tuple([z.number(), z.number(), z.number()]).optional(),
  /** Analytic FLOPs of the stage and its achieved rate over kernel time (matmul stages). */
  flops: z.number().nonnegative().optional(),
  gflops: z.number().nonnegative().optional(),
  /** Bytes the stage's kernels read and wrote (the engine's profiler; constants aside), median over the profiled runs. */
  bytes: z.number().nonnegative().optional(),
});
export type StageResult = z.infer<typeof Stage>;

export const stageOf = (node: string): string => (node.includes(STAGE_SEP) ? node.slice(0, node.indexOf(STAGE_SEP)) : 'other');

/** Per-stage medians over runs, in the order of `stages` (then any extra stage seen). */
export function stageTimes(runs: readonly ProfiledRun[], stages: readonly string[]): StageResult[] {
  const names = [...stages];
  const perRun = runs.map((run) => {
    const acc = new Map<string, { wall: number; kernel: number; ops: Set<string> }>();
    let prevEnd = run.executeTs;
    for (const k of [...run.kernels].sort((a, b) => a.ts - b.ts)) {
      const st = stageOf(k.node);
      if (!names.includes(st)) names.push(st);
      const e = acc.get(st) ?? { wall: 0, kernel: 0, ops: new Set<string>() };
      const end = k.ts + k.dur;
      e.wall += end - prevEnd;
      e.kernel += k.dur;
      e.ops.add(k.op);
      prevEnd = Math.max(prevEnd, end);
      acc.set(st, e);
    }
    return acc;
  });
  return names.map((name) => {
    const entries = perRun.map((r) => r.get(name) ?? { wall: 0, kernel: 0, ops: new Set<string>() });
    const wallMs = runs.length ? median(entries.map((e) => e.wall)) / 1000 : 0;
    const kernelMs = runs.length ? median(entries.map((e) => e.kernel)) / 1000 : 0;
    const ops = [...new Set(entries.flatMap((e) => [...e.ops]))].sort();
    const wallStats = summarize(entries.length ? entries.map((e) => e.wall / 1000) : [0]);
    return { name, wallMs, kernelMs, hostMs: Math.max(0, wallMs - kernelMs), wallStats, ops };
  });
}

/** Per run: the span the stage slots cover (executor start → last kernel end) and the kernel total, µs. */
export function runCoverage(run: ProfiledRun): { coveredUs: number; kernelUs: number } {
  const end = run.kernels.reduce((m, k) => Math.max(m, k.ts + k.dur), run.executeTs);
  return { coveredUs: end - run.executeTs, kernelUs: run.kernels.reduce((a, k) => a + k.dur, 0) };
}
