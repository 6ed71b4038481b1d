/** Checking a configuration a caller gave (from the API or the command line) against its schema. */
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { unknownKeyMessage } from '../core/unknown-keys.ts';

/** A field's command-line flag: `promptLength` ↔ `--prompt-length`. */
export const flagOf = (field: string): string => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * A configuration's schema: an object that refuses a key it does not know, naming it and the
 * nearest field ("unknown option 'profiledRuns' (did you mean 'profileRuns'?)"). zod's plain
 * objects drop unknown keys, so a misspelled field would run with its default unnoticed.
 */
export function configObject<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKeyMessage(String(issue.keys[0]), known) : undefined),
  });
}

/** `input` with the schema's defaults filled in; a bad field is a UsageError naming its flag, an unknown key one naming it and the nearest field. */
export function parseConfig<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new UsageError(issue.message);
  const field = issue.path[0];
  throw new UsageError(`${typeof field === 'string' ? flagOf(field) : 'configuration'}: ${issue.message}`);
}

/**
 * A random seed: an integer from 0 to 2³² − 1. The generators take 32 bits, so a larger seed
 * would be cut silently and two different seeds would give the same numbers: it is refused.
 */
export const SEED_MAX = 2 ** 32 - 1;
const seedTooBig = `must be at most ${SEED_MAX} (seeds are 32-bit; a larger one would be cut silently)`;
export const seedSchema = () =>
  z
    .number()
    .int({ error: (issue) => (issue.code === 'too_big' ? seedTooBig : undefined) })
    .nonnegative()
    .max(SEED_MAX, { message: seedTooBig });

/** The most values a list field takes (a --batch or --seq range is counted before it is built). */
export const MAX_LIST = 10_000;
