/** `attnbench generate`: flags → `runGenerate` → the seed's dicts and a table on stdout. */
import os from 'node:os';
import { Command, Option } from 'commander';
import { PRESETS, type PresetName } from '../generate/presets.ts';
import { formatGenerate } from '../generate/report.ts';
import { runGenerate, type GenerateConfig } from '../generate/run.ts';
import type { EarlyStopping, SearchOptions } from '../generate/search.ts';
import type { ModelConfig } from '../model/config.ts';
import { parseNameList, parsePositive } from './lists.ts';
import { UsageError } from '../core/errors.ts';

/** What commander hands the action; the search flags are the search's own options. */
interface GenerateFlags
  extends Pick<SearchOptions, 'doSample' | 'temperature' | 'topK' | 'topP' | 'seed' | 'numBeams' | 'lengthPenalty' | 'earlyStopping'> {
  preset: PresetName;
  attention?: string[];
  layers?: number;
  hidden?: number;
  heads?: number;
  positions?: number;
  vocab?: number;
  model?: string;
  prompt: string[];
  promptLength?: number;
  batch?: number;
  threads: number;
  kvCache: boolean;
  maxLength?: number;
  maxNewTokens?: number;
  minNewTokens?: number;
  repeats?: number;
  cacheChunk: number;
  printText: boolean;
  out?: string;
  progress: boolean;
}

const parseNumber = (flag: string) => (text: string) => {
  const v = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${flag}: '${text}' is not a number`);
  return v;
};
const parseCount = (flag: string) => (text: string) => {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: '${text}' is not a non-negative integer`);
  return Number(text);
};
const parseEarly = (text: string): EarlyStopping => {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'never') return 'never';
  throw new UsageError(`--early-stopping: '${text}' is not one of true, false, never`);
};

const MODEL_FLAGS = ['layers', 'hidden', 'heads', 'positions', 'vocab'] as const;

/** Flags → a checked-later configuration (presets fill what was not given). */
export function toGenerateConfig(f: GenerateFlags): GenerateConfig {
  const preset = PRESETS[f.preset];
  if (f.model) {
    const given = MODEL_FLAGS.find((k) => f[k] !== undefined);
    if (given) throw new UsageError(`--${given} cannot be combined with --model (the checkpoint's config.json decides)`);
  }
  const hidden = f.hidden ?? preset.model.hidden;
  const model: ModelConfig = {
    ...preset.model,
    layers: f.layers ?? preset.model.layers,
    hidden,
    heads: f.heads ?? preset.model.heads,
    positions: f.positions ?? preset.model.positions,
    vocab: f.vocab ?? preset.model.vocab,
    inner: 4 * hidden,
  };
  return {
    model,
    ...(f.model ? { modelDir: f.model } : {}),
    attention: f.attention ?? (f.model ? [] : preset.attention),
    batch: f.batch ?? (f.prompt.length > 0 ? f.prompt.length : preset.batch),
    prompts: f.prompt,
    promptLength: f.promptLength ?? preset.promptLength,
    ...(f.maxNewTokens !== undefined ? { maxNewTokens: f.maxNewTokens } : { maxLength: f.maxLength ?? preset.maxLength, maxLengthIsDefault: f.maxLength === undefined }),
    ...(f.minNewTokens !== undefined ? { minNewTokens: f.minNewTokens } : {}),
    doSample: f.doSample,
    temperature: f.temperature,
    topK: f.topK,
    topP: f.topP,
    numBeams: f.numBeams,
    lengthPenalty: f.lengthPenalty,
    earlyStopping: f.earlyStopping,
    useCache: f.kvCache,
    seed: f.seed,
    repeats: f.repeats ?? preset.repeats,
    threads: f.threads,
    chunk: f.cacheChunk,
    preset: f.preset,
    ...(f.out ? { out: f.out } : {}),
    progress: f.progress,
  };
}

/** A preset's configuration with every other setting at its default (the main job runs `quick`). */
export function presetGenerateConfig(preset: PresetName): GenerateConfig {
  return toGenerateConfig({
    preset,
    prompt: [],
    threads: os.cpus().length,
    kvCache: true,
    doSample: false,
    temperature: 1,
    topK: 50,
    topP: 1,
    seed: 1,
    numBeams: 1,
    lengthPenalty: 1,
    earlyStopping: false,
    cacheChunk: 256,
    printText: false,
    progress: true,
  });
}

/** "quick X, seed Y" for a help text. */
const byPreset = (f: (p: (typeof PRESETS)[PresetName]) => unknown) => `preset quick: ${f(PRESETS.quick)}, seed: ${f(PRESETS.seed)}`;

export function addGenerateOptions(cmd: Command): Command {
  const pos = (flag: string) => parsePositive(flag);
  return cmd
    .addOption(new Option('--preset <name>', "quick: a small model (under a minute on 2 cores); seed: the seed's GPT-2 experiment (24 layers, hidden 1024, batch 8, max_length 1024)").choices(['quick', 'seed']).default('quick'))
    .option('--attention <list>', `attention types, comma-separated: multi-head, multi-query, multi-query-1, grouped-query:g, fused-gqa:g, multi-query-separate, or the seed's aliases (${byPreset((p) => p.attention.join(','))}; with --model: the checkpoint's own)`, (t) => parseNameList('--attention', t))
    .option('--layers <n>', `decoder blocks (${byPreset((p) => p.model.layers)})`, pos('--layers'))
    .option('--hidden <n>', `hidden size (${byPreset((p) => p.model.hidden)})`, pos('--hidden'))
    .option('--heads <n>', `query heads (${byPreset((p) => p.model.heads)})`, pos('--heads'))
    .option('--positions <n>', `learned positions, the longest sequence (${byPreset((p) => p.model.positions)})`, pos('--positions'))
    .option('--vocab <n>', `vocabulary size (${byPreset((p) => p.model.vocab)}; GPT-2's tokenizer has 50257)`, pos('--vocab'))
    .option('--model <dir>', 'load a local Hugging Face checkpoint (config.json + model.safetensors, gpt2 or gpt_bigcode)')
    .option('--prompt <text>', 'a prompt (repeatable); default: random token ids', (t: string, prev: string[]) => [...prev, t], [] as string[])
    .option('--prompt-length <n>', `length of the random prompts (${byPreset((p) => p.promptLength)})`, pos('--prompt-length'))
    .option('--batch <n>', `prompts generated at once (${byPreset((p) => p.batch)}; with --prompt: their count, or cycled up to --batch)`, pos('--batch'))
    .option('--threads <n>', 'engine intra-op threads', pos('--threads'), os.cpus().length)
    .option('--no-kv-cache', 'recompute the whole sequence every step (use_cache=False)')
    .option('--do-sample', 'sample instead of greedy', false)
    .option('--temperature <t>', 'sampling temperature', parseNumber('--temperature'), 1)
    .option('--top-k <k>', 'sample from the k most likely tokens (0: all)', parseCount('--top-k'), 50)
    .option('--top-p <p>', 'sample from the smallest set of tokens whose probability reaches p', parseNumber('--top-p'), 1)
    .option('--seed <n>', 'random seed (weights, prompts, sampling)', parseCount('--seed'), 1)
    .option('--num-beams <n>', 'beam search with n beams', pos('--num-beams'), 1)
    .option('--length-penalty <x>', 'beam search: score = sum logprobs / length^x', parseNumber('--length-penalty'), 1)
    .option('--early-stopping [when]', 'beam search stops: true (n finished), false (heuristic), never', parseEarly, false as EarlyStopping)
    .option('--max-length <n>', `total length, prompt included (${byPreset((p) => p.maxLength)})`, pos('--max-length'))
    .option('--max-new-tokens <n>', 'new tokens to generate (instead of --max-length)', pos('--max-new-tokens'))
    .option('--min-new-tokens <n>', 'no eos before this many new tokens (default: all of them, so every run does the same work)', parseCount('--min-new-tokens'))
    .option('--repeats <n>', `timed generations per type, after one warm-up (${byPreset((p) => p.repeats)})`, pos('--repeats'))
    .option('--cache-chunk <n>', 'KV-cache capacity grows in chunks of this many positions', pos('--cache-chunk'), 256)
    .option('--print-text', 'print the generated text of every row', false)
    .option('--out <file>', 'write the JSON result (attnbench/generate@1)')
    .option('--no-progress', 'no progress bar on stderr');
}

export function generateCommand(): Command {
  const cmd = new Command('generate').description(
    'profile text generation in a GPT-2-style decoder per attention type: prefill, KV-cached decode steps, greedy / sampling / beam search',
  );
  addGenerateOptions(cmd).action(async (flags: GenerateFlags) => {
    const file = await runGenerate(toGenerateConfig(flags));
    process.stdout.write(formatGenerate(file.results, flags.printText));
    if (flags.out) process.stderr.write(`wrote ${flags.out}\n`);
  });
  return cmd;
}
