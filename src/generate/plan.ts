/**
 * Planning a generation comparison: everything that can be checked before any work starts,
 * each check a function of its own, and what the configuration resolves to (the preset's
 * values, the checkpoint's shape, the prompts, the lengths). Nothing here allocates a model,
 * its caches or the prompts before the sizes are checked: the output path, the lengths and
 * the memory come first, from the numbers alone (a --batch of 10⁸ is refused, not built).
 */
import { stepOf } from '../attention/registry.ts';
import { parseVariant, variantLabel, type VariantSpec } from '../attention/spec.ts';
import { PRESETS, type GenerateConfig, type Preset } from '../config/generate.ts';
import { UsageError } from '../core/errors.ts';
import { currentWebGpu } from '../device/choice.ts';
import { checkFits, decoderPrograms } from '../device/limits.ts';
import { checkMemory } from '../core/memory.ts';
import { checkSideBySide, formatGiB, type Footprint } from '../core/footprint.ts';
import { checkThreads } from '../core/threads.ts';
import { predictedKvBytes } from '../model/cache.ts';
import { inspectCheckpoint, type CheckpointInfo } from '../model/checkpoint.ts';
import { checkConfig, gpt2Config, headDim, modelKvHeads, parameterCount, type ModelConfig } from '../model/config.ts';
import { checkGenerateOutputs } from '../results/outputs.ts';
import { roundUp } from './kv-cache.ts';
import { MIN_TEMPERATURE } from './logits.ts';
import { encodeText, randomPrompts } from './prompts.ts';

/** What a checked configuration resolves to. */
export interface GeneratePlan {
  specs: VariantSpec[];
  model: ModelConfig;
  checkpoint?: CheckpointInfo;
  /** Unpadded token ids, one list per prompt. */
  prompts: number[][];
  /** The longest prompt. */
  promptLength: number;
  maxNewTokens: number;
  minNewTokens: number;
  /** Rows of the model's batch: prompts × beams. */
  rows: number;
  /** Timed generations per type. */
  repeats: number;
  /** Seconds it took to build the prompts (the seed's get_test_batch). */
  promptSeconds: number;
}

/**
 * Check everything that can be checked before any work starts; throws a UsageError naming
 * the problem. `out`: the result file the run will write (checked to be writable now, and
 * refused if it exists, unless `overwrite`).
 */
export function planGenerate(c: GenerateConfig, out?: string, overwrite = false): GeneratePlan {
  const preset = PRESETS[c.preset];
  checkThreads(c.threads);
  checkSearch(c);
  checkGenerateOutputs(out, overwrite);
  const checkpoint = checkpointOf(c);
  const model = checkpoint?.config ?? modelOf(c, preset);
  checkConfig(model);
  const specs = attentionTypes(c, preset, model, checkpoint);
  const shape = promptShape(c, preset, model);
  checkPrompts(shape, specs, model);
  const { maxNewTokens, minNewTokens } = newTokens(c, preset, shape.promptLength, model);
  const rows = shape.count * c.numBeams;
  if (c.device === 'webgpu') checkOnAdapter(c, model, specs, rows, shape.promptLength, maxNewTokens);
  checkSideBySide('--attention', specs.map((spec) => typeMemory(c, model, spec, checkpoint, rows, shape.promptLength, maxNewTokens)), checkMemory);
  checkArraySizes(c, model, rows, shape.promptLength, maxNewTokens);
  // only now, with every size checked, are the prompts built
  const t0 = performance.now();
  const prompts = buildPrompts(c, shape, model);
  const promptSeconds = (performance.now() - t0) / 1000;
  return { specs, model, ...(checkpoint ? { checkpoint } : {}), prompts, promptLength: shape.promptLength, maxNewTokens, minNewTokens, rows, repeats: c.repeats ?? preset.repeats, promptSeconds };
}

/** The search settings: each in its range, and no combination the search does not support. */
function checkSearch(c: GenerateConfig): void {
  if (!(c.temperature > 0)) throw new UsageError(`--temperature must be positive, got ${c.temperature}`);
  if (c.temperature < MIN_TEMPERATURE) {
    throw new UsageError(`--temperature ${c.temperature} is below ${MIN_TEMPERATURE}: the logits divided by it overflow float32 (sampling this cold is greedy: leave out --do-sample)`);
  }
  if (!(c.topP > 0 && c.topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${c.topP}`);
  if (!Number.isInteger(c.topK) || c.topK < 0) throw new UsageError(`--top-k must be a non-negative integer, got ${c.topK}`);
  if (!Number.isFinite(c.lengthPenalty)) throw new UsageError(`--length-penalty must be a number, got ${c.lengthPenalty}`);
  if (c.numBeams > 1 && c.doSample) throw new UsageError('--num-beams > 1 with --do-sample (beam sampling) is not supported; use one or the other');
  if (c.maxLength !== undefined && c.maxNewTokens !== undefined) throw new UsageError('--max-length and --max-new-tokens are alternatives; give one');
}

const MODEL_FLAGS = ['layers', 'hidden', 'heads', 'positions', 'vocab'] as const;

/** A checkpoint's header and config, checked (the model-shape flags cannot be combined with it). */
function checkpointOf(c: GenerateConfig): CheckpointInfo | undefined {
  if (!c.model) return undefined;
  const given = MODEL_FLAGS.find((k) => c[k] !== undefined);
  if (given) throw new UsageError(`--${given} cannot be combined with --model (the checkpoint's config.json decides)`);
  return inspectCheckpoint(c.model);
}

/** The random model's shape: the flags given, the preset's values for the rest. */
const modelOf = (c: GenerateConfig, p: Preset): ModelConfig =>
  gpt2Config({ layers: c.layers ?? p.layers, hidden: c.hidden ?? p.hidden, heads: c.heads ?? p.heads, positions: c.positions ?? p.positions, vocab: c.vocab ?? p.vocab });

/** The attention types to compare: given, the preset's, or a checkpoint's own; each one derivable and given once. */
function attentionTypes(c: GenerateConfig, p: Preset, model: ModelConfig, checkpoint?: CheckpointInfo): VariantSpec[] {
  const names = c.attention ?? (checkpoint ? [] : p.attention);
  const specs = (names.length > 0 ? names : [checkpoint && checkpoint.kvHeads === 1 ? 'multi-query-1' : 'multi-head']).map(parseVariant);
  for (const s of specs) {
    const g = modelKvHeads(model, s);
    if (checkpoint && g !== checkpoint.kvHeads && g % checkpoint.kvHeads !== 0 && checkpoint.kvHeads % g !== 0) {
      throw new UsageError(`--attention ${variantLabel(s)}: ${g} K/V heads cannot be derived from the checkpoint's ${checkpoint.kvHeads}`);
    }
  }
  const labels = specs.map(variantLabel);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new UsageError(`--attention: ${dup} is given twice`);
  return specs;
}

/** The prompts' sizes, known before any is built: how many, how long, and the given texts encoded. */
interface PromptShape {
  count: number;
  /** The longest prompt. */
  promptLength: number;
  /** Whether every prompt has the same length (the fused kernel needs it). */
  equalLengths: boolean;
  /** The --prompt texts as token ids (none for random prompts). */
  encoded: number[][];
}

function promptShape(c: GenerateConfig, p: Preset, model: ModelConfig): PromptShape {
  const batch = c.batch ?? (c.prompt.length > 0 ? c.prompt.length : p.batch);
  if (c.prompt.length === 0) return { count: batch, promptLength: c.promptLength ?? p.promptLength, equalLengths: true, encoded: [] };
  const encoded = c.prompt.map((text, i) => {
    const ids = encodeText(text);
    if (ids.length === 0) throw new UsageError(`--prompt ${i + 1} is empty`);
    const big = ids.find((t) => t >= model.vocab);
    if (big !== undefined) throw new UsageError(`--prompt ${i + 1}: token id ${big} is outside the model's vocabulary of ${model.vocab}`);
    return ids;
  });
  const lengths = encoded.map((ids) => ids.length);
  const promptLength = lengths.reduce((a, b) => Math.max(a, b), 0);
  return { count: Math.max(batch, encoded.length), promptLength, equalLengths: lengths.every((n) => n === promptLength), encoded };
}

/** The prompts' token ids: the texts given (cycled up to the batch), or seeded random ids as the seed used. */
function buildPrompts(c: GenerateConfig, shape: PromptShape, model: ModelConfig): number[][] {
  if (shape.encoded.length === 0) return randomPrompts(shape.count, shape.promptLength, model.vocab, c.seed);
  return Array.from({ length: shape.count }, (_, i) => [...shape.encoded[i % shape.encoded.length]!]);
}

/** The longest prompt, checked against the positions and a step's lack of a padding mask (the fused kernel's). */
function checkPrompts(shape: PromptShape, specs: VariantSpec[], model: ModelConfig): void {
  const { promptLength } = shape;
  if (promptLength > model.positions) throw new UsageError(`a prompt of ${promptLength} tokens is longer than --positions ${model.positions}`);
  const unpadded = specs.find((s) => !stepOf(s).leftPadding);
  if (unpadded && !shape.equalLengths) throw new UsageError(`${unpadded.kind} needs prompts of equal length (its kernel takes no left-padding mask)`);
}

/** How many tokens to generate: --max-new-tokens, or --max-length (the preset's is capped at the positions) less the prompt. */
function newTokens(c: GenerateConfig, p: Preset, promptLength: number, model: ModelConfig): { maxNewTokens: number; minNewTokens: number } {
  let maxNewTokens = c.maxNewTokens;
  if (maxNewTokens === undefined) {
    const maxLength = c.maxLength ?? Math.min(p.maxLength, model.positions);
    if (maxLength <= promptLength) throw new UsageError(`--max-length ${maxLength} is not above the prompt length ${promptLength} (it counts the prompt)`);
    maxNewTokens = maxLength - promptLength;
  }
  if (promptLength + maxNewTokens > model.positions) {
    throw new UsageError(`prompt ${promptLength} + ${maxNewTokens} new tokens = ${promptLength + maxNewTokens} exceeds --positions ${model.positions}`);
  }
  const minNewTokens = c.minNewTokens ?? maxNewTokens;
  if (minNewTokens > maxNewTokens) throw new UsageError(`--min-new-tokens ${minNewTokens} is above the ${maxNewTokens} new tokens allowed`);
  return { maxNewTokens, minNewTokens };
}

/**
 * On WebGPU: refuse a decoder the adapter cannot hold, from its shape alone (a tensor over
 * the largest buffer, a program binding more buffer segments than it may), at the largest
 * step it will run: the prefill of the longest prompt (without the cache: the whole
 * sequence) against the final cache, for the type with the most K/V heads. Without the
 * adapter's limits (the optional webgpu package not installed) nothing is checked here.
 */
function checkOnAdapter(c: GenerateConfig, model: ModelConfig, specs: VariantSpec[], rows: number, promptLength: number, maxNewTokens: number): void {
  const limits = currentWebGpu()?.adapter.limits;
  if (!limits) return;
  const kvHeads = Math.max(...specs.map((s) => modelKvHeads(model, s)));
  const seq = c.kvCache ? promptLength : promptLength + maxNewTokens;
  const capacity = c.kvCache ? roundUp(promptLength + maxNewTokens, c.cacheChunk) : 0;
  const dims = { rows, seq, capacity, heads: model.heads, kvHeads, headDim: headDim(model), hidden: model.hidden, inner: model.inner, vocab: model.vocab };
  const why = checkFits(decoderPrograms(dims), limits);
  if (why) throw new UsageError(`--device webgpu: the decoder at ${rows} rows, prompt ${promptLength}, ${maxNewTokens} new tokens: ${why}; use a smaller --batch, prompt or length`);
}

/** The most elements one array (typed or not) can hold. */
const MAX_ARRAY = 2 ** 32 - 1;

/**
 * The largest single arrays a run makes, each within what one array can hold (memory may
 * allow more on a large machine; an array cannot): the logits, the prefill's mask, the
 * embeddings and the widest weight matrix.
 */
function checkArraySizes(c: GenerateConfig, model: ModelConfig, rows: number, promptLength: number, maxNewTokens: number): void {
  const seq = c.kvCache ? promptLength : promptLength + maxNewTokens;
  const arrays: [string, number][] = [
    [`the logits (${rows} rows × vocabulary ${model.vocab})`, rows * model.vocab],
    [`the attention mask (${rows} rows × ${seq}² positions)`, rows * seq * seq],
    [`the token embedding (vocabulary ${model.vocab} × hidden ${model.hidden})`, model.vocab * model.hidden],
    [`the position embedding (${model.positions} × hidden ${model.hidden})`, model.positions * model.hidden],
    [`the MLP weights (hidden ${model.hidden} × ${model.inner})`, model.hidden * model.inner],
  ];
  for (const [what, n] of arrays) {
    if (n > MAX_ARRAY) throw new UsageError(`${what}: ${n.toExponential(2)} elements, more than one array can hold (2³² − 1); use a smaller --batch, model or length`);
  }
}

/**
 * One type's predicted memory. Resident for the whole run (the types run interleaved, so
 * every type's model and cache live together): the engine's weights and its pre-packed copy
 * of them, and the KV cache at its final capacity (half again for beam search's reorder
 * scratch). Transient: while its model is built, the weights' JS arrays and their serialised
 * copy (released once the session exists); during a run, the logits and the prefill's
 * activations.
 */
function typeMemory(c: GenerateConfig, model: ModelConfig, spec: VariantSpec, checkpoint: CheckpointInfo | undefined, rows: number, promptLength: number, maxNewTokens: number): Footprint {
  const g = modelKvHeads(model, spec);
  const params = parameterCount(model, g);
  const loaded = checkpoint ? 4 * parameterCount(model, checkpoint.kvHeads) : 0;
  const cache = { layers: model.layers, rows, kvHeads: g, headDim: headDim(model) };
  const kv = predictedKvBytes(cache, roundUp(promptLength + maxNewTokens, c.cacheChunk)) * (c.numBeams > 1 ? 1.5 : 1);
  const logits = 4 * rows * model.vocab * 4;
  const prefill = c.kvCache ? 4 * rows * promptLength * (promptLength * model.heads + 4 * model.inner) * 2 : 4 * rows * (promptLength + maxNewTokens) ** 2 * model.heads * 2;
  // the ids on the JS side: the prompts, their padded batch (tokens, positions, live flags), the generated ids and sequences
  const ids = 6 * 8 * rows * (promptLength + maxNewTokens);
  return { label: `${variantLabel(spec)} (${(params / 1e6).toFixed(0)}M parameters, KV cache ${formatGiB(kv)} GiB)`, resident: loaded + 2 * 4 * params + kv + ids, transient: Math.max(2 * 4 * params, logits + prefill) };
}

/** The memory one type of a planned run is predicted to hold (resident and its transient). */
export function predictedTypeMemory(c: GenerateConfig, plan: GeneratePlan, spec: VariantSpec): number {
  const t = typeMemory(c, plan.model, spec, plan.checkpoint, plan.rows, plan.promptLength, plan.maxNewTokens);
  return t.resident + t.transient;
}
