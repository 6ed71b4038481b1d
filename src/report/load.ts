/**
 * The result files of one report or comparison: each read by the results' one reader,
 * refused when it holds nothing to draw, and named (labels unique among the files). Layer
 * results are grouped by the layer they measure: a report draws each shape on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { readRun, type GenerateRun, type LayerRun, type Run } from '../results/io.ts';
import type { LayerResult } from '../results/schema.ts';
import { looksLegacy } from './legacy.ts';

/** Why a JSON value that is no result file could still be meant as one: the seed's own format. */
const legacyHint = (json: unknown, _schema: unknown, file: string) =>
  looksLegacy(json) ? `this is the seed's format; convert it first: attnbench import-legacy ${file} --out imported.json` : undefined;

/** Read one result file for a report or comparison: a file without results is refused. */
export function loadRun(file: string): Run {
  const run = readRun(file, (json, schema) => legacyHint(json, schema, file));
  if (run.results.length === 0) {
    const failed = run.kind === 'layers' && run.failures.length ? ` (all ${run.failures.length} configurations failed)` : '';
    throw new UsageError(`${file}: no results${failed}`);
  }
  return run;
}

/**
 * Read several files for one report: labels made unique, the same file twice refused.
 * Files of different layer shapes are fine: the report draws each shape on its own.
 */
export function loadRuns(files: readonly string[]): Run[] {
  if (files.length === 0) throw new UsageError('no result files given');
  const seen = new Map<string, string>();
  for (const f of files) {
    const key = realPath(f);
    const first = seen.get(key);
    if (first !== undefined) throw new UsageError(first === f ? `${f}: given twice` : `${f}: is the same file as ${first} (given twice)`);
    seen.set(key, f);
  }
  const runs = files.map(loadRun);
  labelRuns(runs);
  return runs;
}

/** The file behind a path (symbolic links followed, `./x` and `x` alike); a path that cannot be resolved stands for itself. */
function realPath(f: string): string {
  try {
    return fs.realpathSync(f);
  } catch {
    return path.resolve(f);
  }
}

/**
 * Label = file name without extension; where names collide, as many of the folders above
 * it as it takes to tell them apart (`old/layers`, `new/layers`).
 */
function labelRuns(runs: Run[]): void {
  const parts = runs.map((r) => path.resolve(r.file).replace(/(\.journal)?\.jsonl?$/, '').split(path.sep));
  const tail = (i: number, n: number) => parts[i]!.slice(-n).join('/');
  runs.forEach((r, i) => {
    let n = 1;
    while (n < parts[i]!.length && parts.some((_, j) => j !== i && tail(j, n) === tail(i, n))) n++;
    r.label = tail(i, n);
  });
}

export const layerRuns = (runs: readonly Run[]) => runs.filter((r): r is LayerRun => r.kind === 'layers');
export const generateRuns = (runs: readonly Run[]) => runs.filter((r): r is GenerateRun => r.kind === 'generate');

/** The layer a result measures: what must be equal for two results to share an axis. */
export interface LayerShape {
  mode: LayerResult['mode'];
  heads: number;
  headDim: number;
}

const shapeKey = (s: LayerShape) => `${s.mode} ${s.heads}x${s.headDim}`;

/** "seed mode, 16 heads of 64". */
export const shapeTitle = (s: LayerShape) => `${s.mode} mode, ${s.heads} heads of ${s.headDim}`;

/** The layer runs that measure one shape (each run cut to its results of that shape). */
export interface ShapeSection {
  shape: LayerShape;
  /** A file-name-safe id ("seed-16x64"). */
  id: string;
  title: string;
  runs: LayerRun[];
}

/**
 * Layer results grouped by the layer they measure, in the order first seen. Times,
 * speedups and rooflines of different layers on one axis would compare different work,
 * so a report draws each group in a section of its own. A run's failures go with the
 * first section it appears in.
 */
export function shapeSections(runs: readonly Run[]): ShapeSection[] {
  const sections = new Map<string, ShapeSection>();
  for (const run of layerRuns(runs)) {
    const byShape = new Map<string, LayerResult[]>();
    for (const r of run.results) {
      const key = shapeKey(r);
      byShape.set(key, [...(byShape.get(key) ?? []), r]);
    }
    [...byShape].forEach(([key, results], i) => {
      const shape = { mode: results[0]!.mode, heads: results[0]!.heads, headDim: results[0]!.headDim };
      const section = sections.get(key) ?? { shape, id: key.replace(' ', '-'), title: shapeTitle(shape), runs: [] };
      section.runs.push({ ...run, results, failures: i === 0 ? run.failures : [] });
      sections.set(key, section);
    });
  }
  return [...sections.values()];
}
