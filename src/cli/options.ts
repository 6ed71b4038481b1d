/**
 * Command-line options derived from a configuration schema: one flag per field, named
 * after it in kebab-case (`headDim` ↔ `--head-dim`, `kvCache` ↔ `--no-kv-cache`), its
 * help the field's description, its default the field's default, its parser chosen by
 * the field's type. So the flags, their help and their defaults cannot drift from the API.
 */
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { configFields, fieldParser, fieldPlaceholder } from '../config/fields.ts';
import { parseConfig } from '../config/parse.ts';

/** What the schema cannot say about a flag: a value placeholder or parser of its own, a different default, more help. */
export interface FlagHint {
  /** The value part of the flag, e.g. `<n|auto>` or `[when]`. */
  value?: string;
  parse?: (text: string, previous: unknown) => unknown;
  default?: unknown;
  /** Appended to the field's description. */
  more?: string;
}

/** Add one option per field of `schema` to `cmd`. */
export function addConfigOptions(cmd: Command, schema: z.ZodObject, hints: Record<string, FlagHint> = {}): Command {
  for (const f of configFields(schema)) {
    const hint = hints[f.key] ?? {};
    const help = [f.description, hint.more].filter(Boolean).join(' ');
    const defaultValue = 'default' in hint ? hint.default : f.defaultValue;
    if (f.json.type === 'boolean' && !hint.parse) {
      // a flag that is on by default is turned off by its --no- form
      cmd.addOption(defaultValue === true ? new Option(`--no-${f.flag.slice(2)}`, help) : new Option(f.flag, help).default(false));
      continue;
    }
    const option = new Option(`${f.flag} ${hint.value ?? fieldPlaceholder(f)}`, help);
    if (f.json.enum) option.choices(f.json.enum);
    const parse = hint.parse ?? fieldParser(f);
    if (parse) option.argParser(parse);
    if (defaultValue !== undefined) option.default(defaultValue);
    cmd.addOption(option);
  }
  return cmd;
}

/** The schema's fields from commander's parsed flags, checked (defaults filled in for what is missing). */
export function configFromFlags<T extends z.ZodObject>(schema: T, flags: object): z.output<T> {
  const f = flags as Record<string, unknown>;
  const given = Object.fromEntries(Object.keys(schema.shape).filter((k) => f[k] !== undefined).map((k) => [k, f[k]]));
  return parseConfig(schema, given);
}
