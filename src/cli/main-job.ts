/**
 * `attnbench` with no command: the main job on its default settings, a quick layer sweep
 * (under a few minutes on 2 cores) whose results and table land in `results/`, the quick
 * generation comparison, and the report of both (charts, index.html, summary.md) in
 * `results/report/`.
 */
import path from 'node:path';
import { quickProbes } from './env.ts';
import { Command } from 'commander';
import { LayersConfig, MAIN_JOB_GRID } from '../config/layers.ts';
import { writeFileAtomic } from '../core/files.ts';
import { formatGenerate } from '../generate/report.ts';
import { runGenerate } from '../generate/run.ts';
import { runLayers } from '../profile/run-layers.ts';
import { layerTable } from '../results/tables.ts';
import { formatTable } from '../table/table.ts';
import { addLayerOptions, LAYER_HINTS, type OutputFlags } from './layers.ts';
import { configFromFlags } from './options.ts';

export function mainJobCommand(): Command {
  const cmd = new Command();
  const hints = { ...LAYER_HINTS, ...Object.fromEntries(Object.entries(MAIN_JOB_GRID).map(([k, v]) => [k, { ...LAYER_HINTS[k], default: v }])) };
  addLayerOptions(cmd, hints)
    .option('--out-dir <dir>', 'where results go', 'results')
    .action(async (flags: OutputFlags & { outDir: string }) => {
      const config = configFromFlags(LayersConfig, flags);
      const out = path.join(flags.outDir, 'layers.json');
      const file = await runLayers(config, { out, progress: flags.progress, quickCeilings: quickProbes() });
      const table = formatTable(layerTable(file.results), flags.format);
      const tableFile = path.join(flags.outDir, `layers.${flags.format}`);
      writeFileAtomic(tableFile, table);
      process.stdout.write(table);
      process.stderr.write(`wrote ${out} and ${tableFile}\n`);
      // the quick generation comparison (attnbench generate --preset quick), sharing the sweep's ceilings
      const genOut = path.join(flags.outDir, 'generate.json');
      const ceilings = file.environment.ceilings ? { ceilings: file.environment.ceilings } : {};
      const gen = await runGenerate({ preset: 'quick', threads: config.threads, seed: config.seed }, { out: genOut, progress: flags.progress, ...ceilings });
      process.stdout.write('\n' + formatGenerate(gen, false));
      process.stderr.write(`wrote ${genOut}\n`);
      // the charts of what this job produced; the libraries load only now (see cli/report.ts)
      const { report } = await import('../report/report.ts');
      const index = await report([out, genOut], path.join(flags.outDir, 'report'));
      process.stderr.write(`report: ${path.resolve(index)}\n`);
    });
  return cmd;
}
