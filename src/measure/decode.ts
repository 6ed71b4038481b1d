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
import { checkConfig, decodeStepCost, decodeWeightBytes, gpt2Config, headDim, modelKvHeads, parameterCount, type ModelConfig, type StepPrecision } from '../model/config.ts';
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
import { isInt, type IntDtype } from '../precision/dtypes.ts';
import { qmax } from '../precision/blocks.ts';
import { cacheCodes, quantizeHead, scaleDims, staticScales, writeCodes } from '../precision/cache-graph.ts';
import { toleranceFor } from '../device/verify.ts';
import type { Quality } from '../results/comparison.ts';
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
export function decodeSpecs(c: Pick<DecodeConfig, 'attention'>, model: ModelConfig): VariantSpec[] {
  if (c.attention.length === 0) throw new UsageError('--attention: no attention type given');
  const specs = c.attention.map(parseVariant);
  for (const s of specs) modelKvHeads(model, s);
  const labels = specs.map(variantLabel);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new UsageError(`--attention: ${dup} is given twice`);
  return specs;
}

/** float32 weights and cache: what every run measured before the precision axes. */
const FLOAT32_STEP: StepPrecision = { weightDtype: 'float32', kvDtype: 'float32' };

/** The precisions of a comparison: every weight dtype × cache dtype, weight-major (float32 only by default). */
export const decodePrecisions = (c: Partial<Pick<DecodeConfig, 'weightDtype' | 'kvDtype'>>): StepPrecision[] =>
  (c.weightDtype ?? ['float32']).flatMap((weightDtype) => (c.kvDtype ?? ['float32']).map((kvDtype) => ({ weightDtype, kvDtype })));

/** A type and its precision as people read it: "multi-head", "multi-head (int4 weights, int8 cache)". */
export function precisionLabel(label: string, p: StepPrecision): string {
  const parts = [...(p.weightDtype !== 'float32' ? [`${p.weightDtype} weights`] : []), ...(p.kvDtype !== 'float32' ? [`${p.kvDtype} cache`] : [])];
  return parts.length ? `${label} (${parts.join(', ')})` : label;
}

/** One attention type's decoder at one precision: its weights, packed for its layout. */
export interface TypeModel {
  spec: VariantSpec;
  label: string;
  precision: StepPrecision;
  /** Names it among types and precisions (the label, and the dtypes where they are not float32). */
  key: string;
  weights: ModelWeights;
  packed: PackedModel;
  parameters: number;
  /** The weights as graph inputs (`weights: 'input'`), else nothing. */
  weightInputs: HostTensors;
  weightBytes: number;
}

export function typeModel(model: ModelConfig, spec: VariantSpec, o: Pick<DecodeOptions, 'weights' | 'seed'>, precision: StepPrecision = FLOAT32_STEP): TypeModel {
  const g = modelKvHeads(model, spec);
  const weights = randomWeights(model, g, { seed: o.seed });
  const packed = pack(weights, spec);
  const label = variantLabel(spec);
  const base = {
    spec,
    label,
    precision: FLOAT32_STEP,
    key: label,
    weights,
    packed,
    parameters: parameterCount(model, g),
    weightInputs: o.weights === 'input' ? { ...packed.tensors } : {},
    weightBytes: Object.values(packed.tensors).reduce((a, t) => a + t.data.byteLength, 0),
  };
  return withPrecision(base, precision);
}

const stepGraph = (tm: TypeModel, rows: number, o: Pick<DecodeOptions, 'weights'>, exposeProductInputs = false) =>
  buildStepGraph(tm.packed, rows, o.weights, { weightDtype: tm.precision.weightDtype, kvDtype: tm.precision.kvDtype, exposeProductInputs }).toBytes();

/** The reference's name of the product a packed weight belongs to (src/model/reference.ts `engineInputs`): h0.qkv, h0.o, h0.fc, h0.proj, head. */
function productRole(weight: string): string | null {
  if (weight === 'wte') return 'head';
  const m = /^(h\d+)\.(attn\.w_o|attn\.|fc$|proj$)/.exec(weight);
  if (!m) return null;
  return `${m[1]}.${m[2] === 'attn.w_o' ? 'o' : m[2] === 'attn.' ? 'qkv' : m[2]}`;
}

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

/** One layer's cache as a step reads it: float32 K and V, or their codes and scales (src/precision/cache-graph.ts). */
export interface LayerCache {
  k: Float32Array | Int8Array | Uint8Array;
  v: Float32Array | Int8Array | Uint8Array;
  kScale?: Float32Array;
  vScale?: Float32Array;
}

/** The caches per layer with the masks and lengths of a step of S tokens after T live positions. */
function cacheInputs(tm: TypeModel, rows: number, S: number, T: number, caches: readonly LayerCache[]): HostTensors {
  const c = tm.packed.config;
  const G = tm.packed.kvHeads;
  const D = headDim(c);
  const kv = tm.precision.kvDtype;
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
  const width = isInt(kv) ? cacheCodes(kv, D).width : D;
  const scales = isInt(kv) ? scaleDims(tm.precision.fusedCache ?? false, rows, G, D).map((d) => (d === 'T' ? T : (d as number))) : [];
  caches.forEach((l, i) => {
    t[I.kCache(i)] = { data: l.k, dims: [rows, G, T, width] };
    t[I.vCache(i)] = { data: l.v, dims: [rows, G, T, width] };
    if (l.kScale) t[I.kScale(i)] = { data: l.kScale, dims: scales };
    if (l.vScale) t[I.vScale(i)] = { data: l.vScale, dims: scales };
  });
  return t;
}

/** Random caches of T positions at the type's cache dtype: float32 values, or codes with scales of the right size. */
function randomCaches(tm: TypeModel, rows: number, T: number, rng: Rng): LayerCache[] {
  const G = tm.packed.kvHeads;
  const D = headDim(tm.packed.config);
  const kv = tm.precision.kvDtype;
  const n = rows * G * T * D;
  const side = (): Pick<LayerCache, 'k' | 'kScale'> => {
    if (!isInt(kv)) return { k: rng.fill(new Float32Array(n), 0.5) };
    const codes = kv === 'int8' ? new Int8Array(n) : new Uint8Array(n / 2);
    for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(rng.uniform() * 256) - (kv === 'int8' ? 128 : 0);
    const scaleCount = tm.precision.fusedCache ? G * D : rows * G * T;
    return { k: codes, kScale: new Float32Array(scaleCount).fill(0.5 / qmax(kv)) };
  };
  return Array.from({ length: tm.packed.config.layers }, () => {
    const k = side();
    const v = side();
    return { k: k.k, v: v.k, ...(k.kScale ? { kScale: k.kScale, vScale: v.kScale! } : {}) };
  });
}

/** The inputs of one decode step of `rows` rows after `context − 1` cached positions of random K and V. */
export function decodeStepInputs(tm: TypeModel, rows: number, context: number, seed: number): HostTensors {
  const c = tm.packed.config;
  const rng = new Rng(seed);
  const tokens = Array.from({ length: rows }, (_, r) => (r * 7919 + 13) % c.vocab);
  return { ...tm.weightInputs, ...tokenInputs(tm, rows, tokens, context - 1), ...cacheInputs(tm, rows, 1, context - 1, randomCaches(tm, rows, context - 1, rng)) };
}

/**
 * The prefill's new K/V rows [layers, 1, S, 2·g·hs] (k heads, then v heads) as one row's
 * caches [1, g, S, hs] per layer, at the type's cache dtype: float32, or codes with a scale
 * per position and head (hand-built layouts), or with the fused kernel's static per-channel
 * scales taken from these rows (the prefill fixes them for the generation).
 */
function cachesOf(tm: TypeModel, kv: Float32Array, S: number): LayerCache[] {
  const G = tm.packed.kvHeads;
  const D = headDim(tm.packed.config);
  const width = 2 * G * D;
  const d = tm.precision.kvDtype;
  const caches: LayerCache[] = [];
  for (let i = 0; i < tm.packed.config.layers; i++) {
    // one layer's K (side 0) or V (side 1) rows [S, g·hs], then stored
    const rows = (side: number) => {
      const x = new Float32Array(S * G * D);
      for (let t = 0; t < S; t++) x.set(kv.subarray((i * S + t) * width + side * G * D, (i * S + t) * width + (side + 1) * G * D), t * G * D);
      return x;
    };
    const [k, v] = [rows(0), rows(1)];
    caches.push(isInt(d) ? ({ ...storeSide('k', k, S, G, D, d, tm.precision.fusedCache ?? false), ...storeSide('v', v, S, G, D, d, tm.precision.fusedCache ?? false) } as unknown as LayerCache) : { k: headMajor(k, S, G, D), v: headMajor(v, S, G, D) });
  }
  return caches as LayerCache[];
}

/** Rows [S, g·hs] as one row's cache [1, g, S, hs]. */
function headMajor(x: Float32Array, S: number, G: number, D: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let t = 0; t < S; t++) for (let h = 0; h < G; h++) out.set(x.subarray((t * G + h) * D, (t * G + h + 1) * D), (h * S + t) * D);
  return out;
}

/** Rows [S, g·hs] as one row's codes [1, g, S, hs(/2)] and scales: per position and head, or the fused kernel's static ones from these rows. */
function storeSide(side: 'k' | 'v', x: Float32Array, S: number, G: number, D: number, d: IntDtype, fused: boolean): Record<string, Float32Array | Int8Array | Uint8Array> {
  const codes = d === 'int8' ? new Int8Array(G * S * D) : new Uint8Array((G * S * D) / 2);
  const perChannel = fused ? staticScales(x, S, G, D, d) : null;
  const scales = perChannel ?? new Float32Array(G * S);
  for (let t = 0; t < S; t++)
    for (let h = 0; h < G; h++) {
      const at = (h * S + t) * D;
      if (perChannel) writeCodes(x, (t * G + h) * D, D, perChannel.subarray(h * D, (h + 1) * D), d, codes, at);
      else scales[h * S + t] = quantizeHead(x, (t * G + h) * D, D, d, codes, at);
    }
  return { [side]: codes, [`${side}Scale`]: scales };
}

/**
 * The type's graph on `rt`, checked against the float64 reference on one row: a prefill of
 * a prompt (its last logits), then one decode step against the cache the prefill wrote
 * (the next token's logits). The larger error of the two is recorded.
 */
export async function verifyDecoder(rt: Runtime, tm: TypeModel, o: Pick<DecodeOptions, 'weights' | 'seed'>, promptLength = VERIFY_PROMPT): Promise<Checked> {
  const c = tm.packed.config;
  const n = Math.max(1, Math.min(promptLength, c.positions - 1));
  const rng = new Rng(o.seed + 104729);
  const tokens = Array.from({ length: n + 1 }, () => Math.floor(rng.uniform() * c.vocab));
  const p = tm.precision;
  const quantized = isInt(p.weightDtype) || isInt(p.kvDtype);
  const { prefill, step, inputs, caches, kv: rowsKv } = await prefillAndStep(rt, tm, o, tokens);
  // the same quantized computation in float64 (src/model/reference.ts), following the kernels' rounding; the float32 model for the quality figure
  const engineInputs = (role: string, s: number) => Object.entries(inputs[s] ?? {}).find(([w]) => productRole(w) === role)?.[1];
  // the fused kernel's static scales are the run's own (inputs it was given, as the codes are)
  const staticScales = p.fusedCache ? { staticScales: { k: caches.map((l) => l.kScale!), v: caches.map((l) => l.vScale!) } } : {};
  const engineRows = (layer: number, side: 0 | 1) => kvRows(tm, [rowsKv.prefill, rowsKv.step], [n, 1], layer, side);
  const kv = isInt(p.kvDtype) ? { kv: { dtype: p.kvDtype, cachedBelow: n, fused: p.fusedCache ?? false, engineRows, ...staticScales } } : {};
  const ref = referenceLogits(tm.weights, tokens, n - 1, quantized ? { weightDtype: p.weightDtype, steps: [n, 1], engineInputs, ...kv } : {});
  const error = (r: Float64Array) => Math.max(maxRelError(prefill, r.subarray(0, c.vocab)), maxRelError(step, r.subarray(c.vocab)));
  // NaN (a broken output) must win over any number: Math.max gives NaN, which the verdict records as wrong
  const verify = verdict(error(ref), 'float64 reference', 1, n + 1, toleranceFor(p.weightDtype, p.kvDtype));
  if (!quantized) return { verify };
  const what = `the logits of a ${n}-token prefill and one decode step against float32 weights and cache`;
  return { verify, quality: { maxRelError: error(referenceLogits(tm.weights, tokens, n - 1)), what } };
}

/** One row's logits from the type's graph: a prefill of all tokens but the last, then one decode step of the last against the cache it wrote. */
export async function prefillAndStep(
  rt: Runtime,
  tm: TypeModel,
  o: Pick<DecodeOptions, 'weights'>,
  tokens: readonly number[],
): Promise<{ prefill: Float32Array; step: Float32Array; inputs: Record<string, Float32Array>[]; caches: LayerCache[]; kv: { prefill: Float32Array; step: Float32Array } }> {
  const n = tokens.length - 1;
  const quantized = isInt(tm.precision.weightDtype);
  const session = await rt.createSession(stepGraph(tm, 1, o, quantized), { sideBySide: true });
  try {
    const prompt = { ...tm.weightInputs, ...tokenInputs(tm, 1, tokens.slice(0, n), 0) };
    let prefill = await session.run(session.feeds({ ...prompt, ...cacheInputs(tm, 1, n, 0, emptyCaches(tm)) }));
    let caches = cachesOf(tm, prefill.kv!, n);
    // the fused kernel's int cache quantizes the prompt's own K and V with its static scales, which come from the prompt's
    // K and V rows: pass j gets layer j's rows (and so its scales) right, given the layers before it; one more pass runs with them all
    for (let pass = 0; tm.precision.fusedCache && pass < tm.packed.config.layers; pass++) {
      prefill = await session.run(session.feeds({ ...prompt, ...cacheInputs(tm, 1, n, 0, emptyCaches(tm, caches)) }));
      caches = cachesOf(tm, prefill.kv!, n);
    }
    const step = await session.run(session.feeds({ ...tm.weightInputs, ...tokenInputs(tm, 1, [tokens[n]!], n), ...cacheInputs(tm, 1, 1, n, caches) }));
    // each quantized product's input, by weight, per step (prefill, step)
    const inputs = [prefill, step].map((out) => Object.fromEntries(Object.entries(out).flatMap(([k, v]) => (k.startsWith('input:') ? [[k.slice('input:'.length), v]] : []))));
    return { prefill: prefill.logits!, step: step.logits!, inputs, caches, kv: { prefill: prefill.kv!, step: step.kv! } };
  } finally {
    await session.release();
  }
}

/** One row's K (side 0) or V (side 1) rows of layer i, [Σ steps, g·hs], from each step's new rows [layers, 1, S, 2·g·hs]. */
function kvRows(tm: TypeModel, outs: readonly Float32Array[], steps: readonly number[], layer: number, side: 0 | 1): Float32Array {
  const GD = tm.packed.kvHeads * headDim(tm.packed.config);
  const total = steps.reduce((a, s) => a + s, 0);
  const rows = new Float32Array(total * GD);
  let at = 0;
  outs.forEach((kv, j) => {
    const S = steps[j]!;
    for (let t = 0; t < S; t++) rows.set(kv.subarray((layer * S + t) * 2 * GD + side * GD, (layer * S + t) * 2 * GD + (side + 1) * GD), (at + t) * GD);
    at += S;
  });
  return rows;
}

/** A check and, at a quantized precision, what it costs against float32. */
export interface Checked {
  verify: NonNullable<DecodeResult['verify']>;
  quality?: Quality;
}

/**
 * Caches of no position for a prefill: empty codes and scales. The fused kernel's int cache
 * takes its static scales from `scalesOf` (a prefill's caches); without them, placeholders of
 * 1: a pass with them gives the prompt's K and V rows, not its logits.
 */
function emptyCaches(tm: TypeModel, scalesOf?: readonly LayerCache[]): LayerCache[] {
  const d = tm.precision.kvDtype;
  const G = tm.packed.kvHeads;
  const D = headDim(tm.packed.config);
  const n = tm.precision.fusedCache ? G * D : 0;
  const codes = () => (d === 'int8' ? new Int8Array(0) : new Uint8Array(0));
  const one = (i: number): LayerCache =>
    !isInt(d)
      ? { k: new Float32Array(0), v: new Float32Array(0) }
      : { k: codes(), v: codes(), kScale: scalesOf?.[i]?.kScale ?? new Float32Array(n).fill(1), vScale: scalesOf?.[i]?.vScale ?? new Float32Array(n).fill(1) };
  return Array.from({ length: tm.packed.config.layers }, (_, i) => one(i));
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
export function decodeFootprint(model: ModelConfig, spec: VariantSpec, batch: number, context: number, weights: DecodeConfig['weights'], p: StepPrecision = FLOAT32_STEP, hostWeights = true): Footprint {
  const g = modelKvHeads(model, spec);
  const weightBytes = F32 * parameterCount(model, g);
  // the engine's copies hold the weights as stored (quantized: codes and scales; the float32 embedding table besides)
  const engineBytes = isInt(p.weightDtype) ? decodeWeightBytes(model, g, p.weightDtype) + F32 * (model.vocab + model.positions) * model.hidden : weightBytes;
  const fused = spec.kind === 'fused-gqa';
  const cache = predictedKvBytes({ layers: model.layers, rows: batch, kvHeads: g, headDim: headDim(model) }, context - 1, p.kvDtype, fused);
  const constant = weights === 'constant';
  return {
    label: precisionLabel(variantLabel(spec), p),
    // the JS weights are a type's, shared by its precisions (`hostWeights`: counted with the first)
    resident: (hostWeights ? weightBytes : 0) + (constant ? 2 * engineBytes : 0) + cache + F32 * batch * model.vocab,
    transient: constant ? 3 * engineBytes : 0,
  };
}


/**
 * Refuse, before any weights, cache or probe exists, a comparison that cannot run: a type
 * whose constant weights exceed what one in-memory model holds, or types side by side that
 * do not fit (`check`: Node's free memory, a page's WebAssembly memory) at any batch with the
 * largest context. Sized from the configuration alone, so a context of 10⁸ costs nothing.
 */
export function checkDecodeFits(
  c: Pick<DecodeConfig, 'batch' | 'context' | 'weights'> & Partial<Pick<DecodeConfig, 'weightDtype' | 'kvDtype'>>,
  model: ModelConfig,
  specs: readonly VariantSpec[],
  check: (what: string, bytes: number) => void,
): void {
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
  const all = decodePrecisions(c).flatMap((p, i) => specs.map((s) => [s, p, i === 0] as const));
  for (const batch of c.batch) checkSideBySide(`--attention at batch ${batch}, context ${context}:`, all.map(([s, p, first]) => decodeFootprint(model, s, batch, context, c.weights, p, first)), check);
}

/** Predicted milliseconds of one (batch, context): every type's floor with slack, times the steps it will run. */
export function estimateDecodeMs(types: readonly TypeModel[], batch: number, context: number, o: DecodeOptions): number {
  const rates = estimateRates(o.ceilings);
  const stepMs = types.map((tm) => 2 * floorMs(decodeStepCost(tm.packed.config, tm.packed.kvHeads, batch, context, tm.precision), rates) + 1);
  const roundMs = stepMs.reduce((a, b) => a + b, 0);
  const { rounds } = plannedRounds(o, DECODE_STEPS, types.length, roundMs);
  return roundMs * (rounds + Math.max(1, o.policy.warmup) + (o.profileRuns ? o.profileRuns + 1 : 0)) + 300 * types.length;
}

const decodeFailure = (tm: Pick<TypeModel, 'label' | 'precision'>, batch: number, context: number, e: unknown): DecodeFailure => ({
  attention: tm.label,
  weightDtype: tm.precision.weightDtype,
  kvDtype: tm.precision.kvDtype,
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
  verified: ReadonlyMap<string, Checked>,
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
      results.push(await decodeResult(rt, t, budgetLimited, batch, context, o, verified.get(t.item.key)));
    } catch (e) {
      fail(t.item, e);
    }
  }
  // one group's types ran in the same rounds: multi-head at the same dtypes is every type's baseline
  return { results: withSpeedups(results, o.seed, samePrecision), failures };
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
  checked: Checked | undefined,
): Promise<DecodeResult> {
  const c = t.item.packed.config;
  const G = t.item.packed.kvHeads;
  const p = t.item.precision;
  const cost = decodeStepCost(c, G, batch, context, p);
  const ms = withSamples(t.samples);
  const split = await profileStep(rt, t, batch, o);
  return {
    attention: t.item.label,
    kvHeads: G,
    weightDtype: p.weightDtype,
    kvDtype: p.kvDtype,
    batch,
    context,
    parameters: t.item.parameters,
    kvCacheBytes: predictedKvBytes({ layers: c.layers, rows: batch, kvHeads: G, headDim: headDim(c) }, context - 1, p.kvDtype, p.fusedCache ?? false),
    ms,
    budgetLimited,
    tokensPerSecond: batch / (ms.median / 1000),
    ...split,
    flops: cost.flops,
    bytes: cost.bytes,
    ...(cost.quantized ? { quantizedFlops: cost.quantized.flops } : {}),
    ...boundsOf({ ...cost, quantizedFlops: cost.quantized?.flops, weightDtype: p.weightDtype, implementationBytes: split.implementationBytes, ms, stages: split.stages }, o.ceilings),
    speedup: null,
    ...(checked ? checked : {}),
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

type DecodeKey = Pick<DecodeResult, 'attention' | 'batch' | 'context' | 'weightDtype' | 'kvDtype'>;

/** Results at the same dtypes (whose speedups over multi-head are taken among each other). */
const samePrecision = (a: Pick<DecodeResult, 'weightDtype' | 'kvDtype'>, b: Pick<DecodeResult, 'weightDtype' | 'kvDtype'>) => a.weightDtype === b.weightDtype && a.kvDtype === b.kvDtype;

export const sameDecode = (a: DecodeKey, b: DecodeKey) => a.attention === b.attention && a.batch === b.batch && a.context === b.context && samePrecision(a, b);

/** Every type at every precision of `c`: one set of weights per type, shared by its precisions. */
export function decodeTypeModels(c: Pick<DecodeConfig, 'weightDtype' | 'kvDtype'>, model: ModelConfig, specs: readonly VariantSpec[], o: Pick<DecodeOptions, 'weights' | 'seed'>): TypeModel[] {
  const bases = specs.map((s) => typeModel(model, s, o));
  return decodePrecisions(c).flatMap((p) => bases.map((b) => withPrecision(b, p)));
}

/** A type's decoder at another precision: the same weights, its dtypes and what it holds (quantized: the weights as their products hold them). */
export function withPrecision(base: TypeModel, p: StepPrecision): TypeModel {
  const { config } = base.packed;
  const fusedCache = base.spec.kind === 'fused-gqa' && isInt(p.kvDtype);
  return {
    ...base,
    precision: { ...p, fusedCache },
    key: precisionLabel(base.label, p),
    weightBytes: isInt(p.weightDtype) ? decodeWeightBytes(config, base.packed.kvHeads, p.weightDtype) : base.weightBytes,
  };
}

/** The comparison's configurations in order: batch, then context; the types of each. */
export const decodeGroups = (c: Pick<DecodeConfig, 'batch' | 'context'>) => c.batch.flatMap((batch) => c.context.map((context) => ({ batch, context })));

/** Run every (batch, context) of `c` not in `o.done`, types interleaved; results in the configuration's order. */
export async function decodeSweep(rt: Runtime, c: DecodeConfig, o: DecodeRunOptions): Promise<{ results: DecodeResult[]; failures: DecodeFailure[]; cancelled: boolean }> {
  const model = decodeModel(c);
  const specs = decodeSpecs(c, model);
  // sized before any weights are drawn: a context of 10⁸ is refused, not built
  if (o.checkMemory) checkDecodeFits(c, model, specs, o.checkMemory);
  const types = decodeTypeModels(c, model, specs, o);
  const done = o.done ?? [];
  const todo = decodeGroups(c)
    .map((g) => ({ ...g, types: types.filter((t) => !done.some((r) => sameDecode(r, { attention: t.label, ...t.precision, ...g }))) }))
    .filter((g) => g.types.length > 0);
  const verified = new Map<string, Checked>();
  const out = await runConfigurations(rt, {
    groups: todo,
    estimates: todo.map((g) => estimateDecodeMs(g.types, g.batch, g.context, o)),
    label: (g) => `batch ${g.batch}, context ${g.context}`,
    measure: async (g, onRound) => {
      // each type is checked once, before its first timed steps (its graph is the same at every batch and context);
      // a quantized one always: its quality figure comes with the check
      const unchecked = g.types.filter((t) => !verified.has(t.key) && (o.verify || isInt(t.precision.weightDtype) || isInt(t.precision.kvDtype)));
      for (const tm of unchecked) verified.set(tm.key, await verifyDecoder(rt, tm, o));
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
export function inDecodeOrder<T extends DecodeKey>(c: Pick<DecodeConfig, 'batch' | 'context' | 'attention'> & Partial<Pick<DecodeConfig, 'weightDtype' | 'kvDtype'>>, results: readonly T[]): T[] {
  const order = decodeGroups(c).flatMap((g) => decodePrecisions(c).flatMap((p) => c.attention.map((a) => ({ attention: variantLabel(parseVariant(a)), ...p, ...g }))));
  const rank = (r: T) => order.findIndex((x) => sameDecode(x, r));
  return [...results].sort((a, b) => rank(a) - rank(b));
}
