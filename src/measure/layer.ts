/**
 * One attention layer configuration over a runtime (src/engine/runtime.ts): its graph and
 * inputs, the stage split from a profiled session of its own, the bytes its kernels move,
 * and its check against the float64 reference. The headline timing runs the variants of a
 * configuration side by side (`group.ts`). Platform-neutral: Node and the browser page run
 * exactly this.
 */
import { median } from 'simple-statistics';
import { layerCost } from '../attention/cost.ts';
import { buildLayer, layerInputs, layerShape, layerWeights, runLayer, type LayerModel } from '../attention/layer.ts';
import type { PhysicalTensors } from '../attention/layouts.ts';
import { randomParams, type LayerShape } from '../attention/params.ts';
import { dequantizedLayerParams, maxRelError, referenceAttention, referenceInput, referenceMacs } from '../attention/reference.ts';
import { variantLabel, type Mode, type VariantSpec } from '../attention/spec.ts';
import { float64Fits, toleranceFor, verdict, type Verdict } from '../device/verify.ts';
import type { Runtime } from '../engine/runtime.ts';
import { runCoverage, stageOf, stageTimes } from '../engine/stages.ts';
import type { LayerResult, Quality } from '../results/schema.ts';
import type { Dtype } from '../precision/dtypes.ts';

import type { Ceilings } from '../roofline/probes.ts';
import { movedBytes } from '../roofline/traffic.ts';
import { timeRuns, type RepeatPolicy } from '../timing/measure.ts';

export interface LayerJob {
  spec: VariantSpec;
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  mode: Mode;
  /** The weights' dtype (quantized constants). */
  weightDtype: Dtype;
}

/** How a layer is measured (what runs it is the runtime's: its provider, threads and optimisation level). */
export interface ProfileOptions {
  policy: RepeatPolicy;
  /** Profiled runs for the stage split (0 skips it). */
  profileRuns: number;
  /** The ceilings measured so far (the run's final ones replace them when the file is written). */
  ceilings: Ceilings | null;
  /** Weights as graph constants (pre-packed by the engine) or as inputs of every run. */
  weights: 'constant' | 'input';
  verify: boolean;
  /**
   * A second runtime to check against where the float64 reference would take too long in
   * JS (a GPU checked against the CPU at the configured shape); without it such shapes are
   * checked against float64 at a reduced one.
   */
  reference?: Runtime;
  /**
   * The device's quantized products take their inputs as they are (WebGPU's MatMulNBits
   * computes in float32, measured: 6–8e-3 off a reference that quantizes them to int8 as the
   * CPU's kernel does): its reference does not quantize them either.
   */
  floatProductInputs?: boolean;
  seed: number;
}

/** The protocol's options from a configuration's fields (a layer sweep's, a decode comparison's) and the ceilings measured so far. */
export function protocolOptions(
  c: { repeats: number | 'auto'; budgetMs: number; warmup: number; profileRuns: number; weights: 'constant' | 'input'; verify: boolean; seed: number },
  ceilings: Ceilings | null,
): ProfileOptions {
  return {
    policy: { repeats: c.repeats, budgetMs: c.budgetMs, warmup: c.warmup },
    profileRuns: c.profileRuns,
    ceilings,
    weights: c.weights,
    verify: c.verify,
    seed: c.seed,
  };
}

/** The inputs of a float64 check are drawn with another seed than the timed ones. */
export const VERIFY_SEED_OFFSET = 7919;

export const jobLabel = (j: LayerJob) => `${variantLabel(j.spec)}${j.weightDtype === 'float32' ? '' : ` ${j.weightDtype} weights`} b=${j.batch} s=${j.seq}`;

/** Shape of a job (checks the variant against the head count). */
export const jobShape = (j: LayerJob): LayerShape => layerShape(j.spec, { batch: j.batch, seq: j.seq, heads: j.heads, headDim: j.headDim });

/** A variant ready to run: its graph, what to feed it, and its weights' bytes. */
export interface PreparedLayer {
  job: LayerJob;
  layer: LayerModel;
  /** Every physical tensor (for the dump). */
  physical: PhysicalTensors;
  /** The inputs of a run (the weights too when they are inputs). */
  inputs: PhysicalTensors;
  weightBytes: number;
}

export function prepareLayer(job: LayerJob, o: Pick<ProfileOptions, 'weights' | 'seed'>): PreparedLayer {
  const shape = jobShape(job);
  const params = randomParams(shape, job.mode, o.seed);
  const layer = buildLayer(job.spec, shape, job.mode, o.weights === 'constant' ? params : undefined, job.weightDtype);
  const inputs = layerInputs(layer, params);
  const weights = layerWeights(layer, params);
  // the bytes the graph holds (codes and scales when quantized); the dump's tensors stay float32
  return { job, layer, physical: { ...inputs, ...weights }, inputs, weightBytes: layer.weightBytes };
}

export type StageSplit = Pick<LayerResult, 'stages' | 'profileRuns' | 'profiledMs' | 'residualMs' | 'outsideKernelsShare' | 'implementationBytes'>;

export const NO_STAGE_SPLIT: StageSplit = { stages: [], profileRuns: 0, profiledMs: null, residualMs: null, outsideKernelsShare: null, implementationBytes: null };

/**
 * The stage split: a profiled session of its own (the timed runs carry no profiler cost).
 * Per stage: wall, kernel and host time, analytic FLOPs and rate, and the bytes its
 * kernels moved; for the run: the bytes every kernel moved plus the weights once. A runtime
 * whose profiler reports no kernel of a run gives no split (NO_STAGE_SPLIT).
 */
export async function profileStages(rt: Runtime, p: PreparedLayer, o: Pick<ProfileOptions, 'profileRuns' | 'weights'>): Promise<StageSplit> {
  const { layer } = p;
  const prof = await rt.createSession(layer.model, { profile: true, sideBySide: true });
  try {
    const feeds = prof.feeds(p.inputs);
    // the first profiled run is a warm-up; the rest pair up with their wall times
    const walls = (await timeRuns(o.profileRuns + 1, () => prof.run(feeds), rt.now)).slice(1);
    const runs = (await prof.endProfiling()).slice(1);
    if (runs.length !== walls.length || runs.some((r) => r.kernels.length === 0)) return NO_STAGE_SPLIT;
    const perStage = layer.layout.stageFlops(layer.shape, layer.mode);
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
      profileRuns: runs.length,
      profiledMs: median(walls),
      residualMs: median(cover.map((c, i) => walls[i]! - c.coveredUs / 1000)),
      outsideKernelsShare: median(cover.map((c, i) => Math.min(1, Math.max(0, 1 - c.kernelUs / 1000 / walls[i]!)))),
      implementationBytes: moved.every((b) => b !== null) ? median(moved as number[]) : null,
    };
  } finally {
    await prof.release();
  }
}

/**
 * Where a job is checked: at its own shape when the float64 reference is small enough (or a
 * reference runtime is given), else at batch 1 and the sequence halved until it is (at
 * least 16), with the same heads and head size.
 */
export function verifyShape(job: LayerJob, withReferenceRuntime: boolean): { batch: number; seq: number } {
  let { batch, seq } = job;
  const macs = (b: number, s: number) => referenceMacs(jobShape({ ...job, batch: b, seq: s }));
  if (withReferenceRuntime || float64Fits(macs(batch, seq))) return { batch, seq };
  batch = 1;
  while (seq > 16 && !float64Fits(macs(batch, seq))) seq = Math.floor(seq / 2);
  return { batch, seq };
}

/**
 * Check the variant on fresh random inputs (another seed than the timed ones) against the
 * float64 reference, or — for shapes whose reference would take too long in JS, when
 * `o.reference` is given — against that runtime's output at the same shape. Otherwise such
 * shapes are checked in float64 at a reduced one; the result says where. A result beyond
 * the tolerance is WRONG: it stays a result (timed, shown, marked) and gets no speedup.
 */
export async function verifyLayer(rt: Runtime, job: LayerJob, o: Pick<ProfileOptions, 'seed' | 'weights' | 'reference' | 'floatProductInputs'>): Promise<{ verify: Verdict; quality?: Quality }> {
  const useRuntime = o.reference !== undefined && !float64Fits(referenceMacs(jobShape(job)));
  const { batch, seq } = verifyShape(job, useRuntime);
  const shape = jobShape({ ...job, batch, seq });
  const params = randomParams(shape, job.mode, o.seed + VERIFY_SEED_OFFSET);
  const d = job.weightDtype;
  const layer = buildLayer(job.spec, shape, job.mode, o.weights === 'constant' ? params : undefined, d);
  const got = await runLayer(rt, layer, params);
  // a quantized layer is checked against the same quantized computation in float64 (src/precision/reference.ts)
  const input = o.floatProductInputs ? undefined : referenceInput(d);
  const ref = useRuntime ? await runLayer(o.reference!, layer, params) : referenceAttention(dequantizedLayerParams(params, shape, d), shape, job.mode, input);
  const verify = verdict(maxRelError(got, ref), useRuntime ? 'cpu provider' : 'float64 reference', batch, seq, toleranceFor(d));
  if (d === 'float32') return { verify };
  // what the precision costs: the same inputs through the float32 model
  const float32 = float64Fits(referenceMacs(shape)) ? referenceAttention(params, shape, job.mode) : await runLayer(o.reference ?? rt, buildLayer(job.spec, shape, job.mode, params), params);
  return { verify, quality: { maxRelError: maxRelError(got, float32), what: `the layer's output against float32 weights, batch ${batch}, seq ${seq}` } };
}
