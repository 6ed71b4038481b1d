/**
 * Older result files, brought up to the current version on read: one small function per
 * version step, keyed by the version it reads. A file is upgraded step by step until its
 * `schema` has no upgrade left, then validated against the current schema as any file is.
 */
import { layerCost } from '../attention/cost.ts';
import { underRoofline, withSpeedups, type Measured } from './bounds.ts';
import { GENERATE_SCHEMA, LAYERS_SCHEMA } from './schema.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const defined = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The seed's fields @1 kept in every result; @2 derives them when it prints the seed's dict. */
const SEED_FIELDS = ['get_test_batch', 'generate_text_batch', 'decode_batch', 'input_batch_size', 'input_batch_length', 'max_gen_length', 'num_beams', 'do_sample', 'pad_token_id', 'dtype', 'device', 'device_name'];

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
  const env = isObject(f.environment) ? f.environment : {};
  const model = isObject(c.model) ? c.model : null;
  const promptLength = num(c.promptLength) ?? num(first.input_batch_length);
  const maxNewTokens = num(c.maxNewTokens) ?? (num(first.max_gen_length) ?? 0) - (promptLength ?? 0);
  const config = defined({
    preset: c.preset === 'seed' ? 'seed' : 'quick',
    attention: Array.isArray(c.attention) ? c.attention : results.map((r) => r.attention),
    ...(model ? { layers: model.layers, hidden: model.hidden, heads: model.heads, positions: model.positions, vocab: model.vocab } : {}),
    model: typeof c.modelDir === 'string' ? c.modelDir : undefined,
    prompt: Array.isArray(c.prompts) ? c.prompts : [],
    promptLength,
    batch: num(c.batch) ?? num(first.input_batch_size),
    threads: num(c.threads) ?? num(env.threads) ?? 1,
    kvCache: typeof c.useCache === 'boolean' ? c.useCache : first.useCache !== false,
    doSample: typeof c.doSample === 'boolean' ? c.doSample : first.do_sample === true,
    temperature: num(c.temperature) ?? 1,
    topK: num(c.topK) ?? 50,
    topP: num(c.topP) ?? 1,
    seed: num(c.seed) ?? 1,
    numBeams: num(c.numBeams) ?? num(first.num_beams) ?? 1,
    lengthPenalty: num(c.lengthPenalty) ?? 1,
    earlyStopping: c.earlyStopping === true || c.earlyStopping === 'never' ? c.earlyStopping : false,
    maxNewTokens,
    minNewTokens: num(c.minNewTokens),
    repeats: num(c.repeats) ?? num(isObject(first.generateSeconds) ? first.generateSeconds.n : undefined),
    cacheChunk: num(c.cacheChunk) ?? 256,
    // @1 fed the weights as inputs, and profiled no step
    weights: 'input',
    profileStep: false,
    device: 'cpu',
  });
  const resolved = {
    model,
    modelType: c.modelType === 'gpt2' || c.modelType === 'gpt_bigcode' ? c.modelType : 'random',
    attention: results.map((r) => r.attention),
    batch: config.batch,
    promptLength,
    maxNewTokens,
    minNewTokens: num(c.minNewTokens) ?? maxNewTokens,
    promptSeconds: num(first.get_test_batch) ?? 0,
  };
  const upgraded = results.map((r) => {
    const { useCache: _, floorMs: _f, vsFloor: _v, roofline: _r, ...rest } = Object.fromEntries(Object.entries(r).filter(([k]) => !SEED_FIELDS.includes(k))) as Json;
    const steps = Array.isArray(r.steps) ? (r.steps as Json[]).map(({ floorMs: _s, ...p }) => ({ ...p, taskFloorMs: null })) : [];
    const atMax = isObject(r.atMaxContext) ? (({ floorMs: _a, ...a }) => ({ ...a, taskFloorMs: null }))(r.atMaxContext) : null;
    return {
      ...rest,
      textSeconds: num(r.decode_batch) ?? 0,
      steps,
      atMaxContext: atMax,
      // @1's floors used a copy bandwidth that bounded nothing: no floor without @2's ceilings
      roofline: null,
      taskFloorMs: null,
      vsTaskFloor: null,
      profiledStep: null,
      flags: [],
      predictedMemoryBytes: 0,
      speedupVsMha: pointSpeedup(r.speedupVsMha),
      generateSpeedupVsMha: pointSpeedup(r.generateSpeedupVsMha),
    };
  });
  return { schema: GENERATE_SCHEMA, environment: environment1to2(f.environment), config, resolved, results: upgraded };
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
 * layers@1 → @2. `hostShare` splits into what it was: in our runs the share of a call
 * outside the kernels (`outsideKernelsShare`), in files imported from the seed its cpu part
 * (`seedCpuShare`); figures @1 stored as 0 without profiled runs become null; `bytes` is the
 * task's (recomputed from the shape); floors, fractions and flags need @2's ceilings, so
 * they are null; speedups are point estimates (@1's variants ran in sequence, not in
 * rounds); @1 fed the weights as inputs.
 */
function layers1to2(f: Json): Json {
  const env = isObject(f.environment) ? f.environment : {};
  const imported = typeof env.importedFrom === 'string';
  const results = (Array.isArray(f.results) ? (f.results as Json[]) : []).map((r): Measured => {
    const profiled = num(r.profiledRuns) ?? 0;
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
  });
  const config = isObject(f.config) ? { ...f.config, weights: 'input', profileRuns: num((results[0] as unknown as Json | undefined)?.profiledRuns) ?? 3, device: 'cpu' } : undefined;
  return {
    schema: LAYERS_SCHEMA,
    environment: environment1to2(f.environment),
    ...(config ? { config } : {}),
    results: withSpeedups(results).map((r) => underRoofline(r, null)),
    failures: Array.isArray(f.failures) ? f.failures : [],
  };
}

const UPGRADES: Readonly<Record<string, (f: Json) => Json>> = {
  'attnbench/generate@1': generate1to2,
  'attnbench/layers@1': layers1to2,
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
