/**
 * Older result files, brought up to the current version on read: one small function per
 * version step, keyed by the version it reads (layers@1 goes straight to @3). A file is upgraded step by step until its
 * `schema` has no upgrade left, then validated against the current schema as any file is.
 */
import { layerCost } from '../attention/cost.ts';
import { GenerateConfig } from '../config/generate.ts';
import { LayersConfig } from '../config/layers.ts';
import { underRoofline, withLayerSpeedups, type Measured } from './bounds.ts';
import { DECODE_SCHEMA, GENERATE_SCHEMA, LAYERS_SCHEMA } from './schema.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const defined = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The seed's fields @1 kept in every result; @2 derives them when it prints the seed's dict. */
const SEED_FIELDS = ['get_test_batch', 'generate_text_batch', 'decode_batch', 'input_batch_size', 'input_batch_length', 'max_gen_length', 'num_beams', 'do_sample', 'pad_token_id', 'dtype', 'device', 'device_name'];

/** What the configuration of a generation fills in where a @1 file recorded nothing: its defaults, read from the schema (the thread count is the file's, never the reader's). */
const generateDefaults = () => GenerateConfig.parse({});

/** @1's untyped configuration as @2's typed one: what it recorded, what its first result repeated, the rest the configuration's defaults. */
function generateConfig1to2(c: Json, first: Json, env: Json, types: unknown[]): Json {
  const d = generateDefaults();
  const model = isObject(c.model) ? c.model : null;
  const promptLength = num(c.promptLength) ?? num(first.input_batch_length);
  return defined({
    preset: c.preset === 'seed' ? 'seed' : d.preset,
    attention: Array.isArray(c.attention) ? c.attention : types,
    ...(model ? { layers: model.layers, hidden: model.hidden, heads: model.heads, positions: model.positions, vocab: model.vocab } : {}),
    model: typeof c.modelDir === 'string' ? c.modelDir : undefined,
    prompt: Array.isArray(c.prompts) ? c.prompts : d.prompt,
    promptLength,
    batch: num(c.batch) ?? num(first.input_batch_size),
    threads: num(c.threads) ?? num(env.threads) ?? 1,
    kvCache: typeof c.useCache === 'boolean' ? c.useCache : typeof first.useCache === 'boolean' ? first.useCache : d.kvCache,
    doSample: typeof c.doSample === 'boolean' ? c.doSample : typeof first.do_sample === 'boolean' ? first.do_sample : d.doSample,
    temperature: num(c.temperature) ?? d.temperature,
    topK: num(c.topK) ?? d.topK,
    topP: num(c.topP) ?? d.topP,
    seed: num(c.seed) ?? d.seed,
    numBeams: num(c.numBeams) ?? num(first.num_beams) ?? d.numBeams,
    lengthPenalty: num(c.lengthPenalty) ?? d.lengthPenalty,
    earlyStopping: c.earlyStopping === true || c.earlyStopping === 'never' ? c.earlyStopping : d.earlyStopping,
    maxNewTokens: num(c.maxNewTokens) ?? (num(first.max_gen_length) ?? 0) - (promptLength ?? 0),
    minNewTokens: num(c.minNewTokens),
    repeats: num(c.repeats) ?? num(isObject(first.generateSeconds) ? first.generateSeconds.n : undefined),
    cacheChunk: num(c.cacheChunk) ?? d.cacheChunk,
    // @1 fed the weights as inputs, profiled no step, and ran on the CPU
    weights: 'input',
    profileStep: false,
    device: 'cpu',
  });
}

/** One @1 generation result as @2's: the seed's repeated fields dropped, @1's floors (from a copy bandwidth that bounded nothing) gone, its speedups point estimates. */
function generateResult1to2(r: Json): Json {
  const { useCache: _, floorMs: _f, vsFloor: _v, roofline: _r, ...rest } = Object.fromEntries(Object.entries(r).filter(([k]) => !SEED_FIELDS.includes(k))) as Json;
  const steps = Array.isArray(r.steps) ? (r.steps as Json[]).map(({ floorMs: _s, ...p }) => ({ ...p, taskFloorMs: null })) : [];
  const atMax = isObject(r.atMaxContext) ? (({ floorMs: _a, ...a }) => ({ ...a, taskFloorMs: null }))(r.atMaxContext) : null;
  return {
    ...rest,
    textSeconds: num(r.decode_batch) ?? 0,
    steps,
    atMaxContext: atMax,
    // no floor without @2's ceilings
    roofline: null,
    taskFloorMs: null,
    vsTaskFloor: null,
    profiledStep: null,
    flags: [],
    predictedMemoryBytes: 0,
    speedupVsMha: pointSpeedup(r.speedupVsMha),
    generateSpeedupVsMha: pointSpeedup(r.generateSpeedupVsMha),
  };
}

/**
 * generate@1 → @2. @1 stored its configuration untyped and repeated the seed's fields in
 * every result; @2 records the configuration typed, what it resolved to beside it, and
 * the results without those repetitions. A field the @1 file did not record takes its
 * default; the model shape is null when @1 did not record it.
 */
function generate1to2(f: Json): Json {
  const results = Array.isArray(f.results) ? (f.results as Json[]) : [];
  const first = results[0] ?? {};
  const c = isObject(f.config) ? f.config : {};
  const config = generateConfig1to2(c, first, isObject(f.environment) ? f.environment : {}, results.map((r) => r.attention));
  const resolved = {
    model: isObject(c.model) ? c.model : null,
    modelType: c.modelType === 'gpt2' || c.modelType === 'gpt_bigcode' ? c.modelType : 'random',
    attention: results.map((r) => r.attention),
    batch: config.batch,
    promptLength: config.promptLength,
    maxNewTokens: config.maxNewTokens,
    minNewTokens: num(c.minNewTokens) ?? config.maxNewTokens,
    promptSeconds: num(first.get_test_batch) ?? 0,
  };
  return { schema: 'attnbench/generate@2', environment: environment1to2(f.environment), config, resolved, results: results.map(generateResult1to2) };
}

/**
 * @1's environment → @2's: the device becomes a record; the ceilings are dropped, because
 * @1's were medians of one probe and a copy bandwidth — they bound nothing, so no floor or
 * fraction is computed from them (the measured times themselves are kept).
 */
function environment1to2(env: unknown): Json {
  const e = isObject(env) ? env : {};
  const device = typeof e.device === 'string' ? e.device : 'unknown';
  const cpu = device.startsWith('cpu');
  return {
    ...e,
    device: { kind: cpu ? 'cpu' : 'unknown', provider: cpu ? 'CPUExecutionProvider' : 'unknown', description: device, software: false, adapter: null },
    ceilings: null,
  };
}

/** A @1 speedup (a number) as a @2 point estimate: no interval was measured. */
const pointSpeedup = (v: unknown): Json | null =>
  typeof v === 'number' && v > 0 ? { baseline: 'multi-head', ratio: v, low: v, high: v, level: 0.95, n: 1, method: 'bootstrap' } : null;

/**
 * The field names @3 (layers), @2 (decode) and @3 (generate) gave the comparison record
 * (comparison.ts), older name first: one name for the attention type in every kind, for the
 * timed samples, for the profiled runs (as the configuration names them), and for a speedup.
 */
const LAYER_NAMES = { variant: 'attention', totalMs: 'ms', profiledRuns: 'profileRuns' } as const;
const DECODE_NAMES = { stepMs: 'ms', profiledRuns: 'profileRuns' } as const;
const GENERATE_NAMES = { speedupVsMha: 'speedup', speedupVsMhaAtMaxContext: 'speedupAtMaxContext', generateSpeedupVsMha: 'generateSpeedup' } as const;

/** `r` with its fields renamed by `names` (old → new); anything but an object, and a field already new, left as it is. */
const renamed = (names: Readonly<Record<string, string>>) => (r: unknown): unknown =>
  isObject(r) ? Object.fromEntries(Object.entries(r).map(([k, v]) => [Object.hasOwn(names, k) && !(names[k]! in r) ? names[k]! : k, v])) : r;

/** A layer result, a failure or a decode result of any version with the record's names (a sweep's journal holds bare results, with no schema to upgrade by). */
export const layerResultNames = renamed(LAYER_NAMES);
export const decodeResultNames = renamed(DECODE_NAMES);

/** A file whose results (and failures) are renamed by `names`, as `schema`. */
const renaming = (schema: string, names: Readonly<Record<string, string>>) => (f: Json): Json => ({
  ...f,
  schema,
  ...(Array.isArray(f.results) ? { results: f.results.map(renamed(names)) } : {}),
  ...(Array.isArray(f.failures) ? { failures: f.failures.map(renamed(names)) } : {}),
});

/** layers@2 → @3, decode@1 → @2, generate@2 → @3: the comparison record's fields renamed, nothing else changed. */
const layers2to3 = renaming(LAYERS_SCHEMA, LAYER_NAMES);
const decode1to2 = renaming(DECODE_SCHEMA, DECODE_NAMES);
const generate2to3 = renaming(GENERATE_SCHEMA, GENERATE_NAMES);

/**
 * layers@1 → @3: its fields named as @3 names them (@1 used @2's names), then what @2
 * changed. `hostShare` splits into what it was: in our runs the share of a call
 * outside the kernels (`outsideKernelsShare`), in files imported from the seed its cpu part
 * (`seedCpuShare`); figures @1 stored as 0 without profiled runs become null; `bytes` is the
 * task's (recomputed from the shape); floors, fractions and flags need @2's ceilings, so
 * they are null; speedups are point estimates (@1's variants ran in sequence, not in
 * rounds); @1 fed the weights as inputs. A configuration @1 did not record the profiled runs
 * of takes the configuration's default.
 */
function layers1to3(f: Json): Json {
  const env = isObject(f.environment) ? f.environment : {};
  const imported = typeof env.importedFrom === 'string';
  const named = layers2to3(f);
  const results = ((named.results as Json[] | undefined) ?? []).map((r) => layerResult1to2(r, imported));
  const profileRuns = num((results[0] as unknown as Json | undefined)?.profileRuns) ?? LayersConfig.parse({}).profileRuns;
  const config = isObject(f.config) ? { ...f.config, weights: 'input', profileRuns, device: 'cpu' } : undefined;
  return {
    schema: LAYERS_SCHEMA,
    environment: environment1to2(f.environment),
    ...(config ? { config } : {}),
    results: withLayerSpeedups(results).map((r) => underRoofline(r, null)),
    failures: named.failures ?? [],
  };
}

/** One @1 layer result (with @3's names) as @2 measured it: see layers1to3. */
function layerResult1to2(r: Json, imported: boolean): Measured {
  const profiled = num(r.profileRuns) ?? 0;
  const unmeasured = profiled === 0 && !imported;
  const shape = { batch: num(r.batch)!, seq: num(r.seq)!, heads: num(r.heads)!, kvHeads: num(r.kvHeads)!, headDim: num(r.headDim)! };
  const v = isObject(r.verify) ? r.verify : null;
  const { hostShare, floorMs: _f, computeFraction: _c, memoryFraction: _m, gflops: _g, gbps: _b, ...rest } = r;
  return {
    ...(rest as unknown as Measured),
    budgetLimited: false,
    profiledMs: unmeasured ? null : (num(r.profiledMs) ?? null),
    residualMs: unmeasured || imported ? null : (num(r.residualMs) ?? null),
    outsideKernelsShare: unmeasured || imported ? null : (num(hostShare) ?? null),
    ...(imported && typeof hostShare === 'number' ? { seedCpuShare: hostShare } : {}),
    bytes: layerCost(shape, r.mode === 'full' ? 'full' : 'seed').bytes,
    implementationBytes: null,
    speedup: null,
    ...(v ? { verify: { maxRelError: num(v.maxRelError) ?? NaN, tolerance: 1e-4, ok: (num(v.maxRelError) ?? Infinity) <= 1e-4, against: 'float64 reference', batch: num(v.batch) ?? 0, seq: num(v.seq) ?? 0 } } : {}),
  };
}

const UPGRADES: Readonly<Record<string, (f: Json) => Json>> = {
  'attnbench/generate@1': generate1to2,
  'attnbench/generate@2': generate2to3,
  'attnbench/layers@1': layers1to3,
  'attnbench/layers@2': layers2to3,
  'attnbench/decode@1': decode1to2,
};

/** `json` brought to the current version of its kind (unchanged when it is current or unknown). */
export function upgrade(json: unknown): unknown {
  let f = json;
  for (let step = 0; isObject(f) && typeof f.schema === 'string' && UPGRADES[f.schema]; step++) {
    if (step > 16) throw new Error(`upgrade loop at ${f.schema}`);
    f = UPGRADES[f.schema]!(f);
  }
  return f;
}
