/**
 * Writes test/fixtures/layers.json and generate.json: small real runs (tiny shapes, full
 * ceiling probes) in the current schemas, with the date and commit fixed so the report tests
 * can name them. Run again when a schema changes:
 *   MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 node --import tsx scripts/make-fixtures.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { runGenerate, runLayers } from '../src/index.ts';

const dir = path.join(import.meta.dirname, '..', 'test', 'fixtures');
const fix = <T extends { environment: { date: string; gitCommit: string | null } }>(f: T): T => ({ ...f, environment: { ...f.environment, date: '2026-01-01T00:00:00.000Z', gitCommit: null } });

const layers = await runLayers(
  { variants: ['multi-head', 'multi-query-1', 'grouped-query:4'], batch: [2, 4], seq: [32, 128], heads: 4, headDim: 16, repeats: 5, threads: 2, verify: true },
  { progress: false },
);
fs.writeFileSync(path.join(dir, 'layers.json'), JSON.stringify(fix(layers)) + '\n');

const generate = await runGenerate(
  { attention: ['multi-head', 'multi-query', 'grouped-query:2'], layers: 2, hidden: 64, heads: 4, positions: 64, vocab: 301, batch: 2, promptLength: 8, maxNewTokens: 16, repeats: 3, threads: 2 },
  { progress: false, ceilings: layers.environment.ceilings! },
);
fs.writeFileSync(path.join(dir, 'generate.json'), JSON.stringify(fix(generate)) + '\n');
process.stderr.write(`wrote ${dir}/layers.json and generate.json\n`);
