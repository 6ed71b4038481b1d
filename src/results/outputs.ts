/**
 * The paths each command writes, checked together before any work (src/core/outputs.ts):
 * a layer sweep's result file with its journal and lock beside it, the seed-format copy and
 * the dump folder; a generation's result file; the main job's folder and what goes in it.
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
}

/** Every path a layer sweep will write: the result file, its journal and lock, the seed-format copy, the dump folder. */
export function layerOutputPaths(o: LayerOutputs): OutputPath[] {
  const paths: OutputPath[] = [];
  if (o.out !== undefined) {
    paths.push({ flag: '--out', path: o.out, kind: 'file' });
    if (o.out.trim() !== '') {
      paths.push({ flag: '--out (its journal)', path: journalPath(o.out), kind: 'file', append: true });
      paths.push({ flag: '--out (its lock)', path: lockPath(o.out), kind: 'file' });
    }
  }
  if (o.legacyOut !== undefined) paths.push({ flag: '--legacy-out', path: o.legacyOut, kind: 'file' });
  if (o.dump !== undefined) paths.push({ flag: '--dump', path: o.dump, kind: 'folder' });
  return paths;
}

/**
 * Refuse, before anything is measured, a layer sweep whose outputs cannot be written (one
 * line naming the path and the reason). `runLayers` calls this first; so does the CLI.
 */
export const checkLayerOutputs = (o: LayerOutputs): void => checkOutputs(layerOutputPaths(o));

/** Refuse, before anything is measured, a generation whose result file cannot be written. */
export const checkGenerateOutputs = (out: string | undefined): void => checkOutputs(out === undefined ? [] : [{ flag: '--out', path: out, kind: 'file' }]);

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
export function checkMainJobOutputs(outDir: string, tableFormat: string, dump?: string): void {
  const p = mainJobPaths(outDir, tableFormat);
  checkOutputs([
    { flag: '--out-dir', path: outDir, kind: 'folder' },
    ...layerOutputPaths({ out: p.layers, dump }).map((o) => ({ ...o, flag: o.flag.replace('--out', '--out-dir (layers.json)') })),
    { flag: '--out-dir (the table)', path: p.table, kind: 'file' },
    { flag: '--out-dir (generate.json)', path: p.generate, kind: 'file' },
    { flag: '--out-dir (the report)', path: p.report, kind: 'folder' },
  ]);
}
