/**
 * The result files of one report or comparison: each read by the results' one reader,
 * refused when it holds nothing to draw, and named (labels unique among the files). How
 * they are grouped for drawing: `sections.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { readRun, type Run } from '../results/io.ts';
import { looksLegacy } from '../results/seed-format.ts';

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
