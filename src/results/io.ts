/**
 * The one reader and writer of result files: layer results, generation results and a
 * sweep's journal. Everything is validated against the schema on write and on read, files
 * are written atomically, older versions are upgraded on read, and every error names the
 * file and the reason.
 *
 * The journal is JSON Lines that a sweep appends to as each configuration finishes, so an
 * interrupted sweep keeps its work (journal.ts: a header naming the run, then one entry per
 * line; journals written before the header existed hold bare layer results and still read).
 *
 * A result file that cannot be written at the end of a run (the disk filled up, the folder
 * was removed) does not take the measurements with it: they are saved to a fallback file,
 * and the error says where.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { readJson, readText } from '../core/files.ts';
import { writeOrFallback } from '../core/outputs.ts';
import { Ceilings } from '../roofline/probes.ts';
import { readJournalFile } from './journal.ts';
import {
  DECODE_SCHEMA,
  DecodeResultFile,
  GENERATE_SCHEMA,
  GenerateResultFile,
  LAYERS_SCHEMA,
  LayerResult,
  LayerResultFile,
  type DecodeConfigRecord,
  type DecodeFailure,
  type DecodeResult,
  type Environment,
  type Failure,
  type GenerateConfigRecord,
  type GenerationResolved,
  type GenerateResult,
  type LayerConfig,
} from './schema.ts';
import type { ModelConfig } from '../model/config.ts';
import { upgrade } from './upgrade.ts';

/** A layer result file or a journal, as read. */
export interface LayerRun {
  kind: 'layers';
  file: string;
  /** How charts and tables name this run (set when several are read together). */
  label: string;
  /** Null for a journal, which records results only. */
  environment: Environment | null;
  config?: LayerConfig;
  results: LayerResult[];
  failures: Failure[];
}

/** A generation result file, as read. */
export interface GenerateRun {
  kind: 'generate';
  file: string;
  label: string;
  environment: Environment;
  config: GenerateConfigRecord;
  resolved: GenerationResolved;
  results: GenerateResult[];
}

/** A decode-step comparison, as read. */
export interface DecodeRun {
  kind: 'decode';
  file: string;
  label: string;
  environment: Environment;
  config: DecodeConfigRecord;
  model: ModelConfig;
  results: DecodeResult[];
  failures: DecodeFailure[];
}

export type Run = LayerRun | GenerateRun | DecodeRun;

/** The versions this one writes. */
export const CURRENT_SCHEMAS = [LAYERS_SCHEMA, GENERATE_SCHEMA, DECODE_SCHEMA] as const;

/** Validate `json` against `schema`; the error names `where` and the first problem. */
function validate<T extends z.ZodType>(schema: T, json: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${where}: invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

const json = (data: unknown) => JSON.stringify(data, null, 2) + '\n';

/** Write a layer result file; if that fails, the results go to a fallback file the error names. */
export function writeLayerFile(file: string, result: LayerResultFile): void {
  writeOrFallback(file, json(LayerResultFile.parse(result)), 'layers');
}

/** Write a generation result file; if that fails, the results go to a fallback file the error names. */
export function writeGenerateFile(file: string, result: GenerateResultFile): void {
  writeOrFallback(file, json(GenerateResultFile.parse(result)), 'generate');
}

/** Write a decode-step result file; if that fails, the results go to a fallback file the error names. */
export function writeDecodeFile(file: string, result: DecodeResultFile): void {
  writeOrFallback(file, json(DecodeResultFile.parse(result)), 'decode');
}

/** A result file's JSON as a run: upgraded, validated, its kind told by its `schema`. */
function runOf(file: string, data: unknown, hint: (schema: unknown) => string): Run {
  const up = upgrade(data);
  const schema = (up as { schema?: unknown } | null)?.schema;
  if (schema === LAYERS_SCHEMA) {
    const f = validate(LayerResultFile, up, file);
    return { kind: 'layers', file, label: '', environment: f.environment, ...(f.config ? { config: f.config } : {}), results: f.results, failures: f.failures };
  }
  if (schema === GENERATE_SCHEMA) {
    const f = validate(GenerateResultFile, up, file);
    return { kind: 'generate', file, label: '', environment: f.environment, config: f.config, resolved: f.resolved, results: f.results };
  }
  if (schema === DECODE_SCHEMA) {
    const f = validate(DecodeResultFile, up, file);
    return { kind: 'decode', file, label: '', environment: f.environment, config: f.config, model: f.model, results: f.results, failures: f.failures };
  }
  throw new UsageError(`${file}: ${hint(schema)}`);
}

const unknownSchema = (schema: unknown) =>
  `schema is ${JSON.stringify(schema ?? null)}, expected ${CURRENT_SCHEMAS.map((s) => `"${s}"`).join(' or ')}` +
  (typeof schema === 'string' && schema.startsWith('attnbench/') ? ' (written by another version of attnbench?)' : '');

/**
 * Read one result file of any kind this version knows (a `.jsonl` file is a sweep's
 * journal, read strictly). `hint` explains a JSON value that is not a result file.
 */
export function readRun(file: string, hint: (json: unknown, schema: unknown) => string | undefined = () => undefined): Run {
  const text = readText(file);
  if (file.endsWith('.jsonl')) return { kind: 'layers', file, label: '', environment: null, results: parseJournal(file, text, 'refuse'), failures: [] };
  const data = readJson(file, text);
  return runOf(file, data, (schema) => hint(data, schema) ?? unknownSchema(schema));
}

/** Parse and validate a layer result file. */
export function readLayerFile(file: string): LayerResultFile {
  const run = readRun(file);
  if (run.kind !== 'layers' || !run.environment) throw new UsageError(`${file}: is a ${run.kind === 'layers' ? 'journal' : `${run.kind} result`}, not a layer result file`);
  return LayerResultFile.parse({ schema: LAYERS_SCHEMA, environment: run.environment, ...(run.config ? { config: run.config } : {}), results: run.results, failures: run.failures });
}

/** The journal beside an output file: `results.json` → `results.json.journal.jsonl`. */
export const journalPath = (out: string) => `${out}.journal.jsonl`;

/**
 * What a layer sweep's journal holds after its header: the ceilings each session measured,
 * and each finished configuration with the session whose ceilings it was measured against.
 */
export const LayerJournalEntry = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ceilings'), session: z.number().int().nonnegative(), ceilings: Ceilings }),
  z.object({ kind: z.literal('result'), session: z.number().int().nonnegative(), result: LayerResult }),
]);
export type LayerJournalEntry = z.infer<typeof LayerJournalEntry>;

/** The results of a journal's entries, in the order they were appended. */
export const journalResults = (entries: readonly LayerJournalEntry[]): LayerResult[] => entries.flatMap((e) => (e.kind === 'result' ? [e.result] : []));

/** Does `text` start with a journal header (the format of journal.ts)? */
const hasHeader = (text: string) => /^\{\s*"kind"\s*:\s*"header"/.test(text);

/**
 * A header-less journal (written before journal.ts): one bare layer result per line. Before
 * appending, a torn tail (the process died mid-write) is cut off, so that the new line does
 * not land on it and make the journal unreadable after a second interruption; each line is
 * flushed to disk before the next configuration starts.
 */
export function appendJournal(file: string, entry: LayerResult): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const line = JSON.stringify(LayerResult.parse(entry)) + '\n';
  const fd = fs.openSync(file, 'a+');
  try {
    const size = fs.fstatSync(fd).size;
    const last = Buffer.alloc(1);
    if (size > 0 && (fs.readSync(fd, last, 0, 1, size - 1), last[0] !== 0x0a)) {
      fs.ftruncateSync(fd, fs.readFileSync(file).lastIndexOf(0x0a) + 1);
    }
    fs.writeSync(fd, line);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * One layer result per line. A torn last line (the process died mid-write) is dropped when
 * resuming (`drop`: that configuration runs again); a report refuses it (`refuse`), since
 * drawing an interrupted sweep as if it were whole would mislead. Any other bad line is an
 * error naming the line.
 */
function parseJournal(file: string, text: string, torn: 'drop' | 'refuse'): LayerResult[] {
  if (hasHeader(text)) {
    const found = readJournalFile(file, LayerJournalEntry, text);
    if (found.tornBytes > 0 && torn === 'refuse') {
      throw new UsageError(`${file}: line ${found.entries.length + 2} is truncated (an interrupted sweep? finish it with 'attnbench layers --resume')`);
    }
    return journalResults(found.entries);
  }
  const lines = text.split('\n');
  const out: LayerResult[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      if (torn === 'drop' && i === lines.length - 1) return;
      throw new UsageError(`${file}: line ${i + 1} is truncated or not JSON` + (torn === 'refuse' ? " (an interrupted sweep? finish it with 'attnbench layers --resume')" : ''));
    }
    out.push(validate(LayerResult, entry, `${file}: line ${i + 1}`));
  });
  return out;
}

/** The configurations a journal holds, for `--resume` (none when there is no journal). */
export const readJournal = (file: string): LayerResult[] => (fs.existsSync(file) ? parseJournal(file, readText(file), 'drop') : []);
