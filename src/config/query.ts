/**
 * A configuration as URL query parameters: the keys are its flags without the dashes
 * (`head-dim`, `budget-ms`), the values as on the command line (`8,16`, `64-1984+128`,
 * `auto`), so a browser page's URL holds a whole run and reproduces it, and the page parses
 * it with the command line's own parsers and schema.
 */
import type { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { unknownKeyMessage } from '../core/unknown-keys.ts';
import { configFields, fieldParser } from './fields.ts';
import { parsePositiveOrAuto } from './lists.ts';
import { parseConfig } from './parse.ts';

/** Query keys that are no configuration field (what the page does with it, how it probes). */
export const CONTROL_KEYS = ['run', 'probes'] as const;

const keyOf = (flag: string) => flag.slice(2);

/** Parsers of fields whose type the schema cannot turn into one (a count or `auto`). */
const SPECIAL: Record<string, (flag: string) => (text: string) => unknown> = { repeats: parsePositiveOrAuto };

/** `config`'s fields as query parameters (the fields left undefined are left out). */
export function configQuery<T extends z.ZodObject>(schema: T, config: Partial<z.output<T>>): URLSearchParams {
  const q = new URLSearchParams();
  for (const f of configFields(schema)) {
    const v = (config as Record<string, unknown>)[f.key];
    if (v === undefined) continue;
    q.set(keyOf(f.flag), Array.isArray(v) ? v.join(',') : String(v));
  }
  return q;
}

/** The configuration in `params` (absent or empty keys take their defaults); an unknown key or a bad value is a UsageError naming it. */
export function parseQuery<T extends z.ZodObject>(schema: T, params: URLSearchParams): z.output<T> {
  const fields = configFields(schema);
  const known = new Set([...fields.map((f) => keyOf(f.flag)), ...CONTROL_KEYS]);
  const unknown = [...params.keys()].find((k) => !known.has(k));
  if (unknown !== undefined) throw new UsageError(unknownKeyMessage(unknown, fields.map((f) => keyOf(f.flag)), 'setting'));
  const given: Record<string, unknown> = {};
  for (const f of fields) {
    const text = params.get(keyOf(f.flag));
    if (text === null || text.trim() === '') continue;
    const parse = SPECIAL[f.key]?.(f.flag) ?? fieldParser(f);
    if (parse) given[f.key] = parse(text);
    else if (f.json.type === 'boolean') given[f.key] = booleanOf(f.flag, text);
    else if (f.json.enum && !f.json.enum.includes(text.trim())) throw new UsageError(`${f.flag}: '${text}' is not one of ${f.json.enum.join(', ')}`);
    else given[f.key] = text.trim();
  }
  return parseConfig(schema, given);
}

function booleanOf(flag: string, text: string): boolean {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new UsageError(`${flag}: '${text}' is not true or false`);
}
