/**
 * Profile one attention layer configuration: un-profiled timed runs for the headline
 * total, a separately profiled session for the stage split, the analytic cost and its
 * fraction of this machine's ceilings, and optionally a float64 check and an `.npy` dump.
 */
import os from 'node:os';
import { layerCost, stageFlops } from '../attention/cost.ts';
import { buildLayer, layerInputs, layerShape, outputToLogical, toFeeds } from '../attention/layer.ts';
import { randomParams, type LayerShape } from '../attention/params.ts';
import { maxRelError, referenceAttention } from '../attention/reference.ts';
import { UsageError, variantLabel, type Mode, type VariantSpec } from '../attention/spec.ts';
import type { Ceilings } from '../engine/ceilings.ts';
import { Engine, type GraphOpt } from '../engine/session.ts';
import { dumpLayer } from '../results/npy.ts';
import type { LayerResult } from '../results/schema.ts';
import { chooseRepeats, timeRuns, type RepeatPolicy } from '../timing/measure.ts';
import { summarize } from '../timing/stats.ts';
import { runCoverage, stageTimes } from './stages.ts';
import { median } from 'simple-statistics';

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
export function checkMemory(j: LayerJob, free = os.freemem()): void {
  const { memoryBytes } = layerCost(jobShape(j), j.mode);
  if (memoryBytes > free) {
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    throw new UsageError(`${jobLabel(j)}: needs about ${gib(memoryBytes)} GiB, only ${gib(free)} GiB free`);
  }
}

export async function profileLayer(job: LayerJob, o: ProfileOptions): Promise<LayerResult> {
  checkMemory(job);
  const shape = jobShape(job);
  const layer = buildLayer(job.spec, shape, job.mode);
  const params = randomParams(shape, job.mode, o.seed);
  const physical = layerInputs(layer, params);
  const feeds = toFeeds(physical);

  // headline: un-profiled runs
  const engine = await Engine.create(layer.model, { threads: o.threads, graphOpt: o.graphOpt });
  let total: number[];
  let output: Float32Array;
  try {
    const warm = await timeRuns(Math.max(1, o.policy.warmup), () => engine.run(feeds));
    const out = await engine.run(feeds);
    output = out.out!.data as Float32Array;
    const n = chooseRepeats(o.policy, job.seq, Math.min(...warm));
    total = await timeRuns(n, () => engine.run(feeds));
  } finally {
    await engine.release();
  }

  // stage split: a profiled session of its own, so the headline runs carry no profiler cost
  let stages: ReturnType<typeof stageTimes> = [];
  let profiledRuns = 0;
  let profiledMs = 0;
  let residualMs = 0;
  let hostShare = 0;
  if (o.profiledRuns > 0) {
    const prof = await Engine.create(layer.model, { threads: o.threads, graphOpt: o.graphOpt, profile: true });
    try {
      // the first profiled run is a warm-up; the rest pair up with their wall times
      const walls = (await timeRuns(o.profiledRuns + 1, () => prof.run(feeds))).slice(1);
      const runs = prof.endProfiling().slice(1);
      profiledRuns = runs.length;
      const perStage = stageFlops(shape, job.mode);
      stages = stageTimes(runs, layer.stages).map((st) => {
        const flops = perStage[st.name];
        return flops === undefined ? st : { ...st, flops, gflops: st.kernelMs > 0 ? flops / st.kernelMs / 1e6 : 0 };
      });
      const cover = runs.map(runCoverage);
      profiledMs = median(walls);
      residualMs = median(cover.map((c, i) => walls[i]! - c.coveredUs / 1000));
      hostShare = median(cover.map((c, i) => Math.max(0, 1 - c.kernelUs / 1000 / walls[i]!)));
    } finally {
      await prof.release();
    }
  }

  const totalMs = { ...summarize(total), samples: total };
  const cost = layerCost(shape, job.mode);
  const sec = totalMs.median / 1000;
  const gflops = cost.flops / sec / 1e9;
  const gbps = cost.bytes / sec / 1e9;
  const c = o.ceilings;

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
    stages,
    profiledRuns,
    profiledMs,
    residualMs,
    hostShare,
    flops: cost.flops,
    bytes: cost.bytes,
    gflops,
    gbps,
    computeFraction: c ? gflops / c.matmulGflops.median : null,
    memoryFraction: c ? gbps / c.copyGBps.median : null,
    floorMs: c ? Math.max(cost.flops / (c.matmulGflops.median * 1e6), cost.bytes / (c.copyGBps.median * 1e6)) : null,
    memoryBytes: cost.memoryBytes,
  };

  if (o.verify) result.verify = await verifyLayer(job, o);
  if (o.dumpDir) dumpLayer(o.dumpDir, layer, physical, output, result);
  return result;
}

/**
 * Check the variant against the float64 reference on fresh random inputs (a different
 * seed from the timed ones). Shapes too large for a JS float64 reference are checked at
 * batch 1 and a shorter sequence, with the same heads and head size; the result says which.
 */
export async function verifyLayer(job: LayerJob, o: Pick<ProfileOptions, "threads" | "graphOpt" | "seed">) {
  let { batch, seq } = job;
  const shapeOf = (b: number, s: number) => jobShape({ ...job, batch: b, seq: s });
  const macs = (b: number, s: number) => {
    const sh = shapeOf(b, s);
    const nm = sh.heads * sh.headDim;
    return b * s * nm * (sh.heads + 2 * sh.kvHeads) * sh.headDim + 2 * b * sh.heads * s * s * sh.headDim;
  };
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
