/** The result schemas as JSON Schema documents, for tools outside TypeScript. */
import { z } from 'zod';
import { DECODE_SCHEMA, DecodeResultFile, GENERATE_SCHEMA, GenerateResultFile, LAYERS_SCHEMA, LayerResultFile } from './schema.ts';

export function jsonSchemas(): Record<string, unknown> {
  const doc = (id: string, s: z.ZodType) => ({ $id: id, ...z.toJSONSchema(s, { io: 'input' }) });
  return {
    layers: doc(LAYERS_SCHEMA, LayerResultFile),
    generate: doc(GENERATE_SCHEMA, GenerateResultFile),
    decode: doc(DECODE_SCHEMA, DecodeResultFile),
  };
}
