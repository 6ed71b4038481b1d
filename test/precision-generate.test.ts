/**
 * `generate` at every weight × cache dtype on the CPU, tiny: each type at each precision
 * generates, is checked against the float64 reference of the same quantized computation,
 * and carries its cost against float32 — the logits' error and its greedy tokens' agreement
 * with the float32 run of the same type — with speedups over multi-head at the same dtypes.
 * The int cache's bytes follow from its dtype.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runGenerate } from '../src/generate/run.ts';
import { toleranceFor } from '../src/device/verify.ts';
import { TEST_LIMIT_MS } from './helpers.ts';

test('generate: every type at float32/int8/int4 weights × float32/int8/int4 caches generates, checked, with its logits error and token agreement against float32', { timeout: TEST_LIMIT_MS }, async () => {
  const file = await runGenerate(
    {
      attention: ['multi-head', 'multi-query-1', 'fused-gqa:2'],
      layers: 2,
      hidden: 64,
      heads: 4,
      vocab: 300,
      positions: 64,
      batch: 2,
      promptLength: 6,
      maxNewTokens: 6,
      repeats: 1,
      threads: 1,
      weightDtype: ['float32', 'int8', 'int4'],
      kvDtype: ['float32', 'int8', 'int4'],
      profileStep: false,
    },
    { quickCeilings: true, progress: false, log: () => {} },
  );
  assert.equal(file.results.length, 27);
  const key = (r: (typeof file.results)[number]) => `${r.attention} ${r.weightDtype} ${r.kvDtype}`;
  assert.equal(new Set(file.results.map(key)).size, 27, 'each type at each precision once');
  for (const r of file.results) {
    const k = key(r);
    assert.equal(r.sequences.length, 2, k);
    assert.ok(r.sequences.every((s) => s.length === 12), `${k}: 6 prompt and 6 new tokens a row`);
    if (r.weightDtype === 'float32' && r.kvDtype === 'float32') {
      assert.equal(r.quality, undefined, `${k}: float32 costs nothing against itself`);
      continue;
    }
    assert.ok(r.verify?.ok, `${k}: ${r.verify?.maxRelError}`);
    assert.equal(r.verify!.tolerance, toleranceFor(r.weightDtype, r.kvDtype), k);
    assert.equal(r.verify!.against, 'float64 reference', k);
    const q = r.quality!;
    assert.ok(q.maxRelError > r.verify!.maxRelError, `${k}: the precision costs more than the check's error`);
    // the tokens against the float32 run of the same type: a share, and the first place they part where they do
    assert.ok(q.agreement !== undefined && q.agreement >= 0 && q.agreement <= 1, k);
    assert.equal(q.firstDifference === null, q.agreement === 1, `${k}: ${q.agreement} agree, first difference ${q.firstDifference}`);
    // the cache's bytes at the end follow from its dtype (per position: codes and a scale per head, or the fused kernel's codes)
    const D = 64 / 4;
    const head = r.kvDtype === 'float32' ? 4 * D : (D * (r.kvDtype === 'int8' ? 8 : 4)) / 8 + (r.attention.startsWith('fused') ? 0 : 4);
    assert.equal(r.kvCacheBytes.predicted, 2 * 2 * 2 * r.kvHeads * r.kvCacheBytes.context * head, k);
    // the speedup's baseline: multi-head at the same dtypes
    if (r.attention !== 'multi-head' && r.speedup) assert.equal(r.speedup.baseline, 'multi-head', k);
  }
  const mqa = file.results.find((r) => r.attention === 'multi-query-1' && r.weightDtype === 'int4' && r.kvDtype === 'int8')!;
  assert.ok(mqa.speedup !== null, 'a speedup over multi-head at int4 weights and an int8 cache');
});
