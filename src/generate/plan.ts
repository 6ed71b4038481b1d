/**
 * Planning a generation comparison: everything that can be checked before any work starts,
 * each check a function of its own, and what the configuration resolves to (the preset's
 * values, the checkpoint's shape, the prompts, the lengths). Nothing here allocates a model
 * or its caches: the memory check comes first.
 */
import { parseVariant, variantLabel, type VariantSpec } from '../attention/spec.ts';
import { PRESETS, type GenerateConfig, type Preset } from '../config/generate.ts';
import { UsageError } from '../core/errors.ts';
import { checkMemory, formatGiB } from '../core/memory.ts';
import { checkThreads } from '../core/threads.ts';
import { predictedKvBytes } from '../model/cache.ts';
import { inspectCheckpoint, type CheckpointInfo } from '../model/checkpoint.ts';
import { checkConfig, gpt2Config, headDim, modelKvHeads, parameterCount, type ModelConfig } from '../model/config.ts';
import { roundUp } from './kv-cache.ts';
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

/** Check everything that can be checked before any work starts; throws a UsageError naming the problem. */
export function planGenerate(c: GenerateConfig): GeneratePlan {
  const preset = PRESETS[c.preset];
  if (c.device !== 'cpu') throw new UsageError(`--device ${c.device}: not available in this build of attnbench yet (cpu is)`);
  checkThreads(c.threads);
  checkSearch(c);
  const checkpoint = checkpointOf(c);
  const model = checkpoint?.config ?? modelOf(c, preset);
  checkConfig(model);
  const specs = attentionTypes(c, preset, model, checkpoint);
  const t0 = performance.now();
  const prompts = buildPrompts(c, preset, model);
  const promptSeconds = (performance.now() - t0) / 1000;
  const promptLength = checkPrompts(prompts, specs, model);
  const { maxNewTokens, minNewTokens } = newTokens(c, preset, promptLength, model);
  const rows = prompts.length * c.numBeams;
  checkMemorySideBySide(specs.map((spec) => typeMemory(c, model, spec, checkpoint, rows, promptLength, maxNewTokens)));
  return { specs, model, ...(checkpoint ? { checkpoint } : {}), prompts, promptLength, maxNewTokens, minNewTokens, rows, repeats: c.repeats ?? preset.repeats, promptSeconds };
}

/** The search settings: each in its range, and no combination the search does not support. */
function checkSearch(c: GenerateConfig): void {
  if (!(c.temperature > 0)) throw new UsageError(`--temperature must be positive, got ${c.temperature}`);
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

/** The prompts' token ids: the texts given (cycled up to the batch), or seeded random ids as the seed used. */
function buildPrompts(c: GenerateConfig, p: Preset, model: ModelConfig): number[][] {
  const batch = c.batch ?? (c.prompt.length > 0 ? c.prompt.length : p.batch);
  if (c.prompt.length === 0) return randomPrompts(batch, c.promptLength ?? p.promptLength, model.vocab, c.seed);
  const encoded = c.prompt.map((text, i) => {
    const ids = encodeText(text);
    if (ids.length === 0) throw new UsageError(`--prompt ${i + 1} is empty`);
    const big = ids.find((t) => t >= model.vocab);
    if (big !== undefined) throw new UsageError(`--prompt ${i + 1}: token id ${big} is outside the model's vocabulary of ${model.vocab}`);
    return ids;
  });
  return Array.from({ length: Math.max(batch, encoded.length) }, (_, i) => [...encoded[i % encoded.length]!]);
}

/** The longest prompt, checked against the positions and the fused kernel's lack of a padding mask. */
function checkPrompts(prompts: number[][], specs: VariantSpec[], model: ModelConfig): number {
  const promptLength = Math.max(...prompts.map((p) => p.length));
  if (promptLength > model.positions) throw new UsageError(`a prompt of ${promptLength} tokens is longer than --positions ${model.positions}`);
  if (specs.some((s) => s.kind === 'fused-gqa') && prompts.some((p) => p.length !== promptLength)) {
    throw new UsageError('fused-gqa needs prompts of equal length (its kernel takes no left-padding mask)');
  }
  return promptLength;
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

/** A type's predicted memory: what it holds for the whole run, and what a step or prefill allocates and frees. */
interface TypeMemory {
  label: string;
  resident: number;
  transient: number;
}

/**
 * One type's predicted memory. Resident for the whole run (the types run interleaved, so
 * every type's model and cache live together): the engine's weights and its pre-packed copy
 * of them, and the KV cache at its final capacity (half again for beam search's reorder
 * scratch). Transient: while its model is built, the weights' JS arrays and their serialised
 * copy (released once the session exists); during a run, the logits and the prefill's
 * activations.
 */
function typeMemory(c: GenerateConfig, model: ModelConfig, spec: VariantSpec, checkpoint: CheckpointInfo | undefined, rows: number, promptLength: number, maxNewTokens: number): TypeMemory {
  const g = modelKvHeads(model, spec);
  const params = parameterCount(model, g);
  const loaded = checkpoint ? 4 * parameterCount(model, checkpoint.kvHeads) : 0;
  const cache = { layers: model.layers, rows, kvHeads: g, headDim: headDim(model) };
  const kv = predictedKvBytes(cache, roundUp(promptLength + maxNewTokens, c.cacheChunk)) * (c.numBeams > 1 ? 1.5 : 1);
  const logits = 4 * rows * model.vocab * 4;
  const prefill = c.kvCache ? 4 * rows * promptLength * (promptLength * model.heads + 4 * model.inner) * 2 : 4 * rows * (promptLength + maxNewTokens) ** 2 * model.heads * 2;
  return { label: `${variantLabel(spec)} (${(params / 1e6).toFixed(0)}M parameters, KV cache ${formatGiB(kv)} GiB)`, resident: loaded + 2 * 4 * params + kv, transient: Math.max(2 * 4 * params, logits + prefill) };
}

/** Refuse when the types' resident memory together plus the largest transient exceeds what is free. */
function checkMemorySideBySide(types: readonly TypeMemory[]): void {
  const bytes = types.reduce((a, t) => a + t.resident, 0) + Math.max(0, ...types.map((t) => t.transient));
  checkMemory(`--attention ${types.map((t) => t.label).join(', ')}, side by side`, bytes);
}

/** The memory one type of a planned run is predicted to hold (resident and its transient). */
export function predictedTypeMemory(c: GenerateConfig, plan: GeneratePlan, spec: VariantSpec): number {
  const t = typeMemory(c, plan.model, spec, plan.checkpoint, plan.rows, plan.promptLength, plan.maxNewTokens);
  return t.resident + t.transient;
}
