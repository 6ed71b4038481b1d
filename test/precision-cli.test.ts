/**
 * The precision flags refused through the real launcher, before any work: a dtype the CPU
 * cannot run, quantized weights fed as inputs, a dtype given twice, a dtype that does not
 * exist. Each is one line on stderr, exit code 2, no probe measured, nothing written.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, tmpDir } from './helpers.ts';

const LAYERS = ['layers', '--variants', 'multi-head,multi-query-1', '--batch', '1', '--seq', '16', '--heads', '4', '--head-dim', '16', '--repeats', '2', '--no-progress'];
const DECODE = ['decode', '--layers', '1', '--hidden', '32', '--heads', '4', '--vocab', '100', '--context', '16', '--batch', '1', '--repeats', '2', '--no-progress'];

test('precision flags the CPU cannot run, or that make no sense, are refused in one line with exit 2, before any probe, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    ['layers float16 weights', [...LAYERS, '--weight-dtype', 'float16'], /^attnbench: error: --weight-dtype float16 on cpu: the CPU provider has no float16 products/],
    ['decode float16 weights among others', [...DECODE, '--weight-dtype', 'float32,float16'], /^attnbench: error: --weight-dtype float16 on cpu: the CPU provider/],
    ['decode float16 cache', [...DECODE, '--kv-dtype', 'float16'], /^attnbench: error: --kv-dtype float16 on cpu: the CPU provider has no float16 products/],
    ['layers int4 weights as inputs', [...LAYERS, '--weight-dtype', 'int4', '--weights', 'input'], /^attnbench: error: --weight-dtype int8\/int4 needs --weights constant/],
    ['decode int8 weights as inputs', [...DECODE, '--weight-dtype', 'float32,int8', '--weights', 'input'], /^attnbench: error: --weight-dtype int8\/int4 needs --weights constant/],
    ['decode int8 weights given twice', [...DECODE, '--weight-dtype', 'int8,int8'], /^attnbench: error: --weight-dtype: int8 is given twice$/],
    ['decode int4 cache given twice', [...DECODE, '--kv-dtype', 'int4,float32,int4'], /^attnbench: error: --kv-dtype: int4 is given twice$/],
    ['layers a dtype that does not exist', [...LAYERS, '--weight-dtype', 'int9'], /^attnbench: error: --weight-dtype: .*float32.*int8.*int4/],
    ['decode a dtype that does not exist', [...DECODE, '--kv-dtype', 'int2'], /^attnbench: error: --kv-dtype: .*float32.*int8.*int4/],
  ];
  for (const [what, args, re] of cases) {
    const dir = tmpDir();
    const out = path.join(dir, 'r.json');
    const r = cli([...args, '--out', out]);
    assert.equal(r.status, 2, `${what}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
    assert.match(lines[0]!, re, what);
    if (/float16/.test(what)) assert.match(lines[0]!, /float16.*\bcpu\b.*CPU/, `${what}: names float16 and the CPU`);
    assert.doesNotMatch(r.stderr, /measuring this machine/, `${what}: refused before any probe`);
    assert.equal(r.stdout, '', what);
    assert.ok(!fs.existsSync(out), `${what}: no result file`);
    assert.deepEqual(fs.readdirSync(dir), [], `${what}: no journal, lock or temporary file`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the refusals leave an existing result file as it was, even with --overwrite', () => {
  const dir = tmpDir();
  const out = path.join(dir, 'keep.json');
  fs.writeFileSync(out, 'previous results');
  for (const args of [
    [...LAYERS, '--weight-dtype', 'float16'],
    [...DECODE, '--kv-dtype', 'float16'],
  ]) {
    const r = cli([...args, '--out', out, '--overwrite']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(fs.readFileSync(out, 'utf8'), 'previous results');
  assert.deepEqual(fs.readdirSync(dir), ['keep.json']);
  fs.rmSync(dir, { recursive: true, force: true });
});
