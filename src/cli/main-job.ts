/**
 * `attnbench` with no command: the main job on its default settings, a quick layer sweep
 * (under a few minutes on 2 cores) whose results and table land in `results/`, the quick
 * generation comparison, and the report of both (charts, index.html, summary.md) in
 * `results/report/`. Every path it will write is checked before the sweep starts.
 */
import { logLine } from '../core/progress.ts';
import path from 'node:path';
import { quickProbes } from './env.ts';
import { Command } from 'commander';
import { LayersConfig, MAIN_JOB_GRID } from '../config/layers.ts';
import { writeOrFallback } from '../core/outputs.ts';
import { formatGenerate } from '../generate/report.ts';
import { runGenerate } from '../generate/run.ts';
import { runLayers } from '../commands/run-layers.ts';
import { acquireLock } from '../results/lock.ts';
import { checkMainJobOutputs, mainJobPaths } from '../results/outputs.ts';
import { layerTable } from '../results/tables.ts';
import { formatTable } from '../table/table.ts';
import { addJournalOptions, addLayerOptions, LAYER_HINTS, type OutputFlags } from './layers.ts';
import { configFromFlags } from './options.ts';

export function mainJobCommand(): Command {
  const cmd = new Command();
  const hints = { ...LAYER_HINTS, ...Object.fromEntries(Object.entries(MAIN_JOB_GRID).map(([k, v]) => [k, { ...LAYER_HINTS[k], default: v }])) };
  addJournalOptions(addLayerOptions(cmd, hints))
    .option('--out-dir <dir>', 'where results go', 'results')
    .action(async (flags: OutputFlags & { outDir: string; resume: boolean; overwrite: boolean; dump?: string }) => {
      const config = configFromFlags(LayersConfig, flags);
      checkMainJobOutputs(flags.outDir, flags.format, flags.dump, flags.overwrite);
      const files = mainJobPaths(flags.outDir, flags.format);
      const out = files.layers;
      const lock = acquireLock(out, { log: logLine });
      try {
        const file = await runLayers(config, { out, resume: flags.resume, overwrite: flags.overwrite, progress: flags.progress, quickCeilings: quickProbes() });
        const table = formatTable(layerTable(file.results), flags.format);
        writeOrFallback(files.table, table, 'layers-table');
        process.stdout.write(table);
        process.stderr.write(`wrote ${out} and ${files.table}\n`);
        // the quick generation comparison (attnbench generate --preset quick), sharing the sweep's ceilings (on WebGPU, the GPU's: the decoder runs there too)
        const ceilings = file.environment.ceilings ? { ceilings: file.environment.ceilings } : {};
        const device = config.device === 'webgpu' ? ('webgpu' as const) : ('cpu' as const);
        const gen = await runGenerate({ preset: 'quick', threads: config.threads, seed: config.seed, device }, { out: files.generate, overwrite: flags.overwrite, progress: flags.progress, quickCeilings: quickProbes(), ...ceilings });
        process.stdout.write('\n' + formatGenerate(gen, false));
        process.stderr.write(`wrote ${files.generate}\n`);
        // the charts of what this job produced; the libraries load only now (see cli/report.ts)
        const { report } = await import('../report/report.ts');
        const index = await report([out, files.generate], files.report);
        process.stderr.write(`report: ${path.resolve(index)}\n`);
      } finally {
        lock.release();
      }
    });
  return cmd;
}
