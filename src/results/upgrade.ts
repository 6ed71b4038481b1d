/**
 * Older result files, brought up to the current version on read: one small function per
 * version step, keyed by the version it reads. A file is upgraded step by step until its
 * `schema` has no upgrade left, then validated against the current schema as any file is.
 */
import { GENERATE_SCHEMA } from './schema.ts';

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
    const { useCache: _, ...rest } = Object.fromEntries(Object.entries(r).filter(([k]) => !SEED_FIELDS.includes(k))) as Json;
    return { ...rest, textSeconds: num(r.decode_batch) ?? 0 };
  });
  return { schema: GENERATE_SCHEMA, environment: f.environment, config, resolved, results: upgraded };
}

const UPGRADES: Readonly<Record<string, (f: Json) => Json>> = {
  'attnbench/generate@1': generate1to2,
};

/** Versions this one reads by upgrading them. */
export const UPGRADABLE = Object.keys(UPGRADES);

/** `json` brought to the current version of its kind (unchanged when it is current or unknown). */
export function upgrade(json: unknown): unknown {
  let f = json;
  for (let step = 0; isObject(f) && typeof f.schema === 'string' && UPGRADES[f.schema]; step++) {
    if (step > 16) throw new Error(`upgrade loop at ${f.schema}`);
    f = UPGRADES[f.schema]!(f);
  }
  return f;
}
