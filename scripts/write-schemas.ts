/** Regenerate schemas/*.schema.json from the zod schemas (`npm run schemas`); a test checks they are current. */
import path from 'node:path';
import { writeFileAtomic } from '../src/core/files.ts';
import { jsonSchemas } from '../src/results/json-schema.ts';

for (const [name, schema] of Object.entries(jsonSchemas())) {
  const file = path.join(import.meta.dirname, '..', 'schemas', `${name}.schema.json`);
  writeFileAtomic(file, JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote ${file}`);
}
