/** `attnbench layers` end to end through the real launcher: output, result file, resume, dump, bad input. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseNpy } from 'npyjs';
import { journalPath, readLayerFile } from '../src/results/io.ts';
import { LayerResultFile } from '../src/results/schema.ts';
import { cli, tmpDir } from './helpers.ts';

const TINY = ['--heads', '4', '--head-dim', '8', '--batch', '2', '--repeats', '3', '--warmup', '1', '--no-progress'];

test('a tiny sweep prints a table and writes a valid, complete result file', () => {
  const dir = tmpDir();
  const out = path.join(dir, 'r.json');
  const r = cli(['layers', ...TINY, '--variants', 'multi-head,MultiQuery1,grouped-query:2', '--seq', '8-32*2', '--verify', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const file = readLayerFile(out);
  assert.equal(file.schema, 'attnbench/layers@3');
  assert.equal(file.results.length, 9);
  assert.deepEqual([...new Set(file.results.map((x) => x.attention))], ['multi-head', 'multi-query-1', 'grouped-query:2']);
  for (const x of file.results) {
    assert.equal(x.ms.n, 3);
    assert.equal(x.ms.samples.length, 3);
    assert.ok(x.ms.min <= x.ms.median && x.ms.median <= x.ms.max);
    assert.deepEqual(x.stages.slice(0, 4).map((s) => s.name), ['qkv', 'split', 'weights', 'output']);
    assert.ok(x.verify && x.verify.ok && x.verify.maxRelError < 1e-5, `verify ${JSON.stringify(x.verify)}`);
    assert.ok(x.flops > 0 && x.gflops > 0 && x.computeFraction! > 0);
    assert.ok(x.implementationBytes! > 0 && x.taskFloorMs! > 0 && x.implementationFloorMs! >= x.taskFloorMs!, 'both floors, the implementation one never under the task one');
    assert.equal(x.speedup === null, x.attention === 'multi-head', 'every variant but multi-head has a speedup');
  }
  assert.ok(file.environment.ceilings!.matmulGflops > 0 && file.environment.ceilings!.readGBps > 0);
  assert.equal(file.environment.malloc.MALLOC_MMAP_MAX_, '0', 'the launcher applies the malloc settings and records them');
  // the markdown table: header + separator + one row per configuration
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2 + 9);
  assert.match(lines[0]!, /\| variant \| batch \| seq \|/);
  assert.match(r.stdout, /\| grouped-query:2 \| 2 \| 32 \| 2 \|/);
  assert.ok(!fs.existsSync(journalPath(out)), 'the journal is removed once the file is written');
});

test('csv and json tables', () => {
  const csv = cli(['layers', ...TINY, '--variants', 'multi-head', '--seq', '8', '--format', 'csv', '--profile-runs', '0']);
  assert.equal(csv.status, 0, csv.stderr);
  const [head, row] = csv.stdout.trim().split('\n');
  assert.match(head!, /^variant,mode,batch,seq,kvHeads,weightDtype,quality,medianMs/);
  assert.match(row!, /^multi-head,seed,2,8,4,/);
  const json = cli(['layers', ...TINY, '--variants', 'multi-query', '--seq', '8', '--format', 'json', '--mode', 'full']);
  assert.equal(json.status, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as { variant: string; mode: string }[];
  assert.deepEqual(rows.map((x) => [x.variant, x.mode]), [['multi-query', 'full']]);
});

test('--resume continues from the journal and keeps what was measured', () => {
  const dir = tmpDir();
  const out = path.join(dir, 'r.json');
  const first = cli(['layers', ...TINY, '--variants', 'multi-head', '--seq', '8', '--out', out]);
  assert.equal(first.status, 0, first.stderr);
  const measured = readLayerFile(out).results[0]!;
  // an interrupted sweep: the journal holds one finished configuration and a torn line
  fs.writeFileSync(journalPath(out), JSON.stringify(measured) + '\n{"variant": "multi-he');
  fs.rmSync(out);
  const r = cli(['layers', ...TINY, '--variants', 'multi-head', '--seq', '8,16', '--out', out, '--resume']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 already in the journal/);
  const file = readLayerFile(out);
  assert.deepEqual(file.results.map((x) => x.seq), [8, 16]);
  assert.deepEqual(file.results[0]!.ms.samples, measured.ms.samples, 'the journaled result is kept, not re-measured');
});

test('--dump writes .npy files that a NumPy reader loads, with a manifest', () => {
  const dir = tmpDir();
  const r = cli(['layers', ...TINY, '--variants', 'multi-query', '--seq', '8', '--dump', dir]);
  assert.equal(r.status, 0, r.stderr);
  const folder = path.join(dir, 'multi-query_seed_b2_s8');
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
  assert.equal(manifest.variant, 'multi-query');
  assert.deepEqual(Object.keys(manifest.tensors).sort(), ['hidden', 'out', 'w_qkv']);
  const load = (name: string) => parseNpy(new Uint8Array(fs.readFileSync(path.join(folder, `${name}.npy`))).buffer);
  const hidden = load('hidden');
  const w = load('w_qkv');
  const out = load('out');
  assert.deepEqual(hidden.shape, [8, 2, 32]); // Megatron order [seq, batch, nm]
  assert.deepEqual(w.shape, [(4 + 2) * 8, 32]);
  assert.deepEqual(out.shape, [2, 4 * 8, 8]);
  // recompute one output element from the dumped tensors: batch 0, head 0, position 0, dim 0
  const H = hidden.data as Float32Array;
  const W = w.data as Float32Array;
  const S = 8, B = 2, NM = 32, D = 8, NH = 4;
  const proj = (row: number, s: number, b: number) => {
    let acc = 0;
    for (let i = 0; i < NM; i++) acc += W[row * NM + i]! * H[(s * B + b) * NM + i]!;
    return acc;
  };
  // q rows are (d, head)-ordered: row d*NH + h; k rows NH*D + d; v rows (NH+1)*D + d
  let expected = 0;
  for (let t = 0; t < S; t++) {
    let score = 0;
    for (let d = 0; d < D; d++) score += proj(d * NH + 0, 0, 0) * proj(NH * D + d, t, 0);
    expected += score * proj((NH + 1) * D + 0, t, 0);
  }
  const got = (out.data as Float32Array)[0]!;
  assert.ok(Math.abs(got - expected) <= 1e-4 * Math.abs(expected) + 1e-3, `${got} vs ${expected}`);
});

test('bad input: one line naming the flag, exit code 2, existing output untouched (even with --overwrite)', () => {
  const dir = tmpDir();
  const out = path.join(dir, 'keep.json');
  fs.writeFileSync(out, 'previous results');
  const cases: [string[], RegExp][] = [
    [['--variants', 'multi-headz'], /unknown variant 'multi-headz'/],
    [['--variants', 'grouped-query:3'], /3 K\/V heads do not divide 16 heads/],
    [['--batch', '0'], /--batch: 0 must be at least 1/],
    [['--seq', '-64'], /--seq/],
    [['--seq', 'abc'], /--seq: 'abc' is not a positive integer/],
    [['--seq', '512-64'], /--seq: range '512-64' is empty/],
    [['--heads', 'x'], /--heads: 'x' is not a positive integer/],
    [['--head-dim', '0'], /--head-dim: 0 must be at least 1/],
    [['--threads', '0'], /--threads: 0 must be at least 1/],
    [['--repeats', 'many'], /--repeats: 'many' is not a positive integer/],
    [['--mode', 'fast'], /--mode.*fast.*invalid/],
    [['--format', 'xml'], /--format.*xml.*invalid/],
    [['--variants', 'fused-gqa:4'], /exists in --mode full only/],
    [['--batch', '64', '--seq', '16384'], /needs about [\d.]+ GiB of memory, only [\d.]+ GiB free/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--profiled-runs', '0'], /unknown option '--profiled-runs' \(Did you mean --profile-runs\?\)/],
  ];
  for (const [args, re] of [...cases.map(([a, re]): [string[], RegExp] => [[...a, '--out', out, '--overwrite'], re]), [['--resume'], /--resume needs --out/] as [string[], RegExp]]) {
    const r = cli(['layers', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: expected one line, got:\n${r.stderr}`);
    assert.match(lines[0]!, re, args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.equal(fs.readFileSync(out, 'utf8'), 'previous results');
  assert.deepEqual(fs.readdirSync(dir), ['keep.json'], 'no temporary or journal file left behind');
});

test('a misspelled flag of any command is refused by name, with the nearest flag, on one line and exit code 2', () => {
  for (const [args, re] of [
    [['decode', '--budgetms', '5'], /unknown option '--budgetms' \(Did you mean --budget-ms\?\)/],
    [['generate', '--top-kk', '5'], /unknown option '--top-kk' \(Did you mean --top-k\?\)/],
    [['--head-dims', '8'], /unknown option '--head-dims' \(Did you mean --head-dim\?\)/],
  ] as [string[], RegExp][]) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

test('result files are checked against the schema on read', () => {
  const dir = tmpDir();
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ schema: 'attnbench/layers@2', environment: {}, results: [] }));
  assert.throws(() => readLayerFile(bad), /bad\.json: invalid at environment\.cpu/);
  fs.writeFileSync(bad, JSON.stringify({ schema: 'attnbench/layers@0' }));
  assert.throws(() => readLayerFile(bad), /schema is "attnbench\/layers@0", expected "attnbench\/layers@3"/);
  fs.writeFileSync(bad, '{"schema": ');
  assert.throws(() => readLayerFile(bad), /bad\.json: not JSON/);
  assert.equal(LayerResultFile.safeParse({}).success, false);
});
