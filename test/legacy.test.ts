/** The seed's format: import, export, round trips (same bytes, same numbers), the commands, bad input. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { fromLegacy, pyFloat, toLegacy } from '../src/results/seed-format.ts';
import { readLayerFile } from '../src/results/io.ts';
import { LayerResultFile } from '../src/results/schema.ts';
import { cli, ROOT, tmpDir } from './helpers.ts';

/** Twelve configurations cut from the seed's file (json.dumps of a subset: the seed's own bytes). */
const EXCERPT = path.join(ROOT, 'test/fixtures/seed-excerpt.json');
const FULL_SEED = path.join(ROOT, '../shared/seed/profile_attention_types.json');
const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');

type SeedTable = [string, ...[string, number, number, number][]];
type SeedFile = Record<string, [number, [number, SeedTable][]][]>;

function roundTrip(file: string) {
  const text = fs.readFileSync(file, 'utf8');
  const imported = LayerResultFile.parse(fromLegacy(JSON.parse(text), file));
  const exported = toLegacy(imported.results);
  assert.equal(exported, text, 'export gives back the seed file byte for byte');
  const again = fromLegacy(JSON.parse(exported), file);
  assert.deepEqual(again.results, imported.results, 'and importing it again gives the same numbers');
  return imported;
}

test('import → export → import of the seed excerpt: same bytes, same numbers', () => {
  const imported = roundTrip(EXCERPT);
  assert.equal(imported.results.length, 12);
});

test('the full seed file round-trips too', (t) => {
  if (!fs.existsSync(FULL_SEED)) return t.skip(`${FULL_SEED} is not in this checkout`);
  const imported = roundTrip(FULL_SEED);
  assert.equal(imported.results.length, 3 * 2 * 16);
});

test('the mapping: classes, stages, totals, host share, marked as imported', () => {
  const seed = JSON.parse(fs.readFileSync(EXCERPT, 'utf8')) as SeedFile;
  const file = fromLegacy(seed, EXCERPT);
  assert.equal(file.environment.importedFrom, EXCERPT);
  assert.equal(file.environment.ceilings, null);
  assert.equal(file.environment.device.kind, 'unknown');
  assert.match(file.environment.device.description, /^unknown: a CUDA GPU .*V100/);
  assert.deepEqual([...new Set(file.results.map((r) => r.attention))], ['multi-head', 'multi-query', 'multi-query-1']);
  const [batch, seqs] = seed.MultiQuery![1]!;
  const [seq, table] = seqs[0]!;
  const rows = table.slice(1) as [string, number, number, number][];
  const total = rows.find((r) => r[0] === 'TOTAL')!;
  const r = file.results.find((x) => x.attention === 'multi-query' && x.batch === batch && x.seq === seq)!;
  assert.deepEqual([r.heads, r.kvHeads, r.headDim, r.mode], [16, 1, 64, 'seed']);
  assert.equal(r.ms.median, total[3] / 1000, 'total = TOTAL all us, in ms');
  assert.deepEqual(r.ms.samples, [r.ms.median]);
  assert.equal(r.ms.n, 1);
  assert.equal(r.seedCpuShare, total[1] / total[3], "the seed's cpu part = the notebook's cpu ratio");
  assert.equal(r.outsideKernelsShare, null, 'which is not our share outside the kernels');
  assert.deepEqual(r.stages.map((s) => s.name), ['qkv', 'split', 'weights', 'output']);
  const qkv = rows[0]!;
  assert.equal(qkv[0], 'GET_QKV');
  assert.deepEqual([r.stages[0]!.hostMs, r.stages[0]!.kernelMs, r.stages[0]!.wallMs], [qkv[1] / 1000, qkv[2] / 1000, qkv[3] / 1000]);
  assert.equal(r.profileRuns, 500, "the seed's repeat rule at sequence length 64");
  assert.ok(r.gflops > 0 && r.computeFraction === null && r.taskFloorMs === null && r.implementationFloorMs === null);
  const mha = file.results.find((x) => x.attention === 'multi-head' && x.batch === batch && x.seq === seq)!;
  assert.equal(r.speedup!.ratio, mha.ms.median / r.ms.median, "the seed's speedup, a point estimate");
  assert.deepEqual([r.speedup!.low, r.speedup!.high, r.speedup!.n], [r.speedup!.ratio, r.speedup!.ratio, 1], 'no interval from one number');
});

test('our results in the seed format: TOTAL stays row 5, extra stages after it, numbers come back', () => {
  const ours = readLayerFile(LAYERS);
  const text = toLegacy(ours.results);
  const seed = JSON.parse(text) as SeedFile;
  assert.deepEqual(Object.keys(seed), ['MultiHead', 'MultiQuery1', 'grouped-query:4']);
  const gqa = ours.results.find((r) => r.attention === 'grouped-query:4' && r.batch === 2 && r.seq === 32)!;
  const table = seed['grouped-query:4']![0]![1][0]![1];
  assert.deepEqual(table[0], ['key', 'cpu us', 'cuda us', 'all us']);
  assert.deepEqual(
    table.map((row) => row[0]),
    ['key', 'GET_QKV', 'SPLIT_QKV', 'GET_ATTENTION_WEIGHTS', 'GET_ATTENTION_OUTPUT', 'TOTAL', 'OTHER'],
    "the notebook reads table[5] as TOTAL",
  );
  const total = table[5] as [string, number, number, number];
  const sum = gqa.stages.reduce((a, s) => a + s.wallMs, 0) * 1000;
  assert.ok(Math.abs(total[3] - sum) < 1e-9 * sum, 'TOTAL all = every stage');
  const back = fromLegacy(seed, 'ours', { heads: 4, headDim: 16 });
  const gqaBack = back.results.find((r) => r.attention === 'grouped-query:4' && r.batch === 2 && r.seq === 32)!;
  assert.equal(gqaBack.kvHeads, 4);
  gqa.stages.forEach((s, i) => {
    const b = gqaBack.stages[i]!;
    assert.equal(b.name, s.name);
    for (const k of ['wallMs', 'kernelMs', 'hostMs'] as const) assert.ok(Math.abs(b[k] - s[k]) <= 1e-12 * Math.max(1, s[k]), `${s.name} ${k}`);
  });
});

test('floats print as Python prints them', () => {
  assert.deepEqual([485, 395.09000000000003, 1e-5, 0.0001, 1.5e16, 123456789012345.6, 0].map(pyFloat), [
    '485.0',
    '395.09000000000003',
    '1e-05',
    '0.0001',
    '1.5e+16',
    '123456789012345.6',
    '0.0',
  ]);
});

test('bad seed files name the file and the place', () => {
  const seed = JSON.parse(fs.readFileSync(EXCERPT, 'utf8')) as SeedFile;
  const noTotal = structuredClone(seed);
  noTotal.MultiHead![0]![1][0]![1].pop();
  const cases: [unknown, RegExp][] = [
    [noTotal, /x\.json: MultiHead batch 8 seq 64: no TOTAL row/],
    [{ Whatever: seed.MultiHead }, /x\.json: class 'Whatever': unknown variant/],
    [{ MultiHead: [[8, [[64, [['key', 'cpu'], ['GET_QKV', 1, 2, 3]]]]]] }, /x\.json: MultiHead batch 8 seq 64: first row is not/],
    [{ MultiHead: 'no' }, /x\.json: not the seed's format at MultiHead/],
    [{}, /x\.json: no results/],
  ];
  for (const [json, message] of cases) assert.throws(() => fromLegacy(json, 'x.json'), (e: Error) => e instanceof UsageError && message.test(e.message), String(message));
  assert.throws(() => toLegacy([]), UsageError);
});

test('the commands: layers --legacy-out and import-legacy', () => {
  const dir = tmpDir();
  const legacy = path.join(dir, 'seed-format.json');
  const r = cli(['layers', '--heads', '4', '--head-dim', '8', '--batch', '2', '--seq', '8,16', '--variants', 'multi-head,multi-query-1', '--repeats', '3', '--no-progress', '--legacy-out', legacy]);
  assert.equal(r.status, 0, r.stderr);
  const seed = JSON.parse(fs.readFileSync(legacy, 'utf8')) as SeedFile;
  assert.deepEqual(Object.keys(seed), ['MultiHead', 'MultiQuery1']);
  assert.deepEqual(seed.MultiHead!.map(([b, seqs]) => [b, seqs.map(([s]) => s)]), [[2, [8, 16]]]);

  const out = path.join(dir, 'imported.json');
  const imp = cli(['import-legacy', legacy, '--out', out, '--heads', '4', '--head-dim', '8']);
  assert.equal(imp.status, 0, imp.stderr);
  const file = readLayerFile(out);
  assert.equal(file.results.length, 4);
  assert.equal(file.environment.importedFrom, legacy);

  const bad = cli(['import-legacy', LAYERS, '--out', path.join(dir, 'no.json')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^attnbench: error: .*layers\.json: is already a result file \(schema attnbench\/layers@3\), not the seed's format\n$/);
  assert.ok(!fs.existsSync(path.join(dir, 'no.json')));
  const noProfile = cli(['layers', '--profile-runs', '0', '--legacy-out', path.join(dir, 'x.json')]);
  assert.equal(noProfile.status, 2);
  assert.match(noProfile.stderr, /--legacy-out needs the stage split/);
});
