/**
 * Reading and writing result files: validated against the schema, written atomically
 * (temporary file in the same folder, then rename), and a JSON Lines journal that a sweep
 * appends to as each configuration finishes, so an interrupted sweep keeps its work.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LayerResult, LayerResultFile, type LayerResultFile as LayerFile } from './schema.ts';
import { UsageError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';

export function writeLayerFile(file: string, result: LayerFile): void {
  const checked = LayerResultFile.parse(result);
  writeFileAtomic(file, JSON.stringify(checked, null, 2) + '\n');
}

/** Parse and validate a layer result file; errors name the file and the reason. */
export function readLayerFile(file: string): LayerFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not JSON`);
  }
  const schema = (json as { schema?: unknown })?.schema;
  if (schema !== LayerResultFile.shape.schema.value) {
    throw new UsageError(`${file}: schema is ${JSON.stringify(schema)}, expected "${LayerResultFile.shape.schema.value}"`);
  }
  const parsed = LayerResultFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${file}: invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** The journal beside an output file: `results.json` → `results.json.journal.jsonl`. */
export const journalPath = (out: string) => `${out}.journal.jsonl`;

export function appendJournal(file: string, entry: LayerResult): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.appendFileSync(file, JSON.stringify(LayerResult.parse(entry)) + '\n');
}

/**
 * Read the finished configurations back. A torn last line (the process died mid-write)
 * is dropped; any other bad line is an error naming the line.
 */
export function readJournal(file: string): LayerResult[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: LayerResult[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const last = i >= lines.length - 2;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      if (last) return;
      throw new UsageError(`${file}: line ${i + 1} is not JSON`);
    }
    const r = LayerResult.safeParse(json);
    if (!r.success) throw new UsageError(`${file}: line ${i + 1} is not a layer result`);
    out.push(r.data);
  });
  return out;
}
