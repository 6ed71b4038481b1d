/** `attnbench layers`: flags → `runLayers` → table on stdout. */
import os from 'node:os';
import { Command, Option } from 'commander';
import { GRAPH_OPTS } from '../engine/session.ts';
import { layerTable } from '../results/tables.ts';
import { formatTable, type TableFormat } from '../table/table.ts';
import { parseIntList, parseNameList, parsePositive } from './lists.ts';
import { runLayers, SEED_DEFAULTS, type LayersConfig } from '../profile/run-layers.ts';
import { toLegacy } from '../report/legacy.ts';
import { UsageError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';

/** What commander hands the action: the API's config under the flags' names, plus output options. */
export type LayersFlags = Pick<
  LayersConfig,
  'variants' | 'batch' | 'seq' | 'heads' | 'headDim' | 'mode' | 'repeats' | 'budgetMs' | 'warmup' | 'threads' | 'graphOpt' | 'verify' | 'out' | 'resume' | 'seed' | 'progress'
> & { profileRuns: number; dump?: string; format: TableFormat };

const parseRepeats = (text: string): number | 'auto' => (text === 'auto' ? 'auto' : parsePositive('--repeats')(text));
const parseCount = (flag: string) => (text: string) => {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: '${text}' is not a non-negative integer`);
  return Number(text);
};

/** Options shared by `layers` and the default main job. */
export function addLayerOptions(cmd: Command, defaults: { variants: string[]; batch: number[]; seq: number[]; budgetMs: number }): Command {
  return cmd
    .option('--variants <list>', 'attention variants, comma-separated', (t) => parseNameList('--variants', t), defaults.variants)
    .option('--batch <list>', 'batch sizes (lists and ranges: 8,16 or 8-32*2)', (t) => parseIntList('--batch', t), defaults.batch)
    .option('--seq <list>', 'sequence lengths (e.g. 64-1984+128)', (t) => parseIntList('--seq', t), defaults.seq)
    .option('--heads <n>', 'query heads (nh)', parsePositive('--heads'), SEED_DEFAULTS.heads)
    .option('--head-dim <n>', 'head size (hs)', parsePositive('--head-dim'), SEED_DEFAULTS.headDim)
    .addOption(new Option('--mode <mode>', 'seed: projection and two matmuls; full: a causal self-attention layer').choices(['seed', 'full']).default('seed'))
    .option('--repeats <n|auto>', "timed runs per configuration; auto: the seed's rule capped by --budget-ms", parseRepeats, 'auto' as const)
    .option('--budget-ms <ms>', 'time budget for the timed runs of one configuration (auto repeats)', parsePositive('--budget-ms'), defaults.budgetMs)
    .option('--warmup <n>', 'warm-up runs per configuration', parsePositive('--warmup'), 2)
    .option('--threads <n>', 'engine intra-op threads', parsePositive('--threads'), os.cpus().length)
    .addOption(new Option('--graph-opt <level>', 'engine graph optimisation level').choices(GRAPH_OPTS as string[]).default('all'))
    .option('--profile-runs <n>', 'profiled runs for the stage split (0: none)', parseCount('--profile-runs'), 3)
    .option('--verify', 'check each variant against a float64 reference', false)
    .option('--dump <dir>', 'write inputs, weights and output as .npy files with a manifest')
    .addOption(new Option('--format <fmt>', 'table format on stdout').choices(['md', 'csv', 'json']).default('md'))
    .option('--seed <n>', 'random seed for inputs and weights', parseCount('--seed'), 1)
    .option('--no-progress', 'no progress bar on stderr');
}

export function toLayersConfig(f: LayersFlags): LayersConfig {
  return {
    variants: f.variants,
    batch: f.batch,
    seq: f.seq,
    heads: f.heads,
    headDim: f.headDim,
    mode: f.mode,
    repeats: f.repeats,
    budgetMs: f.budgetMs,
    warmup: f.warmup,
    threads: f.threads,
    graphOpt: f.graphOpt,
    profiledRuns: f.profileRuns,
    verify: f.verify,
    ...(f.dump ? { dumpDir: f.dump } : {}),
    ...(f.out ? { out: f.out } : {}),
    resume: f.resume,
    seed: f.seed,
    progress: f.progress,
  };
}

export function layersCommand(): Command {
  const cmd = new Command('layers').description('profile attention layers over a grid of variants, batch sizes and sequence lengths');
  addLayerOptions(cmd, { variants: SEED_DEFAULTS.variants, batch: SEED_DEFAULTS.batch, seq: SEED_DEFAULTS.seq, budgetMs: 3000 })
    .option('--out <file>', 'write the JSON result file (atomically; a journal beside it while running)')
    .option('--resume', 'continue an interrupted sweep from the journal beside --out', false)
    .option('--legacy-out <file>', "also write the results in the seed's format (profile_attention_types.json), for its notebook")
    .action(async (flags: LayersFlags & { legacyOut?: string }) => {
      // refuse before the sweep, not after it: the seed's format is made of the stage split
      if (flags.legacyOut && flags.profileRuns === 0) throw new UsageError('--legacy-out needs the stage split; --profile-runs must be at least 1');
      const file = await runLayers(toLayersConfig(flags));
      process.stdout.write(formatTable(layerTable(file.results), flags.format));
      if (flags.out) process.stderr.write(`wrote ${flags.out}\n`);
      if (flags.legacyOut) {
        writeFileAtomic(flags.legacyOut, toLegacy(file.results));
        process.stderr.write(`wrote ${flags.legacyOut} (the seed's format)\n`);
      }
      if (file.failures.length) process.stderr.write(`${file.failures.length} configuration(s) failed; see "failures" in the result\n`);
    });
  return cmd;
}
