/**
 * The paths each command writes, checked together before any work (src/core/outputs.ts):
 * a layer sweep's or decode comparison's result file with its journal and lock beside it, the
 * seed-format copy and the dump folder; a generation's result file; a converted file; the
 * main job's folder and what goes in it. One rule for every result file: one that exists
 * holds finished results and is never replaced without --overwrite.
 */
import path from 'node:path';
import { checkOutputs, type OutputPath } from '../core/outputs.ts';
import { journalPath } from './io.ts';
import { lockPath } from './lock.ts';

/** Where a layer sweep writes (each optional: a path given as '' is refused, not ignored). */
export interface LayerOutputs {
  out?: string | undefined;
  legacyOut?: string | undefined;
  dump?: string | undefined;
  /** Replace existing result files (else an existing one is refused). */
  overwrite?: boolean | undefined;
}

/** A journaled run's result file, with its journal and lock beside it; an existing result file is refused unless `overwrite`. */
export function runOutputPaths(out: string, overwrite = false, flag = '--out'): OutputPath[] {
  const paths: OutputPath[] = [{ flag, path: out, kind: 'file', keep: !overwrite }];
  if (out.trim() !== '') {
    paths.push({ flag: `${flag} (its journal)`, path: journalPath(out), kind: 'file', append: true });
    paths.push({ flag: `${flag} (its lock)`, path: lockPath(out), kind: 'file' });
  }
  return paths;
}

/** Every path a layer sweep will write: the result file, its journal and lock, the seed-format copy, the dump folder. */
export function layerOutputPaths(o: LayerOutputs): OutputPath[] {
  const paths: OutputPath[] = o.out === undefined ? [] : runOutputPaths(o.out, o.overwrite);
  if (o.legacyOut !== undefined) paths.push({ flag: '--legacy-out', path: o.legacyOut, kind: 'file', keep: !o.overwrite });
  if (o.dump !== undefined) paths.push({ flag: '--dump', path: o.dump, kind: 'folder' });
  return paths;
}

/**
 * Refuse, before anything is measured, a layer sweep whose outputs cannot be written (one
 * line naming the path and the reason), or that would replace a finished result file without
 * `overwrite`. `runLayers` calls it once the configuration is checked, before any probe or
 * journal; the CLI calls it before it takes the lock, with `--legacy-out`, which only it writes.
 */
export const checkLayerOutputs = (o: LayerOutputs): void => checkOutputs(layerOutputPaths(o));

/** The same for a decode comparison (a journaled run: the result file, its journal and lock). */
export const checkDecodeOutputs = (out: string | undefined, overwrite = false): void => checkOutputs(out === undefined ? [] : runOutputPaths(out, overwrite));

/** The same for a generation (one result file, written at the end). */
export const checkGenerateOutputs = (out: string | undefined, overwrite = false): void => checkOutputs(out === undefined ? [] : [{ flag: '--out', path: out, kind: 'file', keep: !overwrite }]);

/** The same for a converted file (import-legacy). */
export const checkResultOutput = (flag: string, out: string, overwrite = false): void => checkOutputs([{ flag, path: out, kind: 'file', keep: !overwrite }]);

/** The files of the main job (`attnbench` with no command) in its folder. */
export function mainJobPaths(outDir: string, tableFormat: string) {
  return {
    layers: path.join(outDir, 'layers.json'),
    table: path.join(outDir, `layers.${tableFormat}`),
    generate: path.join(outDir, 'generate.json'),
    report: path.join(outDir, 'report'),
  };
}

/** Every path the main job will write, checked before its sweep starts. */
export function checkMainJobOutputs(outDir: string, tableFormat: string, dump?: string, overwrite = false): void {
  const p = mainJobPaths(outDir, tableFormat);
  checkOutputs([
    { flag: '--out-dir', path: outDir, kind: 'folder' },
    ...layerOutputPaths({ out: p.layers, dump, overwrite }).map((o) => ({ ...o, flag: o.flag.replace('--out', '--out-dir (layers.json)') })),
    { flag: '--out-dir (the table)', path: p.table, kind: 'file' },
    { flag: '--out-dir (generate.json)', path: p.generate, kind: 'file', keep: !overwrite },
    { flag: '--out-dir (the report)', path: p.report, kind: 'folder' },
  ]);
}
