/**
 * `attnbench` with no command: the main job on its default settings, a quick layer sweep
 * (under a few minutes on 2 cores) whose results and table land in `results/`, and their
 * report (charts, index.html, summary.md) in `results/report/`.
 */
import path from 'node:path';
import { Command } from 'commander';
import { layerTable } from '../results/tables.ts';
import { formatTable } from '../table/table.ts';
import { runLayers } from '../profile/run-layers.ts';
import { addLayerOptions, toLayersConfig, type LayersFlags } from './layers.ts';
import { runGenerate } from '../generate/run.ts';
import { formatGenerate } from '../generate/report.ts';
import { presetGenerateConfig } from './generate.ts';
import { writeFileAtomic } from '../core/files.ts';

export const QUICK = {
  variants: ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:4'],
  batch: [8],
  seq: [128, 256, 512, 1024],
  budgetMs: 1500,
};

export function mainJobCommand(): Command {
  const cmd = new Command();
  addLayerOptions(cmd, QUICK)
    .option('--out-dir <dir>', 'where results go', 'results')
    .action(async (flags: LayersFlags & { outDir: string }) => {
      const out = path.join(flags.outDir, 'layers.json');
      const file = await runLayers({ ...toLayersConfig(flags), out, resume: false });
      const table = formatTable(layerTable(file.results), flags.format);
      writeFileAtomic(path.join(flags.outDir, `layers.${flags.format}`), table);
      process.stdout.write(table);
      process.stderr.write(`wrote ${out} and ${path.join(flags.outDir, `layers.${flags.format}`)}\n`);
      // the quick generation comparison (attnbench generate --preset quick), sharing the sweep's ceilings
      const genOut = path.join(flags.outDir, 'generate.json');
      const ceilings = file.environment.ceilings ? { ceilings: file.environment.ceilings } : {};
      const gen = await runGenerate({ ...presetGenerateConfig('quick'), threads: flags.threads, seed: flags.seed, progress: flags.progress, out: genOut, ...ceilings });
      process.stdout.write('\n' + formatGenerate(gen.results, false));
      process.stderr.write(`wrote ${genOut}\n`);
      // the charts of what this job produced; the libraries load only now (see cli/report.ts)
      const { report } = await import('../report/report.ts');
      const index = await report([out, genOut], path.join(flags.outDir, 'report'));
      process.stderr.write(`report: ${path.resolve(index)}\n`);
    });
  return cmd;
}
