import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { kvHeads, parseVariant } from '../src/attention/spec.ts';
import { parseIntList, parseNameList } from '../src/config/lists.ts';
import { LayersConfig } from '../src/config/layers.ts';
import { MAX_LIST, parseConfig } from '../src/config/parse.ts';
import { readText } from '../src/core/files.ts';
import { tmpDir } from './helpers.ts';
import { UsageError } from '../src/core/errors.ts';

test('lists and ranges', () => {
  assert.deepEqual(parseIntList('--batch', '8,16'), [8, 16]);
  assert.deepEqual(parseIntList('--seq', '64-1984+128').length, 16);
  assert.deepEqual(parseIntList('--seq', '64-1984+128').at(-1), 1984);
  assert.deepEqual(parseIntList('--seq', '64-512*2'), [64, 128, 256, 512]);
  assert.deepEqual(parseIntList('--seq', '1-3,2,10'), [1, 2, 3, 10]);
  assert.deepEqual(parseIntList('--seq', '5-5'), [5]);
  assert.deepEqual(parseNameList('--variants', 'multi-head, grouped-query:4'), ['multi-head', 'grouped-query:4']);
});

test('bad lists name the flag and the reason', () => {
  const bad: [string, RegExp][] = [
    ['0', /--seq: 0 must be at least 1/],
    ['-3', /--seq: '-3' is not a positive integer/],
    ['abc', /not a positive integer/],
    ['8,,16', /empty item/],
    ['512-64', /range '512-64' is empty/],
    ['64-128*1', /factor of at least 2/],
    ['64-128+0', /at least 1/],
    ['1.5', /not a positive integer/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseIntList('--seq', text), (e: Error) => e instanceof UsageError && re.test(e.message), text);
});

test('sizes are checked before anything is built: a range is counted, not expanded; the grid is capped', () => {
  assert.throws(() => parseIntList('--seq', '1-1000000000'), /--seq: '1-1000000000' holds 1000000000 values; a list takes at most 10000/);
  assert.throws(() => parseIntList('--seq', `1-${MAX_LIST},20000`), /holds 10001 values/);
  assert.equal(parseIntList('--seq', '1-4294967296*2').length, 33);
  assert.equal(parseIntList('--seq', `1-${MAX_LIST}`).length, MAX_LIST);
  assert.throws(
    () => parseConfig(LayersConfig, { batch: parseIntList('--batch', '1-1000'), seq: parseIntList('--seq', '1-1000') }),
    /--seq: the grid holds 4000000 configurations \(variants × batch × seq × weight dtypes\); one sweep takes at most 100000/,
  );
  // a file far larger than any result file is refused before it is read (a sparse file: no disk used)
  const huge = path.join(tmpDir(), 'huge.json');
  fs.writeFileSync(huge, '');
  fs.truncateSync(huge, 600 * 2 ** 20);
  assert.throws(() => readText(huge), /huge\.json: 600 MiB is too large to be a result file \(at most 512 MiB are read\)/);
  fs.rmSync(huge);
});

test('variant names, aliases and group counts', () => {
  assert.deepEqual(parseVariant('MultiQuery1'), { kind: 'multi-query-1' });
  assert.deepEqual(parseVariant('MULTI_QUERY'), { kind: 'multi-query' });
  assert.deepEqual(parseVariant('MultiHead'), { kind: 'multi-head' });
  assert.deepEqual(parseVariant('grouped-query:4'), { kind: 'grouped-query', groups: 4 });
  assert.equal(kvHeads(parseVariant('grouped-query:4'), 16), 4);
  assert.equal(kvHeads(parseVariant('multi-head'), 16), 16);
  assert.throws(() => parseVariant('multi-headz'), /unknown variant 'multi-headz'/);
  assert.throws(() => parseVariant('grouped-query'), /needs a K\/V head count/);
  assert.throws(() => parseVariant('grouped-query:0'), /positive integer/);
  assert.throws(() => parseVariant('multi-head:2'), /takes no group count/);
  assert.throws(() => kvHeads(parseVariant('grouped-query:3'), 16), /3 K\/V heads do not divide 16 heads/);
  assert.throws(() => kvHeads(parseVariant('fused-gqa:32'), 16), /do not divide/);
  assert.throws(() => kvHeads(parseVariant('fused-gqa:4'), 16, 12), /multiple of 8, got 12/);
  assert.equal(kvHeads(parseVariant('fused-gqa:4'), 16, 64), 4);
});
