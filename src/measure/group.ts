/**
 * One configuration (batch, sequence length) of a sweep, every variant measured in
 * alternation (`alternate.ts`: side by side, in rounds whose order rotates), so a speedup is
 * a ratio of runs taken side by side, with a paired confidence interval.
 * Then each variant's stage split (a profiled session of its own), its float64 check, and
 * its result. Platform-neutral: the runtime is onnxruntime-node in Node, onnxruntime-web in
 * the page, and what only Node does (the free-memory check, the `.npy` dump) comes in hooks.
 */
import { layerCost } from '../attention/cost.ts';
import { variantLabel } from '../attention/spec.ts';
import { sideBySideBytes, type Footprint } from '../core/footprint.ts';
import type { Runtime } from '../engine/runtime.ts';
import { underRoofline, withLayerSpeedups, type Measured } from '../results/bounds.ts';
import type { Failure, LayerResult } from '../results/schema.ts';
import { seedRepeats } from '../timing/measure.ts';
import { withSamples } from '../timing/stats.ts';
import { timeSideBySide } from './alternate.ts';
import { jobShape, NO_STAGE_SPLIT, prepareLayer, profileStages, verifyLayer, type LayerJob, type PreparedLayer, type ProfileOptions } from './layer.ts';

export interface GroupOutcome {
  results: LayerResult[];
  failures: Failure[];
}

export interface GroupHooks {
  /** After each round: rounds done and planned (progress). */
  onRound?: (done: number, planned: number) => void;
  /** Refuse (throw) when the variants of a configuration, side by side, would not fit (`what` names them). */
  checkMemory?: (what: string, bytes: number) => void;
  /** Each result with its inputs and its last warm-up output (Node's `--dump`). */
  afterVariant?: (p: PreparedLayer, output: Float32Array, r: LayerResult) => void;
}

/** What one variant of a configuration holds for as long as its session lives, and what a run allocates and frees. */
function layerFootprint(j: LayerJob): Footprint {
  const c = layerCost(jobShape(j), j.mode, j.weightDtype);
  return { label: variantLabel(j.spec), resident: c.residentBytes, transient: c.transientBytes };
}

/** The memory the variants of one configuration hold side by side. */
export function groupMemory(jobs: readonly LayerJob[]): { what: string; bytes: number } {
  const first = jobs[0]!;
  return { what: `batch ${first.batch} seq ${first.seq} (${jobs.length} variants side by side)`, bytes: sideBySideBytes(jobs.map(layerFootprint)) };
}

export const failureOf = (j: Pick<LayerJob, 'spec' | 'batch' | 'seq' | 'weightDtype'>, e: unknown): Failure => ({
  attention: variantLabel(j.spec),
  weightDtype: j.weightDtype,
  batch: j.batch,
  seq: j.seq,
  error: e instanceof Error ? e.message : String(e),
});

/** Measure every variant of one (batch, seq) on `rt`. `jobs` share batch, sequence length, heads, head size and mode. */
export async function measureGroup(rt: Runtime, jobs: readonly LayerJob[], o: ProfileOptions, hooks: GroupHooks = {}): Promise<GroupOutcome> {
  const memory = groupMemory(jobs);
  hooks.checkMemory?.(memory.what, memory.bytes);
  const failures: Failure[] = [];
  const fail = (j: LayerJob, e: unknown) => failures.push(failureOf(j, e));
  const prepared = jobs.map((j) => prepareLayer(j, o));
  const side = { policy: o.policy, wanted: seedRepeats(jobs[0]!.seq), ...(hooks.onRound ? { onRound: hooks.onRound } : {}) };
  const { timed, budgetLimited } = await timeSideBySide(rt, prepared, (p) => ({ model: p.layer.model, inputs: p.inputs }), side, (p, e) => fail(p.job, e));
  const measured: Measured[] = [];
  for (const t of timed) {
    try {
      measured.push(await finishVariant(rt, t.item, t.samples, budgetLimited, o));
    } catch (e) {
      fail(t.item.job, e);
    }
  }
  const results = withLayerSpeedups(measured, o.seed).map((r) => underRoofline(r, o.ceilings));
  for (const t of timed) {
    const r = results.find((x) => x.attention === variantLabel(t.item.job.spec) && x.weightDtype === t.item.job.weightDtype);
    if (r) hooks.afterVariant?.(t.item, t.output.out!, r);
  }
  return { results, failures };
}

/** A variant's measured fields: its timed runs, stage split, cost and (if asked) float64 check. */
async function finishVariant(rt: Runtime, p: PreparedLayer, samples: number[], budgetLimited: boolean, o: ProfileOptions): Promise<Measured> {
  const { job, layer } = p;
  const cost = layerCost(layer.shape, job.mode, job.weightDtype);
  const split = o.profileRuns > 0 ? await profileStages(rt, p, o) : NO_STAGE_SPLIT;
  const r: Measured = {
    attention: variantLabel(job.spec),
    mode: job.mode,
    batch: job.batch,
    seq: job.seq,
    heads: job.heads,
    kvHeads: layer.shape.kvHeads,
    headDim: job.headDim,
    dtype: 'float32',
    weightDtype: job.weightDtype,
    ms: withSamples(samples),
    budgetLimited,
    ...split,
    flops: cost.flops,
    bytes: cost.bytes,
    ...(cost.quantized ? { quantizedFlops: cost.quantized.flops } : {}),
    speedup: null,
    memoryBytes: cost.memoryBytes,
  };
  // a quantized layer is always checked: its quality figure comes with the check
  if (o.verify || job.weightDtype !== 'float32') Object.assign(r, await verifyLayer(rt, job, o));
  return r;
}
