/**
 * One attention layer configuration: its graph and inputs, the stage split from a profiled
 * session of its own, the bytes its kernels move, a float64 check and an `.npy` dump. The
 * headline timing runs the variants of a configuration side by side (`group.ts`).
 */
import { median } from 'simple-statistics';
import { layerCost, stageFlops } from '../attention/cost.ts';
import { buildLayer, layerInputs, layerShape, layerWeights, outputToLogical, toFeeds, type LayerModel } from '../attention/layer.ts';
import type { PhysicalTensors } from '../attention/layouts.ts';
import { randomParams, type LayerShape } from '../attention/params.ts';
import { maxRelError, referenceAttention } from '../attention/reference.ts';
import { variantLabel, type Mode, type VariantSpec } from '../attention/spec.ts';
import { Engine, type Feeds, type GraphOpt } from '../engine/session.ts';
import type { LayerResult } from '../results/schema.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { movedBytes } from '../roofline/traffic.ts';
import type { RepeatPolicy } from '../timing/measure.ts';
import { timeRuns } from '../timing/measure.ts';
import { runCoverage, stageOf, stageTimes } from '../engine/stages.ts';

export interface LayerJob {
  spec: VariantSpec;
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  mode: Mode;
}

export interface ProfileOptions {
  threads: number;
  graphOpt: GraphOpt;
  policy: RepeatPolicy;
  /** Profiled runs for the stage split (0 skips it). */
  profiledRuns: number;
  /** The ceilings measured so far (the run's final ones replace them when the file is written). */
  ceilings: Ceilings | null;
  /** Weights as graph constants (pre-packed by the engine) or as inputs of every run. */
  weights: 'constant' | 'input';
  verify: boolean;
  dumpDir?: string;
  seed: number;
}

/** Normwise relative error above which float32 output counts as wrong (float32 gives about 1e-7). */
export const VERIFY_TOLERANCE = 1e-4;

/** Largest reference (multiply-adds) verified at the configured shape; bigger ones are checked at a reduced one. */
const VERIFY_MAX_MACS = 3e8;

export const jobLabel = (j: LayerJob) => `${variantLabel(j.spec)} b=${j.batch} s=${j.seq}`;

/** Shape of a job (checks the variant against the head count). */
export const jobShape = (j: LayerJob): LayerShape => layerShape(j.spec, { batch: j.batch, seq: j.seq, heads: j.heads, headDim: j.headDim });

/** A variant ready to run: its graph, what to feed it, and its weights' bytes. */
export interface PreparedLayer {
  job: LayerJob;
  layer: LayerModel;
  /** Every physical tensor (for the dump), and the feeds of a run (the weights too when they are inputs). */
  physical: PhysicalTensors;
  feeds: Feeds;
  weightBytes: number;
}

export function prepareLayer(job: LayerJob, o: Pick<ProfileOptions, 'weights' | 'seed'>): PreparedLayer {
  const shape = jobShape(job);
  const params = randomParams(shape, job.mode, o.seed);
  const layer = buildLayer(job.spec, shape, job.mode, o.weights === 'constant' ? params : undefined);
  const inputs = layerInputs(layer, params);
  const weights = layerWeights(layer, params);
  const weightBytes = Object.values(weights).reduce((a, t) => a + t.data.byteLength, 0);
  return { job, layer, physical: { ...inputs, ...weights }, feeds: toFeeds(inputs), weightBytes };
}

/** Engine settings of a session that lives beside the other variants' (see EngineOptions.arena). */
export const sideBySide = (o: Pick<ProfileOptions, 'threads' | 'graphOpt'>) => ({ threads: o.threads, graphOpt: o.graphOpt, arena: false, spinning: false });

export type StageSplit = Pick<LayerResult, 'stages' | 'profiledRuns' | 'profiledMs' | 'residualMs' | 'outsideKernelsShare' | 'implementationBytes'>;

export const NO_STAGE_SPLIT: StageSplit = { stages: [], profiledRuns: 0, profiledMs: null, residualMs: null, outsideKernelsShare: null, implementationBytes: null };

/**
 * The stage split: a profiled session of its own (the timed runs carry no profiler cost).
 * Per stage: wall, kernel and host time, analytic FLOPs and rate, and the bytes its
 * kernels moved; for the run: the bytes every kernel moved plus the weights once.
 */
export async function profileStages(p: PreparedLayer, o: Pick<ProfileOptions, 'threads' | 'graphOpt' | 'profiledRuns' | 'weights'>): Promise<StageSplit> {
  const { layer, feeds } = p;
  const prof = await Engine.create(layer.model, { ...sideBySide(o), profile: true });
  try {
    // the first profiled run is a warm-up; the rest pair up with their wall times
    const walls = (await timeRuns(o.profiledRuns + 1, () => prof.run(feeds))).slice(1);
    const runs = prof.endProfiling().slice(1);
    const perStage = stageFlops(layer.shape, layer.mode);
    const constants = o.weights === 'constant' ? p.weightBytes : 0;
    const moved = runs.map((run) => movedBytes(run, constants));
    const stages = stageTimes(runs, layer.stages).map((st) => {
      const flops = perStage[st.name];
      const bytes = runs.map((run) => movedBytes(run, 0, (k) => stageOf(k.node) === st.name));
      return {
        ...st,
        ...(flops === undefined ? {} : { flops, gflops: st.kernelMs > 0 ? flops / st.kernelMs / 1e6 : 0 }),
        ...(bytes.every((b) => b !== null) ? { bytes: median(bytes as number[]) } : {}),
      };
    });
    const cover = runs.map(runCoverage);
    return {
      stages,
      profiledRuns: runs.length,
      profiledMs: median(walls),
      residualMs: median(cover.map((c, i) => walls[i]! - c.coveredUs / 1000)),
      outsideKernelsShare: median(cover.map((c, i) => Math.min(1, Math.max(0, 1 - c.kernelUs / 1000 / walls[i]!)))),
      implementationBytes: moved.every((b) => b !== null) ? median(moved as number[]) : null,
    };
  } finally {
    await prof.release();
  }
}

/** Bytes of one configuration alone: for the memory check. */
export const jobMemoryBytes = (j: LayerJob) => layerCost(jobShape(j), j.mode).memoryBytes;

/**
 * Check the variant against the float64 reference on fresh random inputs (a different
 * seed from the timed ones). Shapes too large for a JS float64 reference are checked at
 * batch 1 and a shorter sequence, with the same heads and head size; the result says which.
 */
export async function verifyLayer(job: LayerJob, o: Pick<ProfileOptions, 'threads' | 'graphOpt' | 'seed' | 'weights'>): Promise<NonNullable<LayerResult['verify']>> {
  let { batch, seq } = job;
  const shapeOf = (b: number, s: number) => jobShape({ ...job, batch: b, seq: s });
  // multiply-adds of the projection and the two batched matmuls: half the seed mode's FLOPs
  const macs = (b: number, s: number) => layerCost(shapeOf(b, s), 'seed').flops / 2;
  if (macs(batch, seq) > VERIFY_MAX_MACS) {
    batch = 1;
    while (seq > 16 && macs(batch, seq) > VERIFY_MAX_MACS) seq = Math.floor(seq / 2);
  }
  const shape = shapeOf(batch, seq);
  const params = randomParams(shape, job.mode, o.seed + 7919);
  const layer = buildLayer(job.spec, shape, job.mode, o.weights === 'constant' ? params : undefined);
  const engine = await Engine.create(layer.model, sideBySide(o));
  try {
    const out = await engine.run(toFeeds(layerInputs(layer, params)));
    const got = outputToLogical(layer, out.out!.data as Float32Array);
    const maxRel = maxRelError(got, referenceAttention(params, shape, job.mode));
    return { maxRelError: maxRel, tolerance: VERIFY_TOLERANCE, ok: maxRel <= VERIFY_TOLERANCE, against: 'float64 reference', batch, seq };
  } finally {
    await engine.release();
  }
}
