/**
 * From timings to the result record, with no model running: per attention type its
 * statistics, its task floor and KV-cache sizes, the profiled step's implementation floor,
 * then the speedups of every type against multi-head measured in the same rounds, with
 * their confidence intervals. Pure, so a test can check it on made-up timings.
 */
import { median } from 'simple-statistics';
import { variantLabel, type VariantSpec } from '../attention/spec.ts';
import { decodeWeightBytes, type StepPrecision } from '../model/config.ts';
import type { GenerateConfig } from '../config/generate.ts';
import { predictedKvBytes } from '../model/cache.ts';
import { decodeStepCost, headDim, parameterCount, type ModelConfig } from '../model/config.ts';
import { GENERATE_SCHEMA, GenerateResultFile, type Environment, type GenerateResult, type StageResult, type StepPoint } from '../results/schema.ts';
import { ratioInterval, roundsRatioInterval } from '../timing/interval.ts';
import { BASELINE } from '../results/tables.ts';
import { ceilingRates, floorMs } from '../roofline/floor.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { summarize, withSamples } from '../timing/stats.ts';
import type { GenerationOutput } from './generate.ts';
import type { GeneratePlan } from './plan.ts';

/** One timed generation: what it produced and how long it took. */
export interface TimedGeneration {
  output: GenerationOutput;
  seconds: number;
}

/** Everything measured for one attention type. */
export interface TypeTiming {
  spec: VariantSpec;
  /** Its weights' and cache's dtypes (float32 and float32 unless asked). */
  precision?: StepPrecision;
  /** A quantized type's logits against float32 (its tokens' agreement is added from the float32 run of the same type, where there is one). */
  quality?: GenerateResult['quality'];
  kvHeads: number;
  /** How the K/V heads were derived from a checkpoint's (null when they were not). */
  converted: string | null;
  /** The timed generations, one per round (the warm-up is not among them): run r of every type comes from round r. */
  runs: TimedGeneration[];
  /** The last generation's text per row, and the seconds its decoding took. */
  texts: string[];
  textSeconds: number;
  peakRssBytes: number;
  predictedMemoryBytes: number;
  /** A decode step profiled at the largest context (null without the cache). */
  profiledStep: ProfiledStepTiming | null;
  /** On a device: its first step checked against the CPU provider. */
  verify?: GenerateResult['verify'];
}

/** What a profiled decode step measured. */
export interface ProfiledStepTiming {
  context: number;
  capacity: number;
  /** Bytes its kernels moved plus the weights once. */
  bytes: number | null;
  ms: number;
  stages: StageResult[];
}

/** What the summary needs to know about the run besides the timings. */
export type SummaryContext = Pick<GeneratePlan, 'model' | 'rows'> & Pick<GenerateConfig, 'kvCache'> & { ceilings: Ceilings };

/** Median per step index over repeats (repeats may differ in length when eos ends them). */
function stepSeries(runs: readonly TimedGeneration[]): { context: number; ms: number }[] {
  const n = Math.max(0, ...runs.map((r) => r.output.timing.steps.length));
  return Array.from({ length: n }, (_, i) => {
    const at = runs.map((r) => r.output.timing.steps[i]).filter((s) => s !== undefined);
    return { context: at[0]!.context, ms: median(at.map((s) => s.ms)) };
  });
}

/** The roofline inputs of this type's decode step (null without a KV cache: every step then recomputes the sequence). */
function rooflineOf(t: TypeTiming, x: SummaryContext): GenerateResult['roofline'] {
  if (!x.kvCache) return null;
  const p = precisionOf(t);
  return {
    weightBytes: decodeWeightBytes(x.model, t.kvHeads, p.weightDtype),
    kvBytesPerPosition: predictedKvBytes(cacheShape(x.model, t.kvHeads, x.rows), 1, p.kvDtype, p.fusedCache ?? false),
    ...ceilingRates(x.ceilings),
  };
}

const precisionOf = (t: TypeTiming): StepPrecision => t.precision ?? { weightDtype: 'float32', kvDtype: 'float32' };

const cacheShape = (m: ModelConfig, kvHeads: number, rows: number) => ({ layers: m.layers, rows, kvHeads, headDim: headDim(m) });

/** One type's result record; the speedups against multi-head are filled in by `withSpeedups`. */
export function summarizeType(t: TypeTiming, x: SummaryContext): GenerateResult {
  const { model, rows } = x;
  const g = t.kvHeads;
  const p = precisionOf(t);
  const roofline = rooflineOf(t, x);
  const floorAt = (ctx: number) => (roofline ? floorMs(decodeStepCost(model, g, rows, ctx, p), roofline) : null);
  const series: StepPoint[] = stepSeries(t.runs).map((s) => ({ ...s, taskFloorMs: floorAt(s.context) }));
  const allSteps = t.runs.flatMap((r) => r.output.timing.steps.map((s) => s.ms));
  const decodeMs = summarize(allSteps.length > 0 ? allSteps : [0]);
  const fastestStep = t.runs.flatMap((r) => r.output.timing.steps).reduce<{ ms: number; context: number } | null>((a, s) => (a && a.ms <= s.ms ? a : s), null);
  const profiled = t.profiledStep;
  const implementationFloor = profiled && profiled.bytes !== null && roofline ? floorMs({ ...decodeStepCost(model, g, rows, profiled.context, p), bytes: profiled.bytes }, roofline) : null;
  const flags = fastestStep && roofline && fastestStep.ms < floorAt(fastestStep.context)! ? [`a step at context ${fastestStep.context} below its task floor`] : [];
  const mid = series[Math.floor(series.length / 2)];
  const floor = mid ? floorAt(mid.context) : null;
  const tail = series.slice(-Math.min(8, series.length));
  const last = t.runs.at(-1)!.output;
  const seconds = t.runs.map((r) => r.seconds);
  const reorders = t.runs.flatMap((r) => r.output.timing.reorderMs);
  const D = headDim(model);
  return {
    attention: variantLabel(t.spec),
    kvHeads: g,
    weightDtype: p.weightDtype,
    kvDtype: p.kvDtype,
    parameters: parameterCount(model, g),
    kvProjectionParameters: model.layers * 2 * (model.hidden * g * D + g * D),
    converted: t.converted,
    textSeconds: t.textSeconds,
    generateSeconds: withSamples(seconds),
    prefillMs: withSamples(t.runs.map((r) => r.output.timing.prefillMs)),
    decodeMsPerToken: decodeMs,
    tokensPerSecond: last.generated.reduce((a, s) => a + s.length, 0) / median(seconds),
    decodeTokensPerSecond: decodeMs.median > 0 ? (1000 * rows) / decodeMs.median : 0,
    kvCacheBytes: {
      measured: last.timing.kvAllocatedBytes,
      predicted: x.kvCache ? predictedKvBytes(cacheShape(model, g, rows), last.timing.finalLength, p.kvDtype, p.fusedCache ?? false) : 0,
      context: last.timing.finalLength,
    },
    peakRssBytes: t.peakRssBytes,
    predictedMemoryBytes: t.predictedMemoryBytes,
    steps: series,
    roofline,
    taskFloorMs: floor,
    vsTaskFloor: floor ? decodeMs.median / floor : null,
    atMaxContext: tail.length > 0 ? { context: tail.at(-1)!.context, ms: median(tail.map((s) => s.ms)), taskFloorMs: floorAt(tail.at(-1)!.context) } : null,
    profiledStep: profiled ? { ...profiled, floorMs: implementationFloor } : null,
    flags,
    sequences: last.sequences,
    texts: t.texts,
    beamReorderMs: median(t.runs.map((r) => r.output.timing.reorderMs.reduce((a, b) => a + b, 0))),
    beamReorderMsPerStep: reorders.length > 0 ? summarize(reorders) : null,
    cacheGrowMs: median(t.runs.map((r) => r.output.timing.growMs)),
    speedup: null,
    speedupAtMaxContext: null,
    generateSpeedup: null,
    ...(t.verify ? { verify: t.verify } : {}),
    ...(t.quality ? { quality: t.quality } : {}),
  };
}

const wrong = (r: GenerateResult) => r.verify !== undefined && !r.verify.ok;

/**
 * Multi-head's times over each type's, measured in the same rounds: the decode step (the
 * median of every step; its interval from a bootstrap that resamples whole rounds, since
 * steps of one generation share its minute of the host) and the whole generation (paired
 * by round). Left null without a multi-head result, or when either verified wrong.
 */
export function withSpeedups(results: GenerateResult[], types: readonly TypeTiming[], seed = 1): GenerateResult[] {
  const rounds = (t: TypeTiming) => t.runs.map((r) => r.output.timing.steps.map((s) => s.ms));
  return results.map((r, j) => {
    // the baseline: multi-head at the same dtypes
    const i = results.findIndex((b) => b.attention === BASELINE && b.weightDtype === r.weightDtype && b.kvDtype === r.kvDtype);
    if (i < 0 || j === i) return r;
    const mha = results[i]!;
    const base = rounds(types[i]!);
    // a wrong answer has no speed, and a speedup over a wrong baseline means nothing
    if (wrong(r) || wrong(mha)) return r;
    const mine = rounds(types[j]!);
    const paired = base.length === mine.length && base.length > 0 && base.every((b, k) => b.length > 0 && mine[k]!.length > 0);
    const step = paired ? { baseline: BASELINE, ...roundsRatioInterval(base, mine, { seed }) } : null;
    const gen = ratioInterval(mha.generateSeconds.samples, r.generateSeconds.samples, { paired: mha.generateSeconds.n === r.generateSeconds.n, seed });
    return {
      ...r,
      speedup: step,
      speedupAtMaxContext: mha.atMaxContext && r.atMaxContext ? mha.atMaxContext.ms / r.atMaxContext.ms : null,
      generateSpeedup: { baseline: BASELINE, ...gen },
    };
  });
}

/** The validated result file of a generation comparison. */
export function generateResultFile(config: GenerateConfig, plan: GeneratePlan, environment: Environment, ceilings: Ceilings, types: readonly TypeTiming[]): GenerateResultFile {
  const x: SummaryContext = { model: plan.model, rows: plan.rows, kvCache: config.kvCache, ceilings };
  return GenerateResultFile.parse({
    schema: GENERATE_SCHEMA,
    environment,
    config,
    resolved: {
      model: plan.model,
      modelType: plan.checkpoint?.modelType ?? 'random',
      attention: plan.specs.map(variantLabel),
      batch: plan.prompts.length,
      promptLength: plan.promptLength,
      maxNewTokens: plan.maxNewTokens,
      minNewTokens: plan.minNewTokens,
      promptSeconds: plan.promptSeconds,
    },
    results: withAgreement(withSpeedups(types.map((t) => summarizeType(t, x)), types), plan.promptLength),
  });
}

/**
 * Each quantized result's generated tokens against the float32 run of the same type (same
 * prompts and seed), where the run has one: the share of positions equal in every row, and
 * the first generated position where any row parts. Never a pass or fail: what it costs.
 */
export function withAgreement(results: GenerateResult[], promptLength: number): GenerateResult[] {
  return results.map((r) => {
    const ref = results.find((f) => f.attention === r.attention && f.weightDtype === 'float32' && f.kvDtype === 'float32');
    if (!r.quality || !ref || ref === r) return r;
    let same = 0;
    let total = 0;
    let first: number | null = null;
    r.sequences.forEach((seq, row) => {
      const other = ref.sequences[row] ?? [];
      // the (left-padded) prompt is the same in both: from the first generated position on
      seq.slice(promptLength).forEach((t, k) => {
        total++;
        if (other[promptLength + k] === t) same++;
        else if (first === null || k < first) first = k;
      });
    });
    return { ...r, quality: { ...r.quality, what: `${r.quality.what}; the generated tokens against the float32 run's`, agreement: total ? same / total : 1, firstDifference: first } };
  });
}
