/**
 * A configuration schema's fields as a user sets them: one per field, its flag name in
 * kebab-case (`headDim` ↔ `--head-dim`, `kvCache` ↔ `--no-kv-cache`), its help the field's
 * description, its default the field's default, its parser chosen by the field's type. The
 * command line (src/cli/options.ts) and the browser page's forms (src/page/form.ts) are both
 * built from these, so their names, defaults and checks cannot drift from the API's.
 */
import { z } from 'zod';
import { flagOf } from './parse.ts';
import { parseCount, parseIntList, parseNameList, parseNumber, parsePositive } from './lists.ts';

export interface ConfigField {
  key: string;
  flag: string;
  description: string;
  defaultValue?: unknown;
  json: { type?: string; enum?: string[]; exclusiveMinimum?: number; minimum?: number; items?: { type?: string } };
}

export function configFields(schema: z.ZodObject): ConfigField[] {
  return Object.entries(schema.shape).map(([key, s]) => {
    let inner = s as z.ZodType;
    let defaultValue: unknown;
    if (inner instanceof z.ZodDefault) {
      defaultValue = inner.def.defaultValue;
      inner = inner.unwrap() as z.ZodType;
    }
    if (inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
    const json = z.toJSONSchema(inner, { unrepresentable: 'any' }) as ConfigField['json'];
    return { key, flag: flagOf(key), description: inner.description ?? '', defaultValue, json };
  });
}

/** The parser a field's type implies (integers ≥ 1, integers ≥ 0, numbers, lists, text). */
export function fieldParser(f: ConfigField): ((text: string) => unknown) | undefined {
  const j = f.json;
  if (j.type === 'integer') return j.exclusiveMinimum === 0 || (j.minimum ?? 0) >= 1 ? parsePositive(f.flag) : parseCount(f.flag);
  if (j.type === 'number') return parseNumber(f.flag);
  if (j.type === 'array') return j.items?.type === 'integer' ? (t) => parseIntList(f.flag, t) : (t) => parseNameList(f.flag, t);
  return undefined;
}

/** The value part of a flag's usage, from its type. */
export function fieldPlaceholder(f: ConfigField): string {
  const t = f.json.type;
  return t === 'array' ? '<list>' : t === 'integer' ? '<n>' : t === 'number' ? '<x>' : f.json.enum ? '<name>' : '<value>';
}
