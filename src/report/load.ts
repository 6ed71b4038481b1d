/**
 * Reading result files for `report` and `compare`: layer results, generation results and
 * sweep journals, each validated, each named in its errors. A run is one file; runs are
 * merged for the report and told apart by their label.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import {
  GENERATE_SCHEMA,
  GenerateResultFile,
  LAYERS_SCHEMA,
  LayerResult,
  LayerResultFile,
  type Environment,
  type Failure,
  type GenerateResult,
} from '../results/schema.ts';
import { looksLegacy } from './legacy.ts';
import { UsageError } from '../core/errors.ts';

export interface LayerRun {
  kind: 'layers';
  file: string;
  /** How charts and tables name this run: the file name, made unique among the runs. */
  label: string;
  /** Null for a journal, which records results only. */
  environment: Environment | null;
  results: LayerResult[];
  failures: Failure[];
}

export interface GenerateRun {
  kind: 'generate';
  file: string;
  label: string;
  environment: Environment;
  config: Record<string, unknown>;
  results: GenerateResult[];
}

export type Run = LayerRun | GenerateRun;

/** Validate `json` against `schema`; the error names the file and the first problem. */
function validate<T extends z.ZodType>(schema: T, json: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${where}: invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Read and parse a JSON file; errors name the file. */
export function readJson(file: string, text = readText(file)): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not JSON${text.trim() ? '' : ' (empty file)'}`);
  }
}

/**
 * A sweep's journal (`layers.json.journal.jsonl`): one layer result per line. Unlike
 * `--resume`, which drops a torn last line and redoes it, a report refuses a torn line:
 * drawing an interrupted sweep as if it were whole would mislead.
 */
function readJournalStrict(file: string, text: string): LayerRun {
  const results: LayerResult[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new UsageError(`${file}: line ${i + 1} is truncated or not JSON (an interrupted sweep? finish it with 'attnbench layers --resume')`);
    }
    results.push(validate(LayerResult, json, `${file}: line ${i + 1}`));
  });
  return { kind: 'layers', file, label: '', environment: null, results, failures: [] };
}

/** Read one result file of any kind this version knows. */
export function loadRun(file: string): Run {
  const text = readText(file);
  let run: Run;
  if (file.endsWith('.jsonl')) {
    run = readJournalStrict(file, text);
  } else {
    const json = readJson(file, text);
    const schema = (json as { schema?: unknown } | null)?.schema;
    if (schema === LAYERS_SCHEMA) {
      const f = validate(LayerResultFile, json, file);
      run = { kind: 'layers', file, label: '', environment: f.environment, results: f.results, failures: f.failures };
    } else if (schema === GENERATE_SCHEMA) {
      const f = validate(GenerateResultFile, json, file);
      run = { kind: 'generate', file, label: '', environment: f.environment, config: f.config, results: f.results };
    } else if (looksLegacy(json)) {
      throw new UsageError(`${file}: this is the seed's format; convert it first: attnbench import-legacy ${file} --out imported.json`);
    } else {
      throw new UsageError(
        `${file}: schema is ${JSON.stringify(schema ?? null)}, expected "${LAYERS_SCHEMA}" or "${GENERATE_SCHEMA}"` +
          (typeof schema === 'string' && schema.startsWith('attnbench/') ? ' (written by another version of attnbench?)' : ''),
      );
    }
  }
  if (run.results.length === 0) {
    const failed = run.kind === 'layers' && run.failures.length ? ` (all ${run.failures.length} configurations failed)` : '';
    throw new UsageError(`${file}: no results${failed}`);
  }
  return run;
}

/** The layer every result of a layer run measures, as one comparable string. */
const layerShape = (r: LayerResult) => `mode ${r.mode}, ${r.heads} heads of ${r.headDim}`;

/**
 * Read several files for one report: labels made unique, and refused when they cannot
 * be drawn together (the same file twice, layer runs of different layer shapes).
 */
export function loadRuns(files: readonly string[]): Run[] {
  if (files.length === 0) throw new UsageError('no result files given');
  const seen = new Map<string, string>();
  for (const f of files) {
    const key = path.resolve(f);
    if (seen.has(key)) throw new UsageError(`${f}: given twice`);
    seen.set(key, f);
  }
  const runs = files.map(loadRun);

  // absolute times and rooflines of different layers side by side would compare nothing
  let first: { file: string; shape: string } | undefined;
  for (const run of runs) {
    if (run.kind !== 'layers') continue;
    for (const r of run.results) {
      const shape = layerShape(r);
      first ??= { file: run.file, shape };
      if (shape !== first.shape) {
        throw new UsageError(
          `${run.file}: measures a different layer (${shape}) than ${first.file} (${first.shape}); report them separately`,
        );
      }
    }
  }
  labelRuns(runs);
  return runs;
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
