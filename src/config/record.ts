/**
 * A configuration schema as a result file records it. The configuration's defaults fill in
 * what a caller left out when a run starts; a recorded configuration must already hold every
 * value, and a reader must never fill one in from its own machine (the default thread count
 * is the reader's cores). So the record is the same schema with each default made required.
 */
import { z } from 'zod';

/**
 * Fields added after files were written without them, whose default is what every older file
 * measured (not a reader's machine): a record without them reads as that default. The
 * precision axes: every result before them was float32 weights and a float32 cache.
 */
export const SINCE: Readonly<Record<string, true>> = { weightDtype: true, kvDtype: true };

type Recorded<T extends z.ZodRawShape> = { [K in keyof T]: T[K] extends z.ZodDefault<infer I extends z.ZodType> ? I : T[K] };

export function recordOf<T extends z.ZodRawShape>(schema: z.ZodObject<T>): z.ZodObject<Recorded<T>> {
  const shape = Object.fromEntries(Object.entries(schema.shape).map(([k, s]) => [k, s instanceof z.ZodDefault && !(k in SINCE) ? s.unwrap() : s]));
  return z.object(shape) as unknown as z.ZodObject<Recorded<T>>;
}
