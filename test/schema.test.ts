import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { jsonSchemas } from '../src/results/json-schema.ts';
import { ROOT } from './helpers.ts';

test('schemas/*.schema.json are current (regenerate with npm run schemas)', () => {
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    const file = path.join(ROOT, 'schemas', `${name}.schema.json`);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), schema, `${file} is stale`);
  }
  const layers = jsonSchemas().layers as { required: string[]; properties: Record<string, unknown> };
  assert.deepEqual(layers.required.sort(), ['environment', 'results', 'schema']);
  assert.ok('failures' in layers.properties);
});
