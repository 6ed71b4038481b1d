/**
 * Profile one attention layer configuration: un-profiled timed runs for the headline
 * total, a separately profiled session for the stage split, the analytic cost and its
 * place under this machine's roofline, and optionally a float64 check and an `.npy` dump.
 */
import { median } from 'simple-statistics';
import { layerCost, stageFlops } from '../attention/cost.ts';
import { buildLayer, layerInputs, layerShape, outputToLogical, toFeeds, type LayerModel } from '../attention/layer.ts';
import { randomParams, type LayerShape } from '../attention/params.ts';
import { maxRelError, referenceAttention } from '../attention/reference.ts';
import { variantLabel, type Mode, type VariantSpec } from '../attention/spec.ts';
import { checkMemory } from '../core/memory.ts';
import { Engine, type Feeds, type GraphOpt } from '../engine/session.ts';
import type { LayerResult } from '../results/schema.ts';
import { achievedRates, ceilingFractions, ceilingRates, floorMs } from '../roofline/floor.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { chooseRepeats, timeRuns, type RepeatPolicy } from '../timing/measure.ts';
import { withSamples } from '../timing/stats.ts';
import { dumpLayer } from './dump.ts';
import { runCoverage, stageTimes } from './stages.ts';

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
  ceilings: Ceilings | null;
  verify: boolean;
  dumpDir?: string;
  seed: number;
}

/** Largest reference (multiply-adds) verified at the configured shape; bigger ones are checked at a reduced one. */
const VERIFY_MAX_MACS = 3e8;

export const jobLabel = (j: LayerJob) => `${variantLabel(j.spec)} b=${j.batch} s=${j.seq}`;

/** Shape of a job (checks the variant against the head count). */
export const jobShape = (j: LayerJob): LayerShape =>
  layerShape(j.spec, { batch: j.batch, seq: j.seq, heads: j.heads, headDim: j.headDim });

/** Refuse a configuration whose predicted memory exceeds what the machine has free. */
export const checkJobMemory = (j: LayerJob): void => checkMemory(jobLabel(j), layerCost(jobShape(j), j.mode).memoryBytes);

export async function profileLayer(job: LayerJob, o: ProfileOptions): Promise<LayerResult> {
  checkJobMemory(job);
  const shape = jobShape(job);
  const layer = buildLayer(job.spec, shape, job.mode);
  const physical = layerInputs(layer, randomParams(shape, job.mode, o.seed));
  const feeds = toFeeds(physical);
  const headline = await timeHeadline(layer, feeds, job.seq, o);
  const split = o.profiledRuns > 0 ? await profileStages(layer, feeds, o) : NO_STAGE_SPLIT;
  const totalMs = withSamples(headline.samples);
  const result: LayerResult = {
    variant: variantLabel(job.spec),
    mode: job.mode,
    batch: job.batch,
    seq: job.seq,
    heads: job.heads,
    kvHeads: shape.kvHeads,
    headDim: job.headDim,
    dtype: 'float32',
    totalMs,
    ...split,
    ...costUnderRoofline(shape, job.mode, totalMs.median, o.ceilings),
  };
  if (o.verify) result.verify = await verifyLayer(job, o);
  if (o.dumpDir) dumpLayer(o.dumpDir, layer, physical, headline.output, result);
  return result;
}

/** The headline: warm-up, then the timed runs (as many as the repeat policy allows), un-profiled. */
async function timeHeadline(layer: LayerModel, feeds: Feeds, seq: number, o: ProfileOptions): Promise<{ samples: number[]; output: Float32Array }> {
  const engine = await Engine.create(layer.model, { threads: o.threads, graphOpt: o.graphOpt });
  try {
    const warm = await timeRuns(Math.max(1, o.policy.warmup), () => engine.run(feeds));
    const output = (await engine.run(feeds)).out!.data as Float32Array;
    const samples = await timeRuns(chooseRepeats(o.policy, seq, Math.min(...warm)), () => engine.run(feeds));
    return { samples, output };
  } finally {
    await engine.release();
  }
}

type StageSplit = Pick<LayerResult, 'stages' | 'profiledRuns' | 'profiledMs' | 'residualMs' | 'hostShare'>;

const NO_STAGE_SPLIT: StageSplit = { stages: [], profiledRuns: 0, profiledMs: 0, residualMs: 0, hostShare: 0 };

/** The stage split: a profiled session of its own, so the headline runs carry no profiler cost. */
async function profileStages(layer: LayerModel, feeds: Feeds, o: ProfileOptions): Promise<StageSplit> {
  const prof = await Engine.create(layer.model, { threads: o.threads, graphOpt: o.graphOpt, profile: true });
  try {
    // the first profiled run is a warm-up; the rest pair up with their wall times
    const walls = (await timeRuns(o.profiledRuns + 1, () => prof.run(feeds))).slice(1);
    const runs = prof.endProfiling().slice(1);
    const perStage = stageFlops(layer.shape, layer.mode);
    const stages = stageTimes(runs, layer.stages).map((st) => {
      const flops = perStage[st.name];
      return flops === undefined ? st : { ...st, flops, gflops: st.kernelMs > 0 ? flops / st.kernelMs / 1e6 : 0 };
    });
    const cover = runs.map(runCoverage);
    return {
      stages,
      profiledRuns: runs.length,
      profiledMs: median(walls),
      residualMs: median(cover.map((c, i) => walls[i]! - c.coveredUs / 1000)),
      hostShare: median(cover.map((c, i) => Math.max(0, 1 - c.kernelUs / 1000 / walls[i]!))),
    };
  } finally {
    await prof.release();
  }
}

type CostFields = Pick<LayerResult, 'flops' | 'bytes' | 'gflops' | 'gbps' | 'computeFraction' | 'memoryFraction' | 'floorMs' | 'memoryBytes'>;

/** The analytic cost, the rates the median run reached, and where that sits under the ceilings. */
function costUnderRoofline(shape: LayerShape, mode: Mode, medianMs: number, ceilings: Ceilings | null): CostFields {
  const cost = layerCost(shape, mode);
  const rates = achievedRates(cost, medianMs);
  return {
    flops: cost.flops,
    bytes: cost.bytes,
    ...rates,
    ...ceilingFractions(rates, ceilings),
    floorMs: ceilings ? floorMs(cost, ceilingRates(ceilings)) : null,
    memoryBytes: cost.memoryBytes,
  };
}

/**
 * Check the variant against the float64 reference on fresh random inputs (a different
 * seed from the timed ones). Shapes too large for a JS float64 reference are checked at
 * batch 1 and a shorter sequence, with the same heads and head size; the result says which.
 */
export async function verifyLayer(job: LayerJob, o: Pick<ProfileOptions, 'threads' | 'graphOpt' | 'seed'>) {
  let { batch, seq } = job;
  const shapeOf = (b: number, s: number) => jobShape({ ...job, batch: b, seq: s });
  // multiply-adds of the projection and the two batched matmuls: half the seed mode's FLOPs
  const macs = (b: number, s: number) => layerCost(shapeOf(b, s), 'seed').flops / 2;
  if (macs(batch, seq) > VERIFY_MAX_MACS) {
    batch = 1;
    while (seq > 16 && macs(batch, seq) > VERIFY_MAX_MACS) seq = Math.floor(seq / 2);
  }
  const shape = shapeOf(batch, seq);
  const layer = buildLayer(job.spec, shape, job.mode);
  const params = randomParams(shape, job.mode, o.seed + 7919);
  const engine = await Engine.create(layer.model, { threads: o.threads, graphOpt: o.graphOpt });
  try {
    const out = await engine.run(toFeeds(layerInputs(layer, params)));
    const got = outputToLogical(layer, out.out!.data as Float32Array);
    return { maxRelError: maxRelError(got, referenceAttention(params, shape, job.mode)), batch, seq };
  } finally {
    await engine.release();
  }
}
