import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvHeads, parseVariant } from '../src/attention/spec.ts';
import { parseIntList, parseNameList } from '../src/config/lists.ts';
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
