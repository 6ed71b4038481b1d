/** `attnbench layers`: flags → `runLayers` → table on stdout. */
import { logLine } from '../core/progress.ts';
import { quickProbes } from './env.ts';
import { Command, Option } from 'commander';
import { LayersConfig } from '../config/layers.ts';
import { UsageError } from '../core/errors.ts';
import { writeOrFallback } from '../core/outputs.ts';
import { runLayers } from '../commands/run-layers.ts';
import { toLegacy } from '../results/seed-format.ts';
import { acquireLock } from '../results/lock.ts';
import { checkLayerOutputs } from '../results/outputs.ts';
import { layerTable } from '../results/tables.ts';
import { formatTable, TABLE_FORMATS, type TableFormat } from '../table/table.ts';
import { parsePositiveOrAuto } from '../config/lists.ts';
import { addConfigOptions, configFromFlags, type FlagHint } from './options.ts';

/** What the schema's types cannot say about the layer flags. */
export const LAYER_HINTS: Record<string, FlagHint> = { repeats: { value: '<n|auto>', parse: parsePositiveOrAuto('--repeats') }, dump: { value: '<dir>' } };

/** The flags beyond the configuration: how results are shown, and whether a bar is. */
export interface OutputFlags {
  format: TableFormat;
  progress: boolean;
}

/** The layer configuration's flags plus the output flags `layers` and the main job share. */
export function addLayerOptions(cmd: Command, hints: Record<string, FlagHint> = LAYER_HINTS): Command {
  return addConfigOptions(cmd, LayersConfig, hints)
    .addOption(new Option('--format <fmt>', 'table format on stdout').choices(TABLE_FORMATS).default('md'))
    .option('--no-progress', 'no progress bar on stderr');
}

/** The flags that say what to do with a journal left by an earlier run. */
export function addJournalOptions(cmd: Command): Command {
  return cmd
    .option('--resume', 'continue an interrupted sweep from the journal beside its result file', false)
    .option('--overwrite', 'replace an existing result file, and discard the finished results in a journal left by an earlier, interrupted run', false);
}

export function layersCommand(): Command {
  const cmd = new Command('layers').description('profile attention layers over a grid of variants, batch sizes and sequence lengths');
  addJournalOptions(addLayerOptions(cmd).option('--out <file>', 'write the JSON result file (atomically; a journal beside it while running)'))
    .option('--legacy-out <file>', "also write the results in the seed's format (profile_attention_types.json), for its notebook")
    .action(async (flags: OutputFlags & { out?: string; resume: boolean; overwrite: boolean; legacyOut?: string; profileRuns: number; dump?: string }) => {
      // refuse before the sweep, not after it: the seed's format is made of the stage split
      if (flags.legacyOut !== undefined && flags.profileRuns === 0) throw new UsageError('--legacy-out needs the stage split; --profile-runs must be at least 1');
      const config = configFromFlags(LayersConfig, flags);
      checkLayerOutputs({ out: flags.out, legacyOut: flags.legacyOut, dump: flags.dump, overwrite: flags.overwrite });
      // one run per output: a second one on the same file is refused while this one holds it
      const lock = flags.out === undefined ? undefined : acquireLock(flags.out, { log: logLine });
      try {
        const file = await runLayers(config, { ...(flags.out !== undefined ? { out: flags.out } : {}), resume: flags.resume, overwrite: flags.overwrite, progress: flags.progress, quickCeilings: quickProbes() });
        process.stdout.write(formatTable(layerTable(file.results), flags.format));
        if (flags.out !== undefined) process.stderr.write(`wrote ${flags.out}\n`);
        if (flags.legacyOut !== undefined) {
          writeOrFallback(flags.legacyOut, toLegacy(file.results), 'layers-legacy');
          process.stderr.write(`wrote ${flags.legacyOut} (the seed's format)\n`);
        }
        if (file.failures.length) process.stderr.write(`${file.failures.length} configuration(s) failed; see "failures" in the result\n`);
      } finally {
        lock?.release();
      }
    });
  return cmd;
}
