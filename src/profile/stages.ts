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
import { STAGE_SEP } from '../engine/graph.ts';
import type { ProfiledRun } from '../engine/trace.ts';
import type { StageResult } from '../results/schema.ts';
import { summarize } from '../timing/stats.ts';

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
