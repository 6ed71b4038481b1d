/**
 * A large input drawn within the report's budget (src/report/thin.ts): evenly spaced batch
 * sizes and sequence lengths, each point a real configuration, every chart and table within
 * its limit and saying what it left out and where the rest is; a small input drawn whole.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { buildCharts } from '../src/report/charts.ts';
import { loadRuns } from '../src/report/load.ts';
import { buildTables } from '../src/report/summary.ts';
import { capRows, evenly, MAX_BARS, MAX_PANELS, MAX_POINTS, MAX_ROWS, thinGrid } from '../src/report/thin.ts';
import type { LayerRun } from '../src/results/io.ts';
import { largeLayerFile } from './large-layers.ts';
import { ROOT } from './helpers.ts';

/** Every data value a chart's spec holds inline (its own and its layers'). */
function dataValues(spec: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const data = o.data as { values?: Record<string, unknown>[] } | undefined;
    if (data?.values) out.push(...data.values);
    for (const [k, x] of Object.entries(o)) if (k !== 'data') walk(x);
  };
  walk(spec);
  return out;
}

const subtitle = (spec: unknown) => (spec as { title: { subtitle: string[] } }).title.subtitle;

test('evenly keeps the first and the last and spaces the rest; capRows says how many rows were left out and where', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  assert.deepEqual(evenly(xs, 5), [0, 250, 500, 749, 999]);
  assert.deepEqual(evenly([1, 2, 3], 5), [1, 2, 3]);
  const picked = evenly(xs, 37);
  assert.equal(new Set(picked).size, 37, 'no value twice');
  assert.deepEqual([picked[0], picked.at(-1)], [0, 999]);
  const capped = capRows(xs, 'big.json', 100);
  assert.equal(capped.rows.length, 100);
  assert.equal(capped.note, '100 of 1,000 rows shown, evenly spaced in this order; the other 900 are in big.json.');
  assert.deepEqual(capRows(xs.slice(0, 10), 'small.json', 100), { rows: xs.slice(0, 10), note: null });
});

test('thinGrid: at most MAX_PANELS panels and about MAX_POINTS points, whole lines, and a note; a small grid untouched', () => {
  type P = { batch: number; seq: number; v: string };
  const points: P[] = [];
  for (let batch = 1; batch <= 20; batch++) for (let seq = 1; seq <= 500; seq++) for (const v of ['a', 'b', 'c']) points.push({ batch, seq, v });
  const grid = { x: (p: P) => p.seq, panel: (p: P) => p.batch, series: (p: P) => p.v, xName: 'sequence lengths', panelName: 'batch sizes' };
  const t = thinGrid(points, grid);
  assert.deepEqual(t.panels, [1, 4, 6, 9, 12, 15, 17, 20]);
  assert.equal(t.panels.length, MAX_PANELS);
  assert.ok(t.points.length <= MAX_POINTS && t.points.length > MAX_POINTS / 2, `${t.points.length} points`);
  // every kept (batch, seq) keeps all its series: lines stay comparable
  const perCell = new Map<string, number>();
  for (const p of t.points) perCell.set(`${p.batch} ${p.seq}`, (perCell.get(`${p.batch} ${p.seq}`) ?? 0) + 1);
  assert.ok([...perCell.values()].every((n) => n === 3));
  assert.ok(t.points.some((p) => p.seq === 1) && t.points.some((p) => p.seq === 500), 'the shortest and longest sequence kept');
  assert.match(t.note!, /^1,992 of 30,000 configurations drawn \(8 of 20 batch sizes, 83 of 500 sequence lengths, evenly spaced\); every one is in the result file$/);
  const small = points.filter((p) => p.batch <= 2 && p.seq <= 16);
  assert.deepEqual(thinGrid(small, grid), { points: small, note: null, panels: [1, 2] });
  assert.ok(thinGrid(points, grid, { xs: MAX_BARS }).points.length <= MAX_PANELS * MAX_BARS * 3);
});

test('a report of 20,000 layer results: every chart and table within its budget, saying what it left out', () => {
  const file = largeLayerFile(20_000);
  const run: LayerRun = { kind: 'layers', file: 'big.json', label: 'big', environment: file.environment, results: file.results, failures: [] };
  const charts = buildCharts([run]);
  const speedups = charts.filter((c) => c.id.startsWith('speedup-batch-'));
  assert.equal(speedups.length, MAX_PANELS, `one speedup chart per drawn batch size: ${speedups.map((c) => c.id).join(', ')}`);
  assert.deepEqual(speedups.map((c) => c.id).slice(0, 2), ['speedup-batch-1', 'speedup-batch-2']);
  assert.equal(speedups.at(-1)!.id, 'speedup-batch-512', 'the largest batch size is drawn');
  for (const c of charts) {
    const values = dataValues(c.spec);
    const limit = c.id === 'stages' ? MAX_POINTS * 4 : MAX_POINTS * 2;
    assert.ok(values.length <= limit, `${c.id}: ${values.length} data values`);
    assert.ok(subtitle(c.spec).some((l) => /^\d[\d,]* of 20,000 configurations drawn \(.*evenly spaced\); every one is in the result file$/.test(l)), `${c.id}: ${subtitle(c.spec).join(' | ')}`);
    assert.match(c.description, /Drawn: .* of 20,000 configurations/);
    for (const v of values) for (const k of ['ms', 'minMs', 'maxMs']) if (k in v && v[k] !== null) assert.ok((v[k] as number) > 0, `${c.id}: ${k} ${String(v[k])}`);
  }
  const stages = charts.find((c) => c.id === 'stages')!;
  assert.ok(new Set(dataValues(stages.spec).map((v) => v.seq)).size <= MAX_BARS, 'a stage panel has room for its bars');

  for (const t of buildTables([run]).slice(1)) {
    assert.ok(t.rows.length <= MAX_ROWS, `${t.title}: ${t.rows.length} rows`);
    if (t.title.startsWith('Layer results')) {
      assert.equal(t.rows.length, MAX_ROWS);
      assert.match(t.note!, /500 of 20,000 rows shown, evenly spaced in this order; the other 19,500 are in big\.json\.$/);
    }
  }
});

test('the fixtures are small: drawn whole, no note, tables whole', () => {
  const runs = loadRuns([path.join(ROOT, 'test/fixtures/layers.json'), path.join(ROOT, 'test/fixtures/generate.json')]);
  for (const c of buildCharts(runs)) assert.ok(!subtitle(c.spec).some((l) => l.includes('configurations drawn')), c.id);
  for (const t of buildTables(runs)) assert.ok(!t.note?.includes('rows shown'), t.title);
  const layers = buildTables(runs).find((t) => t.title.startsWith('Layer results'))!;
  assert.equal(layers.rows.length, runs[0]!.results.length);
});
