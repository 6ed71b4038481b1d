/** `attnbench layers`: flags → `runLayers` → table on stdout. */
import { quickProbes } from './env.ts';
import { Command, Option } from 'commander';
import { LayersConfig } from '../config/layers.ts';
import { UsageError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';
import { runLayers } from '../profile/run-layers.ts';
import { toLegacy } from '../report/legacy.ts';
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

export function layersCommand(): Command {
  const cmd = new Command('layers').description('profile attention layers over a grid of variants, batch sizes and sequence lengths');
  addLayerOptions(cmd)
    .option('--out <file>', 'write the JSON result file (atomically; a journal beside it while running)')
    .option('--resume', 'continue an interrupted sweep from the journal beside --out', false)
    .option('--legacy-out <file>', "also write the results in the seed's format (profile_attention_types.json), for its notebook")
    .action(async (flags: OutputFlags & { out?: string; resume: boolean; legacyOut?: string; profileRuns: number }) => {
      // refuse before the sweep, not after it: the seed's format is made of the stage split
      if (flags.legacyOut && flags.profileRuns === 0) throw new UsageError('--legacy-out needs the stage split; --profile-runs must be at least 1');
      const file = await runLayers(configFromFlags(LayersConfig, flags), { ...(flags.out ? { out: flags.out } : {}), resume: flags.resume, progress: flags.progress, quickCeilings: quickProbes() });
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
