/**
 * The decode-step comparison: attention types side by side in one GPT-2-style decoder shape
 * with random weights (as constants the engine pre-packs), one decode step of `batch` rows
 * against a filled KV cache of `context − 1` positions, the types' steps alternating in
 * rounds whose order rotates (as the layer variants do), at every (batch, context) of the
 * configuration. Per type: the step's time with every sample, its task floor
 * (src/model/config.ts `decodeStepCost`) against the ceilings, a profiled step's stages and
 * the bytes its kernels move, the speedup over multi-head with a paired interval, and a
 * check of its prefill and decode logits against the float64 reference.
 *
 * The graph is the generation's own step graph (src/model/graph.ts), so a step here is a
 * step of `attnbench generate`; the cache's contents are random (a step's time does not
 * depend on them). Platform-neutral: Node and the browser page run exactly this. In the page,
 * onnxruntime-web copies every input into its memory at every run, so there a step's time
 * includes copying the cache in: the time a page that keeps its cache in JS would see.
 */
import { parseVariant, variantLabel, type VariantSpec } from '../attention/spec.ts';
import type { DecodeConfig } from '../config/decode.ts';
import { F32, MASK_MIN } from '../core/constants.ts';
import { checkSideBySide, formatGiB, type Footprint } from '../core/footprint.ts';
import { UsageError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import type { HostTensors, Runtime } from '../engine/runtime.ts';
import { verdict } from '../device/verify.ts';
import { stageTimes } from '../engine/stages.ts';
import { predictedKvBytes } from '../model/cache.ts';
import { checkConfig, decodeStepCost, gpt2Config, headDim, modelKvHeads, parameterCount, type ModelConfig } from '../model/config.ts';
import { buildStepGraph, sequenceMajor, STEP_INPUTS } from '../model/graph.ts';
import { referenceLogits } from '../model/reference.ts';
import { pack, randomWeights, type ModelWeights, type PackedModel } from '../model/weights.ts';
import { boundsOf, withSpeedups } from '../results/bounds.ts';
import type { DecodeFailure, DecodeResult } from '../results/schema.ts';
import type { MatmulShape } from '../roofline/probes.ts';
import { estimateRates, floorMs } from '../roofline/floor.ts';
import { movedBytes } from '../roofline/traffic.ts';
import { timeRuns } from '../timing/measure.ts';
import { withSamples } from '../timing/stats.ts';
import { plannedRounds, runConfigurations, timeSideBySide, type RunProgress, type Timed } from './alternate.ts';
import type { ProfileOptions } from './layer.ts';
import { maxRelError } from '../attention/reference.ts';
import { median } from 'simple-statistics';

/** Timed steps per type and configuration that `repeats: auto` aims for, within the budget. */
export const DECODE_STEPS = 30;
/** The prompt of the float64 check: long enough for the fused kernels' long-sequence path (from 32), short enough for a JS reference. */
export const VERIFY_PROMPT = 48;

/** How the steps are measured: the layer protocol's options (a GPU's CPU reference aside: the decoder is checked in float64). */
export type DecodeOptions = Omit<ProfileOptions, 'reference'>;

/** The decoder a configuration describes: GPT-2's architecture, positions enough for its largest context. */
export function decodeModel(c: Pick<DecodeConfig, 'layers' | 'hidden' | 'heads' | 'vocab' | 'context'>): ModelConfig {
  const model = gpt2Config({ layers: c.layers, hidden: c.hidden, heads: c.heads, vocab: c.vocab, positions: Math.max(...c.context) });
  checkConfig(model);
  return model;
}

/** The products a decode step multiplies, for the compute probe: the fused projection and the LM head, each weight a constant. */
export const decodeShapes = (m: ModelConfig, rows: number): MatmulShape[] => [
  { batch: 1, m: rows, k: m.hidden, n: 3 * m.hidden, constantB: true },
  { batch: 1, m: rows, k: m.hidden, n: m.vocab, constantB: true },
];

/** The attention types, checked against the model (a group count must divide the heads), each given once. */
export function decodeTypes(c: Pick<DecodeConfig, 'attention'>, model: ModelConfig): VariantSpec[] {
  if (c.attention.length === 0) throw new UsageError('--attention: no attention type given');
  const specs = c.attention.map(parseVariant);
  for (const s of specs) modelKvHeads(model, s);
  const labels = specs.map(variantLabel);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new UsageError(`--attention: ${dup} is given twice`);
  return specs;
}

/** One attention type's decoder: its weights, packed for its layout. */
export interface TypeModel {
  spec: VariantSpec;
  label: string;
  weights: ModelWeights;
  packed: PackedModel;
  parameters: number;
  /** The weights as graph inputs (`weights: 'input'`), else nothing. */
  weightInputs: HostTensors;
  weightBytes: number;
}

export function typeModel(model: ModelConfig, spec: VariantSpec, o: Pick<DecodeOptions, 'weights' | 'seed'>): TypeModel {
  const g = modelKvHeads(model, spec);
  const weights = randomWeights(model, g, { seed: o.seed });
  const packed = pack(weights, spec);
  return {
    spec,
    label: variantLabel(spec),
    weights,
    packed,
    parameters: parameterCount(model, g),
    weightInputs: o.weights === 'input' ? { ...packed.tensors } : {},
    weightBytes: Object.values(packed.tensors).reduce((a, t) => a + t.data.byteLength, 0),
  };
}

const stepGraph = (tm: TypeModel, rows: number, o: Pick<DecodeOptions, 'weights'>) => buildStepGraph(tm.packed, rows, o.weights).toBytes();

/** Token ids and positions of S new tokens per row, as the graph takes them ([rows, S], or [S, rows] sequence-major). */
function tokenInputs(tm: TypeModel, rows: number, tokens: number[], first: number): HostTensors {
  const S = tokens.length / rows;
  const sbm = sequenceMajor(tm.packed);
  const at = (r: number, s: number) => (sbm ? s * rows + r : r * S + s);
  const ids = new BigInt64Array(rows * S);
  const pos = new BigInt64Array(rows * S);
  for (let r = 0; r < rows; r++)
    for (let s = 0; s < S; s++) {
      ids[at(r, s)] = BigInt(tokens[r * S + s]!);
      pos[at(r, s)] = BigInt(first + s);
    }
  const dims = sbm ? [S, rows] : [rows, S];
  return { [STEP_INPUTS.tokens]: { data: ids, dims }, [STEP_INPUTS.positions]: { data: pos, dims } };
}

/** The caches' K and V per layer [rows, g, T, hs] with the masks and lengths of a step of S tokens after T live positions. */
function cacheInputs(tm: TypeModel, rows: number, S: number, k: Float32Array[], v: Float32Array[]): HostTensors {
  const c = tm.packed.config;
  const G = tm.packed.kvHeads;
  const D = headDim(c);
  const T = k[0]!.length / (rows * G * D);
  const selfMask = new Float32Array(rows * S * S);
  for (let r = 0; r < rows; r++) for (let i = 0; i < S; i++) selfMask.fill(MASK_MIN, (r * S + i) * S + i + 1, (r * S + i + 1) * S);
  const I = STEP_INPUTS;
  const t: HostTensors = {
    [I.selfMask]: { data: selfMask, dims: [rows, S, S] },
    [I.cacheMask]: { data: new Float32Array(rows * T), dims: [rows, T] },
    // the fused kernel: every row's live keys are positions [0, T + S)
    [I.seqlensK]: { data: new Int32Array(rows).fill(T + S - 1), dims: [rows] },
    [I.totalLength]: { data: Int32Array.of(T + S), dims: [] },
  };
  for (let i = 0; i < c.layers; i++) {
    t[I.kCache(i)] = { data: k[i]!, dims: [rows, G, T, D] };
    t[I.vCache(i)] = { data: v[i]!, dims: [rows, G, T, D] };
  }
  return t;
}

/** The inputs of one decode step of `rows` rows after `context − 1` cached positions of random K and V. */
export function decodeStepInputs(tm: TypeModel, rows: number, context: number, seed: number): HostTensors {
  const c = tm.packed.config;
  const size = rows * tm.packed.kvHeads * (context - 1) * headDim(c);
  const rng = new Rng(seed);
  const layer = () => rng.fill(new Float32Array(size), 0.5);
  const k = Array.from({ length: c.layers }, layer);
  const v = Array.from({ length: c.layers }, layer);
  const tokens = Array.from({ length: rows }, (_, r) => (r * 7919 + 13) % c.vocab);
  return { ...tm.weightInputs, ...tokenInputs(tm, rows, tokens, context - 1), ...cacheInputs(tm, rows, 1, k, v) };
}

/** The prefill's new K/V rows [layers, 1, S, 2·g·hs] (k heads, then v heads) as one row's caches [1, g, S, hs] per layer. */
function cachesOf(tm: TypeModel, kv: Float32Array, S: number): { k: Float32Array[]; v: Float32Array[] } {
  const G = tm.packed.kvHeads;
  const D = headDim(tm.packed.config);
  const width = 2 * G * D;
  const k: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let i = 0; i < tm.packed.config.layers; i++) {
    const ki = new Float32Array(G * S * D);
    const vi = new Float32Array(G * S * D);
    for (let t = 0; t < S; t++)
      for (let h = 0; h < G; h++) {
        const src = (i * S + t) * width;
        ki.set(kv.subarray(src + h * D, src + (h + 1) * D), (h * S + t) * D);
        vi.set(kv.subarray(src + (G + h) * D, src + (G + h + 1) * D), (h * S + t) * D);
      }
    k.push(ki);
    v.push(vi);
  }
  return { k, v };
}

/**
 * The type's graph on `rt`, checked against the float64 reference on one row: a prefill of
 * a prompt (its last logits), then one decode step against the cache the prefill wrote
 * (the next token's logits). The larger error of the two is recorded.
 */
export async function verifyDecoder(rt: Runtime, tm: TypeModel, o: Pick<DecodeOptions, 'weights' | 'seed'>, promptLength = VERIFY_PROMPT): Promise<NonNullable<DecodeResult['verify']>> {
  const c = tm.packed.config;
  const n = Math.max(1, Math.min(promptLength, c.positions - 1));
  const rng = new Rng(o.seed + 104729);
  const tokens = Array.from({ length: n + 1 }, () => Math.floor(rng.uniform() * c.vocab));
  const ref = referenceLogits(tm.weights, tokens, n - 1);
  const session = await rt.createSession(stepGraph(tm, 1, o), { sideBySide: true });
  try {
    const empty = Array.from({ length: c.layers }, () => new Float32Array(0));
    const prefill = await session.run(session.feeds({ ...tm.weightInputs, ...tokenInputs(tm, 1, tokens.slice(0, n), 0), ...cacheInputs(tm, 1, n, empty, empty) }));
    const { k, v } = cachesOf(tm, prefill.kv!, n);
    const step = await session.run(session.feeds({ ...tm.weightInputs, ...tokenInputs(tm, 1, [tokens[n]!], n), ...cacheInputs(tm, 1, 1, k, v) }));
    // NaN (a broken output) must win over any number: Math.max gives NaN, which the verdict records as wrong
    return verdict(Math.max(maxRelError(prefill.logits!, ref.subarray(0, c.vocab)), maxRelError(step.logits!, ref.subarray(c.vocab))), 'float64 reference', 1, n + 1);
  } finally {
    await session.release();
  }
}

/** The most bytes of weights an in-memory ONNX model holds as constants (protobuf caps a message at 2 GiB; the graph itself needs a little). */
export const MAX_CONSTANT_BYTES = 2 ** 31 - 2 ** 24;

/**
 * One type's predicted memory at a (batch, context), from the numbers alone (nothing is
 * built): resident, its weights in JS (drawn once, kept for the check), the engine's copy and
 * its pre-packed one when they are constants, the step's cache inputs (K and V of
 * `context − 1` positions) and its logits; transient, the serialised graph and a second
 * session's copy while the check or the profiled step runs.
 */
export function decodeFootprint(model: ModelConfig, spec: VariantSpec, batch: number, context: number, weights: DecodeConfig['weights']): Footprint {
  const g = modelKvHeads(model, spec);
  const weightBytes = F32 * parameterCount(model, g);
  const cache = predictedKvBytes({ layers: model.layers, rows: batch, kvHeads: g, headDim: headDim(model) }, context - 1);
  const constant = weights === 'constant';
  return {
    label: variantLabel(spec),
    resident: weightBytes * (constant ? 3 : 1) + cache + F32 * batch * model.vocab,
    transient: constant ? 3 * weightBytes : 0,
  };
}

/**
 * Refuse, before any weights, cache or probe exists, a comparison that cannot run: a type
 * whose constant weights exceed what one in-memory model holds, or types side by side that
 * do not fit (`check`: Node's free memory, a page's WebAssembly memory) at any batch with the
 * largest context. Sized from the configuration alone, so a context of 10⁸ costs nothing.
 */
export function checkDecodeFits(c: Pick<DecodeConfig, 'batch' | 'context' | 'weights'>, model: ModelConfig, specs: readonly VariantSpec[], check: (what: string, bytes: number) => void): void {
  const context = Math.max(...c.context);
  if (c.weights === 'constant') {
    for (const spec of specs) {
      const bytes = F32 * parameterCount(model, modelKvHeads(model, spec));
      if (bytes > MAX_CONSTANT_BYTES) {
        throw new UsageError(
          `--attention ${variantLabel(spec)}: the decoder's weights (${formatGiB(bytes)} GiB, the position table sized by --context ${context} included) exceed the 2 GiB an in-memory model holds as constants; use a smaller model or context, or --weights input`,
        );
      }
    }
  }
  for (const batch of c.batch) checkSideBySide(`--attention at batch ${batch}, context ${context}:`, specs.map((s) => decodeFootprint(model, s, batch, context, c.weights)), check);
}

/** Predicted milliseconds of one (batch, context): every type's floor with slack, times the steps it will run. */
export function estimateDecodeMs(types: readonly TypeModel[], batch: number, context: number, o: DecodeOptions): number {
  const rates = estimateRates(o.ceilings);
  const stepMs = types.map((tm) => 2 * floorMs(decodeStepCost(tm.packed.config, tm.packed.kvHeads, batch, context), rates) + 1);
  const roundMs = stepMs.reduce((a, b) => a + b, 0);
  const { rounds } = plannedRounds(o, DECODE_STEPS, types.length, roundMs);
  return roundMs * (rounds + Math.max(1, o.policy.warmup) + (o.profileRuns ? o.profileRuns + 1 : 0)) + 300 * types.length;
}

const decodeFailure = (tm: Pick<TypeModel, 'label'>, batch: number, context: number, e: unknown): DecodeFailure => ({
  attention: tm.label,
  batch,
  context,
  error: e instanceof Error ? e.message : String(e),
});

export interface DecodeGroupHooks {
  onRound?: (done: number, planned: number) => void;
}

/** Every type's decode step at one (batch, context), in alternation; then each one's profiled step and result. */
export async function measureDecodeGroup(
  rt: Runtime,
  types: readonly TypeModel[],
  batch: number,
  context: number,
  o: DecodeOptions,
  verified: ReadonlyMap<string, DecodeResult['verify']>,
  hooks: DecodeGroupHooks = {},
): Promise<{ results: DecodeResult[]; failures: DecodeFailure[] }> {
  const failures: DecodeFailure[] = [];
  const fail = (tm: TypeModel, e: unknown) => failures.push(decodeFailure(tm, batch, context, e));
  const entry = (tm: TypeModel) => ({ model: stepGraph(tm, batch, o), inputs: decodeStepInputs(tm, batch, context, o.seed + 31 * types.indexOf(tm)) });
  const side = { policy: o.policy, wanted: DECODE_STEPS, ...(hooks.onRound ? { onRound: hooks.onRound } : {}) };
  const { timed, budgetLimited } = await timeSideBySide(rt, types, entry, side, fail);
  const results: DecodeResult[] = [];
  for (const t of timed) {
    try {
      results.push(await decodeResult(rt, t, budgetLimited, batch, context, o, verified.get(t.item.label)));
    } catch (e) {
      fail(t.item, e);
    }
  }
  // one group's types ran in the same rounds: multi-head of the group is every type's baseline
  return { results: withSpeedups(results, o.seed), failures };
}

/** A profiled session of its own: the step's stages and the bytes its kernels moved (weights once). */
async function profileStep(rt: Runtime, t: Timed<TypeModel>, batch: number, o: DecodeOptions): Promise<Pick<DecodeResult, 'stages' | 'profileRuns' | 'implementationBytes'>> {
  const none = { stages: [], profileRuns: 0, implementationBytes: null };
  if (o.profileRuns === 0) return none;
  const session = await rt.createSession(stepGraph(t.item, batch, o), { profile: true, sideBySide: true });
  try {
    const feeds = session.feeds(t.inputs);
    await timeRuns(o.profileRuns + 1, () => session.run(feeds), rt.now);
    const runs = (await session.endProfiling()).slice(1);
    if (runs.length === 0 || runs.some((r) => r.kernels.length === 0)) return none;
    const bytes = runs.map((r) => movedBytes(r, o.weights === 'constant' ? t.item.weightBytes : 0));
    return { stages: stageTimes(runs, []), profileRuns: runs.length, implementationBytes: bytes.every((b) => b !== null) ? median(bytes as number[]) : null };
  } finally {
    await session.release();
  }
}

async function decodeResult(
  rt: Runtime,
  t: Timed<TypeModel>,
  budgetLimited: boolean,
  batch: number,
  context: number,
  o: DecodeOptions,
  verify: DecodeResult['verify'],
): Promise<DecodeResult> {
  const c = t.item.packed.config;
  const G = t.item.packed.kvHeads;
  const cost = decodeStepCost(c, G, batch, context);
  const ms = withSamples(t.samples);
  const split = await profileStep(rt, t, batch, o);
  return {
    attention: t.item.label,
    kvHeads: G,
    batch,
    context,
    parameters: t.item.parameters,
    kvCacheBytes: predictedKvBytes({ layers: c.layers, rows: batch, kvHeads: G, headDim: headDim(c) }, context - 1),
    ms,
    budgetLimited,
    tokensPerSecond: batch / (ms.median / 1000),
    ...split,
    flops: cost.flops,
    bytes: cost.bytes,
    ...boundsOf({ ...cost, implementationBytes: split.implementationBytes, ms, stages: split.stages }, o.ceilings),
    speedup: null,
    ...(verify ? { verify } : {}),
  };
}

export interface DecodeRunOptions extends DecodeOptions {
  /** Results already measured: their (type, batch, context) are skipped. */
  done?: readonly DecodeResult[];
  sink?: (results: readonly DecodeResult[], failures: readonly DecodeFailure[]) => void | Promise<void>;
  onProgress?: (p: RunProgress) => void;
  onFailure?: (f: DecodeFailure) => void;
  /** Refuse (throw) when a batch's types side by side would not fit. */
  checkMemory?: (what: string, bytes: number) => void;
  signal?: AbortSignal;
}

export const sameDecode = (a: Pick<DecodeResult, 'attention' | 'batch' | 'context'>, b: Pick<DecodeResult, 'attention' | 'batch' | 'context'>) =>
  a.attention === b.attention && a.batch === b.batch && a.context === b.context;

/** The comparison's configurations in order: batch, then context; the types of each. */
export const decodeGroups = (c: Pick<DecodeConfig, 'batch' | 'context'>) => c.batch.flatMap((batch) => c.context.map((context) => ({ batch, context })));

/** Run every (batch, context) of `c` not in `o.done`, types interleaved; results in the configuration's order. */
export async function decodeSweep(rt: Runtime, c: DecodeConfig, o: DecodeRunOptions): Promise<{ results: DecodeResult[]; failures: DecodeFailure[]; cancelled: boolean }> {
  const model = decodeModel(c);
  const specs = decodeTypes(c, model);
  // sized before any weights are drawn: a context of 10⁸ is refused, not built
  if (o.checkMemory) checkDecodeFits(c, model, specs, o.checkMemory);
  const types = specs.map((s) => typeModel(model, s, o));
  const done = o.done ?? [];
  const todo = decodeGroups(c)
    .map((g) => ({ ...g, types: types.filter((t) => !done.some((r) => sameDecode(r, { attention: t.label, ...g }))) }))
    .filter((g) => g.types.length > 0);
  const verified = new Map<string, DecodeResult['verify']>();
  const out = await runConfigurations(rt, {
    groups: todo,
    estimates: todo.map((g) => estimateDecodeMs(g.types, g.batch, g.context, o)),
    label: (g) => `batch ${g.batch}, context ${g.context}`,
    measure: async (g, onRound) => {
      // each type is checked once, before its first timed steps (its graph is the same at every batch and context)
      for (const tm of o.verify ? g.types.filter((t) => !verified.has(t.label)) : []) verified.set(tm.label, await verifyDecoder(rt, tm, o));
      return measureDecodeGroup(rt, g.types, g.batch, g.context, o, verified, { onRound });
    },
    failAll: (g, e) => g.types.map((t) => decodeFailure(t, g.batch, g.context, e)),
    ...(o.sink ? { sink: o.sink } : {}),
    ...(o.onFailure ? { onFailure: o.onFailure } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  return { results: inDecodeOrder(c, [...done, ...out.results]), failures: out.failures, cancelled: out.cancelled };
}

/** Results in the configuration's order (batch, context, then the types as given): resumed results first would scramble tables. */
export function inDecodeOrder<T extends Pick<DecodeResult, 'attention' | 'batch' | 'context'>>(c: Pick<DecodeConfig, 'batch' | 'context' | 'attention'>, results: readonly T[]): T[] {
  const order = decodeGroups(c).flatMap((g) => c.attention.map((a) => ({ attention: variantLabel(parseVariant(a)), ...g })));
  const rank = (r: T) => order.findIndex((x) => sameDecode(x, r));
  return [...results].sort((a, b) => rank(a) - rank(b));
}
