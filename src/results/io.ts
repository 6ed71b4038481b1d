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
import { readJson, readText, writeFileAtomic, writeTarget } from '../core/files.ts';
import { writeOrFallback } from '../core/outputs.ts';
import { Ceilings } from '../roofline/probes.ts';
import { finishedWorkRefused, JOURNAL_VERSION, openJournal, readJournalFile, type Entry, type Identity, type Journal } from './journal.ts';
import {
  DECODE_SCHEMA,
  DecodeResult,
  DecodeResultFile,
  GENERATE_SCHEMA,
  GenerateResultFile,
  LAYERS_SCHEMA,
  LayerResult,
  LayerResultFile,
  type DecodeConfigRecord,
  type DecodeFailure,
  type Environment,
  type Failure,
  type GenerateConfigRecord,
  type GenerationResolved,
  type GenerateResult,
  type LayerConfig,
} from './schema.ts';
import type { ModelConfig } from '../model/config.ts';
import { parseVariant, variantLabel } from '../attention/spec.ts';
import type { DecodeConfig } from '../config/decode.ts';
import type { LayersConfig } from '../config/layers.ts';
import { attnbenchVersion } from './environment.ts';
import { decodeResultNames, layerResultNames, upgrade } from './upgrade.ts';

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

/** The journal beside an output file: `results.json` → `results.json.journal.jsonl`, beside the file's real path (a link to it finds the same journal). */
export const journalPath = (out: string) => `${writeTarget(out)}.journal.jsonl`;

/**
 * What a run's journal holds after its header: the ceilings each session measured, and each
 * finished result with the session whose ceilings it was measured against. A layer sweep's
 * results are layer results, a decode comparison's decode results.
 */
const runJournalEntry = <R extends z.ZodType>(result: R) =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('ceilings'), session: z.number().int().nonnegative(), ceilings: Ceilings }),
    z.object({ kind: z.literal('result'), session: z.number().int().nonnegative(), result }),
  ]);
/** A journal entry of a run whose results are R (the type of runJournalEntry's schemas). */
export type RunJournalEntry<R> = { kind: 'ceilings'; session: number; ceilings: Ceilings } | { kind: 'result'; session: number; result: R };
// a result journaled by an earlier attnbench reads with the record's names (upgrade.ts)
export const LayerJournalEntry = runJournalEntry(z.preprocess(layerResultNames, LayerResult));
export type LayerJournalEntry = z.infer<typeof LayerJournalEntry>;
export const DecodeJournalEntry = runJournalEntry(z.preprocess(decodeResultNames, DecodeResult));
export type DecodeJournalEntry = z.infer<typeof DecodeJournalEntry>;

/**
 * What a layer sweep is, for its journal: every setting that changes a measurement (the grid,
 * repeats and budget, threads, the device, the seed...) and this attnbench's version; not the
 * `.npy` dump folder. Resuming needs an equal one: numbers from another grid, other settings or
 * other code are never mixed into one file.
 */
export function layersIdentity(c: LayersConfig): Identity {
  const { dump: _dump, ...settings } = c;
  return { run: 'layers', ...settings, variants: c.variants.map((v) => variantLabel(parseVariant(v))), attnbench: attnbenchVersion() };
}

/** What a decode comparison is, for its journal: its whole configuration (every field changes a measurement) and this attnbench's version. */
export function decodeIdentity(c: DecodeConfig): Identity {
  return { run: 'decode', ...c, attention: c.attention.map((a) => variantLabel(parseVariant(a))), attnbench: attnbenchVersion() };
}

/** What to do with a journal an earlier run left beside the output. */
export interface JournalOptions {
  resume: boolean;
  overwrite: boolean;
  log: (line: string) => void;
}

/**
 * Open the journal of a layer sweep writing `out` (journal.ts: refuse another run's journal on
 * resume, refuse to discard finished work without overwrite, cut a torn tail). A journal of an
 * earlier attnbench (bare results, no header) is resumed as this run's, its identity unchecked,
 * after it is rewritten with a header; without resume it is refused or discarded like any other.
 */
export function openLayerJournal(out: string, config: LayersConfig, o: JournalOptions): Journal<LayerJournalEntry> {
  const file = journalPath(out);
  const identity = layersIdentity(config);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  if (fs.existsSync(file) && fs.statSync(file).isFile() && !hasHeader(readText(file))) {
    const legacy = readJournal(file);
    if (!o.resume && legacy.length > 0 && !o.overwrite) {
      throw finishedWorkRefused(file, legacy.length);
    }
    if (o.resume) {
      // rewritten in one atomic step: an interruption here leaves the old journal or the new one, never neither
      const lines = [{ kind: 'header', version: JOURNAL_VERSION, identity }, ...legacy.map((result) => ({ kind: 'result', session: 0, result }))];
      writeFileAtomic(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      o.log(`note: ${file}: a journal without a header (an earlier attnbench); resumed as this run's, its grid and settings unchecked`);
    } else fs.rmSync(file);
  }
  return openJournal({ path: file, identity, entry: LayerJournalEntry, resume: o.resume, overwrite: o.overwrite, log: o.log, isWork: (e) => e.kind === 'result' });
}

/** The journal of a decode comparison writing `out` (journal.ts: another run's refused on resume, finished work never discarded without overwrite). */
export function openDecodeJournal(out: string, config: DecodeConfig, o: JournalOptions): Journal<DecodeJournalEntry> {
  const file = journalPath(out);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return openJournal({ path: file, identity: decodeIdentity(config), entry: DecodeJournalEntry, resume: o.resume, overwrite: o.overwrite, log: o.log, isWork: (e) => e.kind === 'result' });
}

/**
 * A run that writes `out` (when given) through its journal, in the one order that loses
 * nothing: open the journal (another run's, or finished work about to be discarded, is
 * refused here, before any work), run, write the result file, and only then remove the
 * journal; it is closed on every path, and kept when anything fails.
 */
async function journaledRun<E extends Entry, F>(
  out: string | undefined,
  open: (out: string) => Journal<E>,
  write: (out: string, file: F) => void,
  run: (journal: Journal<E> | undefined) => Promise<F>,
): Promise<F> {
  const journal = out === undefined ? undefined : open(out);
  try {
    const file = await run(journal);
    if (out !== undefined) {
      write(out, file);
      fs.rmSync(journal!.path, { force: true });
    }
    return file;
  } finally {
    journal?.close();
  }
}

/** A layer sweep through its journal (journaledRun). */
export const journaledLayerRun = (
  out: string | undefined,
  config: LayersConfig,
  o: JournalOptions,
  run: (journal: Journal<LayerJournalEntry> | undefined) => Promise<LayerResultFile>,
): Promise<LayerResultFile> => journaledRun(out, (f) => openLayerJournal(f, config, o), writeLayerFile, run);

/** A decode comparison through its journal (journaledRun). */
export const journaledDecodeRun = (
  out: string | undefined,
  config: DecodeConfig,
  o: JournalOptions,
  run: (journal: Journal<DecodeJournalEntry> | undefined) => Promise<DecodeResultFile>,
): Promise<DecodeResultFile> => journaledRun(out, (f) => openDecodeJournal(f, config, o), writeDecodeFile, run);

/** The results of a journal's entries, in the order they were appended. */
export const journalResults = <R>(entries: readonly RunJournalEntry<R>[]): R[] => entries.flatMap((e) => (e.kind === 'result' ? [e.result] : []));

/** Does `text` start with a journal header (the format of journal.ts)? */
const hasHeader = (text: string) => /^\{\s*"kind"\s*:\s*"header"/.test(text);

/** The `run` its header's identity names ('layers', 'decode'), or undefined when the header cannot be read. */
function journalRun(text: string): unknown {
  try {
    const end = text.indexOf('\n');
    return (JSON.parse(end < 0 ? text : text.slice(0, end)) as { identity?: { run?: unknown } }).identity?.run;
  } catch {
    return undefined;
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
    if (journalRun(text) === 'decode') throw new UsageError(`${file}: is the journal of a decode comparison, not of a layer sweep; finish it with 'attnbench decode --resume', then draw its result file`);
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
    out.push(validate(LayerResult, layerResultNames(entry), `${file}: line ${i + 1}`));
  });
  return out;
}

/** The configurations a journal holds, for `--resume` (none when there is no journal). */
export const readJournal = (file: string): LayerResult[] => (fs.existsSync(file) ? parseJournal(file, readText(file), 'drop') : []);
