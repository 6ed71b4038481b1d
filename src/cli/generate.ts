/** `attnbench generate`: flags → `runGenerate` → the seed's dicts and a table on stdout. */
import { quickProbes } from './env.ts';
import { Command } from 'commander';
import { GenerateConfig, PRESETS, type EarlyStopping, type Preset } from '../config/generate.ts';
import { UsageError } from '../core/errors.ts';
import { formatGenerate } from '../generate/report.ts';
import { runGenerate } from '../generate/run.ts';
import { logLine } from '../core/progress.ts';
import { acquireLock } from '../results/lock.ts';
import { checkGenerateOutputs } from '../results/outputs.ts';
import { addConfigOptions, configFromFlags, type FlagHint } from './options.ts';

const parseEarly = (text: string): EarlyStopping => {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'never') return 'never';
  throw new UsageError(`--early-stopping: '${text}' is not one of true, false, never`);
};

/** "(preset quick: X, seed: Y)" for the help of a field a preset fills. */
const byPreset = (key: keyof Preset) => {
  const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
  return `(preset quick: ${show(PRESETS.quick[key])}, seed: ${show(PRESETS.seed[key])})`;
};

/** What the schema's types cannot say about the generation flags. */
const HINTS: Record<string, FlagHint> = {
  prompt: { value: '<text>', parse: (t, prev) => [...((prev as string[] | undefined) ?? []), t], default: [] },
  earlyStopping: { value: '[when]', parse: parseEarly },
  model: { value: '<dir>' },
  ...Object.fromEntries((Object.keys(PRESETS.quick) as (keyof Preset)[]).map((k) => [k, { more: byPreset(k) }])),
};

export function generateCommand(): Command {
  const cmd = new Command('generate').description(
    'profile text generation in a GPT-2-style decoder per attention type: prefill, KV-cached decode steps, greedy / sampling / beam search',
  );
  addConfigOptions(cmd, GenerateConfig, HINTS)
    .option('--print-text', 'print the generated text of every row', false)
    .option('--out <file>', 'write the JSON result (attnbench/generate@2)')
    .option('--overwrite', 'replace an existing result file at --out', false)
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (flags: { printText: boolean; out?: string; overwrite: boolean; progress: boolean }) => {
      const config = configFromFlags(GenerateConfig, flags);
      // --out '' is refused by the output check, never taken for "no file"; a finished file is not replaced without --overwrite
      checkGenerateOutputs(flags.out, flags.overwrite);
      // one run per output, by any path to it
      const lock = flags.out === undefined ? undefined : acquireLock(flags.out, { log: logLine });
      try {
        const file = await runGenerate(config, { ...(flags.out !== undefined ? { out: flags.out } : {}), overwrite: flags.overwrite, progress: flags.progress, quickCeilings: quickProbes() });
        process.stdout.write(formatGenerate(file, flags.printText));
        if (flags.out !== undefined) process.stderr.write(`wrote ${flags.out}\n`);
      } finally {
        lock?.release();
      }
    });
  return cmd;
}
