/** `attnbench compare A B`: ratios, spread, the noise band, --fail-above, bad pairs. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { compareRuns, formatComparison, regressions } from '../src/report/compare.ts';
import { loadRun } from '../src/report/load.ts';
import type { LayerRun } from '../src/results/io.ts';
import type { LayerResult } from '../src/results/schema.ts';
import { cli, ROOT, tmpDir } from './helpers.ts';

const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');
const GENERATE = path.join(ROOT, 'test/fixtures/generate.json');
const base = loadRun(LAYERS) as LayerRun;

/** A copy of the fixture run with every time scaled by `factor` (spread scaled with it). */
function scaled(factor: number, only?: (r: LayerResult) => boolean): LayerRun {
  const scale = (r: LayerResult): LayerResult => {
    if (only && !only(r)) return r;
    const t = r.totalMs;
    return { ...r, totalMs: { ...t, median: t.median * factor, min: t.min * factor, max: t.max * factor, p90: t.p90 * factor, stddev: t.stddev * factor, samples: t.samples.map((x) => x * factor) } };
  };
  return { ...base, file: `x${factor}.json`, results: base.results.map(scale) };
}

/** The fixture with no spread at all, so the noise band is zero and every change counts. */
const exact = (run: LayerRun): LayerRun => ({ ...run, results: run.results.map((r) => ({ ...r, totalMs: { ...r.totalMs, stddev: 0 } })) });

test('a run against itself: every ratio 1, nothing flagged', () => {
  const c = compareRuns(base, base);
  assert.equal(c.rows.length, base.results.length);
  for (const r of c.rows) {
    assert.equal(r.ratio, 1);
    assert.equal(r.verdict, 'same');
  }
  assert.equal(regressions(c, 0).length, 0);
});

test('slower and faster beyond the noise are flagged; within it they are not', () => {
  const isMha = (r: LayerResult) => r.variant === 'multi-head';
  const c = compareRuns(exact(base), exact(scaled(1.5, isMha)));
  for (const r of c.rows) {
    const mha = r.config.startsWith('multi-head ');
    assert.equal(r.verdict, mha ? 'slower' : 'same', r.config);
    if (mha) assert.ok(Math.abs(r.ratio - 1.5) < 1e-12);
  }
  assert.equal(regressions(c, 10).length, base.results.filter(isMha).length);
  assert.equal(regressions(c, 60).length, 0, 'a 50 % slowdown is not above 60 %');
  const faster = compareRuns(exact(base), exact(scaled(0.5)));
  assert.ok(faster.rows.every((r) => r.verdict === 'faster'));

  // the fixture's own spread: a 1 % change is within the noise of 3 repetitions
  const small = compareRuns(base, scaled(1.01));
  assert.ok(small.rows.every((r) => r.noise > 0.01 && r.verdict === 'same'));
});

test('the table shows both medians, both spreads, the ratio and a summary line', () => {
  const text = formatComparison(compareRuns(exact(base), exact(scaled(2))), 'md');
  assert.match(text, /\| configuration \| metric \| A median \| A spread \| B median \| B spread \| B\/A \| noise \| change \|/);
  assert.match(text, /\| multi-head batch 2 seq 32 \| ms per call \| [\d.]+ \| ±0\.0% \(n 5\) \| [\d.]+ \| ±0\.0% \(n 5\) \| 2\.000 \| ±0\.0% \| slower \|/);
  assert.match(text, new RegExp(`${base.results.length} compared: ${base.results.length} slower and 0 faster beyond the noise, 0 within it; geometric mean B/A 2\\.000\\n$`));
  const json = JSON.parse(formatComparison(compareRuns(base, base), 'json')) as { rows: unknown[] };
  assert.equal(json.rows.length, base.results.length);
});

test('generation results compare per attention type: decode step, prefill, whole generation', () => {
  const gen = loadRun(GENERATE);
  const c = compareRuns(gen, gen);
  assert.deepEqual([...new Set(c.rows.map((r) => r.metric))], ['decode ms/step', 'prefill ms', 'generation s']);
  assert.equal(c.rows.length, 3 * gen.results.length);
});

test('pairs that cannot be compared are refused', () => {
  assert.throws(() => compareRuns(base, loadRun(GENERATE)), (e: Error) => e instanceof UsageError && /generate\.json: is a generate result but .*layers\.json is a layers result/.test(e.message));
  const other: LayerRun = { ...base, file: 'other.json', results: base.results.map((r) => ({ ...r, heads: 8 })) };
  assert.throws(() => compareRuns(base, other), /other\.json: no configuration in common with/);
  const partial = compareRuns(base, { ...base, file: 'partial.json', results: base.results.slice(0, 3) });
  assert.equal(partial.rows.length, 3);
  assert.equal(partial.onlyA.length, base.results.length - 3);
});

test('the command: exit 0, exit 1 with --fail-above on a slowdown, exit 2 on bad input', () => {
  const dir = tmpDir();
  const slow = path.join(dir, 'slow.json');
  const file = JSON.parse(fs.readFileSync(LAYERS, 'utf8')) as { results: LayerResult[] };
  fs.writeFileSync(slow, JSON.stringify({ ...file, results: exact(scaled(3)).results }));
  const ok = cli(['compare', LAYERS, LAYERS, '--fail-above', '5']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /geometric mean B\/A 1\.000/);
  const worse = cli(['compare', LAYERS, slow, '--fail-above', '5']);
  assert.equal(worse.status, 1, worse.stderr);
  assert.match(worse.stderr, /^attnbench: \d+ configuration\(s\) slower by more than 5% beyond the noise: multi-head batch 2 seq 32 ms per call ×3\.000/);
  const bad = cli(['compare', LAYERS, path.join(dir, 'missing.json')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^attnbench: error: .*missing\.json: cannot read \(ENOENT\)\n$/);
  const badPct = cli(['compare', LAYERS, LAYERS, '--fail-above', 'lots']);
  assert.equal(badPct.status, 2);
});
