/**
 * The report of runs at several precisions: a series per attention type and dtype combination
 * (never a float32 line with int4 points on it), the decode step per KV-cache dtype at each
 * weight dtype with the context where the cache passes the weights, and summary.md's sentence
 * on the fastest combination and what its precision costs. Float32-only files get none of it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildCharts } from '../src/report/charts.ts';
import { cacheCrossover } from '../src/report/decode-charts.ts';
import { loadRuns } from '../src/report/load.ts';
import { buildReport } from '../src/report/report.ts';
import { toSvg, toVega } from '../src/report/render.ts';
import { readRun } from '../src/results/io.ts';
import { DECODE_SCHEMA, GenerateResultFile, LayerResultFile, type DecodeResult } from '../src/results/schema.ts';
import { withSamples } from '../src/timing/stats.ts';
import { ROOT, tmpDir } from './helpers.ts';

const DECODE = path.join(ROOT, 'test/fixtures/decode-v1.json');
const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');
const GENERATE = path.join(ROOT, 'test/fixtures/generate.json');
const TYPES = ['multi-head', 'multi-query-1'] as const;
const CONTEXTS = [8, 64] as const;

/**
 * Median step ms per type and cache dtype at each context: multi-query-1 with a float32 cache
 * is fastest at the short context, with an int8 cache at the long one.
 */
const MS: Record<string, readonly [number, number]> = {
  'multi-head float32': [0.5, 0.9],
  'multi-head int8': [0.55, 0.7],
  'multi-query-1 float32': [0.3, 0.45],
  'multi-query-1 int8': [0.35, 0.4],
};
/** Each cache dtype's error against float32, with int4 weights. */
const ERROR = { float32: 0.012, int8: 0.021 } as const;

/** The vertical rules a compiled chart's spec draws from data (its rows, one per rule). */
type Spec = { data: { values: Record<string, unknown>[] }; spec: { layer: { mark: { type: string }; transform?: { filter: string }[] }[] } };

/**
 * A decode comparison of two layouts × a float32 and an int8 cache, all at int4 weights, built
 * from the fixture's decoder: each step's task bytes are the weights' (`weightBytes`, the same
 * for every type) plus its live cache, which an int8 cache holds in a quarter of the bytes.
 */
/** The fixture's decode comparison (float32, three types, batch 2, contexts 8 and 64). */
function fixture() {
  const base = readRun(DECODE);
  assert.ok(base.kind === 'decode');
  return base;
}

function precisionFile(dir: string, weightBytes: number): { file: string; results: DecodeResult[] } {
  const base = fixture();
  const results = TYPES.flatMap((attention) =>
    (['float32', 'int8'] as const).flatMap((kvDtype) =>
      CONTEXTS.map((context, i): DecodeResult => {
        const r = base.results.find((x) => x.attention === attention && x.context === context)!;
        const kvCacheBytes = kvDtype === 'int8' ? r.kvCacheBytes / 4 : r.kvCacheBytes;
        const ms = MS[`${attention} ${kvDtype}`]![i]!;
        return {
          ...r,
          weightDtype: 'int4',
          kvDtype,
          kvCacheBytes,
          bytes: weightBytes + kvCacheBytes,
          ms: withSamples([ms, ms, ms]),
          speedup: null,
          quality: { maxRelError: ERROR[kvDtype], what: 'logits of the prefill and one decode step' },
        };
      }),
    ),
  );
  const file = path.join(dir, 'precision.json');
  const { kind: _kind, file: _file, label: _label, ...rest } = base;
  fs.writeFileSync(file, JSON.stringify({ ...rest, schema: DECODE_SCHEMA, config: { ...base.config, attention: [...TYPES], weightDtype: ['int4'], kvDtype: ['float32', 'int8'] }, results }));
  return { file, results };
}

/** The text a chart draws (each <text>, or each line of a multi-line one). */
const texts = (svg: string) => [...svg.matchAll(/<(?:text|tspan)[^>]*>([^<]+)<\/(?:text|tspan)>/g)].map((m) => m[1]!.replace(/&#39;/g, "'").replace(/&amp;/g, '&'));

test('a decode comparison at int4 weights: a line per layout and KV dtype, the crossover rule, and the fastest combination in summary.md', async () => {
  const dir = tmpDir();
  // the weights of 32 positions of multi-head's float32 cache: its cache passes them at context 33, within the measured 8 to 64
  const mha = fixture().results.find((r) => r.attention === 'multi-head' && r.context === 8)!;
  const perPosition = mha.kvCacheBytes / (mha.context - 1);
  const { file, results } = precisionFile(dir, 32 * perPosition);
  const runs = loadRuns([file]);
  const charts = buildCharts(runs);
  assert.deepEqual(charts.map((c) => c.id), ['decode-step-time', 'decode-kv-dtype-int4'], 'one precision chart: one weight dtype; no speedups in this file');

  // the new chart: one series per layout × KV dtype, named so
  const chart = charts.find((c) => c.id === 'decode-kv-dtype-int4')!;
  const spec = chart.spec as unknown as Spec;
  const series = ['multi-head · float32 cache', 'multi-head · int8 cache', 'multi-query-1 · float32 cache', 'multi-query-1 · int8 cache'];
  const steps = spec.data.values.filter((v) => v.kind === 'step');
  assert.deepEqual([...new Set(steps.map((v) => v.series))].sort(), series);
  assert.equal(steps.length, results.length, 'every step drawn once');
  const svg = await toSvg(toVega(chart.spec));
  const drawn = texts(svg);
  for (const s of series) assert.ok(drawn.includes(s), `legend entry '${s}'`);
  assert.ok(drawn.includes('Decode step by KV-cache dtype, int4 weights'));
  assert.equal(svg.match(/aria-roledescription="line mark"/g)?.length, series.length, 'a line per layout and KV dtype');

  // the crossover: where the rest of the step's bytes (the weights) meet the cache, only within the measured contexts
  const rules = spec.data.values.filter((v) => v.kind === 'crossover');
  assert.deepEqual(rules.map((v) => [v.series, v.crossContext]), [['multi-head · float32 cache', 33]], 'a rule for the one line whose cache passes the weights between 8 and 64');
  assert.ok(spec.spec.layer.some((l) => l.mark.type === 'rule' && l.transform?.[0]?.filter.includes('crossover')), 'a rule layer draws them');
  const drawnRules = [...svg.matchAll(/<line aria-label="([^"]*)"[^>]*aria-roledescription="rule mark"/g)].map((m) => m[1]!);
  assert.equal(drawnRules.length, 1, 'one rule drawn');
  assert.match(drawnRules[0]!, /multi-head · float32 cache; .*cache passes the weights at context: 33/, 'drawn at its context, in its line\'s series');
  assert.equal(cacheCrossover(results.filter((r) => r.attention === 'multi-query-1' && r.kvDtype === 'int8')), null, 'a cache that stays below the weights has no crossover');

  // the other decode chart keeps the combinations apart too
  const stepTime = buildCharts(runs).find((c) => c.id === 'decode-step-time')!;
  const stepSvg = texts(await toSvg(toVega(stepTime.spec)));
  for (const s of ['multi-head · int4 weights, float32 cache', 'multi-query-1 · int4 weights, int8 cache']) assert.ok(stepSvg.includes(s), `step-time legend '${s}'`);

  // summary.md: the fastest combination at each shape, and its error against float32
  const md = (await buildReport(runs, 'now')).get('summary.md') as string;
  assert.match(
    md,
    /Fastest dtype combination of precision \(median decode step, and what its precision costs against float32\): batch 2, context 8: multi-query-1 \(int4 weights, float32 cache\), 0\.300 ms, error against float32 1\.2e-2; batch 2, context 64: multi-query-1 \(int4 weights, int8 cache\), 0\.400 ms, error against float32 2\.1e-2\./,
  );
  assert.doesNotMatch(md, /\b(pass|fail|acceptable)\b/i, 'a cost, never a verdict');
});

test('float32 weights beside an int8 cache: a precision chart for float32 weights, and float32 named exact when fastest', async () => {
  const dir = tmpDir();
  const { results } = precisionFile(dir, 1);
  // multi-head alone, at float32 weights: its float32 cache made the fastest at both contexts
  const mixed = results
    .filter((r) => r.attention === 'multi-head')
    .map((r) => ({ ...r, weightDtype: 'float32' as const, ...(r.kvDtype === 'float32' ? { ms: withSamples([0.1, 0.1, 0.1]), quality: undefined } : {}) }));
  const file = path.join(dir, 'cache.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(dir, 'precision.json'), 'utf8')), results: mixed }));
  const runs = loadRuns([file]);
  assert.deepEqual(buildCharts(runs).map((c) => c.id), ['decode-step-time', 'decode-kv-dtype-float32']);
  const md = (await buildReport(runs, 'now')).get('summary.md') as string;
  assert.match(md, /context 8: multi-head \(float32 weights, float32 cache\), 0\.100 ms, exact float32; batch 2, context 64: multi-head \(float32 weights, float32 cache\), 0\.100 ms, exact float32\./);
});

test('float32-only files: no precision chart, no sentence, series named by type alone', async () => {
  const runs = loadRuns([DECODE]);
  const charts = buildCharts(runs);
  assert.deepEqual(charts.map((c) => c.id), ['decode-step-time', 'decode-step-speedup']);
  const color = (charts[0]!.spec as unknown as { spec: { layer: { encoding?: { color?: { field: string } } }[] } }).spec.layer.find((l) => l.encoding?.color)!.encoding!.color!;
  assert.equal(color.field, 'attention', 'coloured by attention type, as before the precision axes');
  const md = (await buildReport(runs, 'now')).get('summary.md') as string;
  assert.doesNotMatch(md, /Fastest dtype combination/);
});

test('a layer sweep at float32 and int4 weights: each variant a series per weight dtype, in every chart', async () => {
  const dir = tmpDir();
  const layers = LayerResultFile.parse(JSON.parse(fs.readFileSync(LAYERS, 'utf8')));
  const int4 = layers.results.map((r) => ({ ...r, weightDtype: 'int4' as const, ms: withSamples(r.ms.samples.map((s) => s / 2)), quality: { maxRelError: 0.01, what: 'layer output' } }));
  const file = path.join(dir, 'layers.json');
  fs.writeFileSync(file, JSON.stringify({ ...layers, results: [...layers.results, ...int4] }));
  const charts = buildCharts(loadRuns([file]));
  const variants = new Set(layers.results.map((r) => r.attention)).size;
  const batches = new Set(layers.results.map((r) => r.batch)).size;

  const total = await toSvg(toVega(charts.find((c) => c.id === 'total-time')!.spec));
  for (const t of ['variant · weights', 'multi-head · float32 weights', 'multi-head · int4 weights', 'multi-query-1 · int4 weights']) assert.ok(texts(total).includes(t), `legend entry '${t}'`);
  assert.equal(total.match(/aria-roledescription="line mark"/g)?.length, 2 * variants * batches, 'a line per variant, weight dtype and batch');

  // the speedups (over multi-head at the same dtype) leave out multi-head at every dtype
  const speedup = texts(await toSvg(toVega(charts.find((c) => c.id === 'speedup-batch-2')!.spec)));
  assert.ok(speedup.includes('multi-query-1 · int4 weights') && !speedup.includes('multi-head · int4 weights') && !speedup.includes('multi-head · float32 weights'));
  const stages = texts(await toSvg(toVega(charts.find((c) => c.id === 'stages')!.spec)));
  assert.ok(stages.includes('grouped-query:4 · int4 weights · batch 4'), 'a stage panel per variant and weight dtype');
});

test('a generation at float32 and an int8 cache: a series per type and cache dtype, and the fastest combination with its token agreement', async () => {
  const dir = tmpDir();
  const gen = GenerateResultFile.parse(JSON.parse(fs.readFileSync(GENERATE, 'utf8')));
  // the int8 cache's steps a tenth faster than float32's
  const int8 = gen.results.map((r) => ({
    ...r,
    kvDtype: 'int8' as const,
    decodeMsPerToken: { ...r.decodeMsPerToken, median: r.decodeMsPerToken.median * 0.9 },
    steps: r.steps.map((s) => ({ ...s, ms: s.ms * 0.9 })),
    quality: { maxRelError: 0.03, what: 'logits of the prefill and one decode step', agreement: 0.75, firstDifference: 5 },
  }));
  const file = path.join(dir, 'generate.json');
  fs.writeFileSync(file, JSON.stringify({ ...gen, results: [...gen.results, ...int8] }));
  const runs = loadRuns([file]);
  const charts = buildCharts(runs);
  const latency = await toSvg(toVega(charts.find((c) => c.id === 'decode-latency')!.spec));
  for (const r of gen.results) for (const kv of ['float32', 'int8']) assert.ok(texts(latency).includes(`${r.attention} · ${kv} cache`), `legend entry ${r.attention} · ${kv} cache`);
  assert.equal(latency.match(/aria-roledescription="line mark"/g)?.length, 2 * 2 * gen.results.length, 'a latency and a floor line per type and cache dtype');
  const tps = await toSvg(toVega(charts.find((c) => c.id === 'tokens-per-second')!.spec));
  assert.equal(tps.match(/aria-roledescription="bar"/g)?.length, 2 * 2 * gen.results.length, 'two bars per type and cache dtype, none stacked on another');

  const best = int8.reduce((a, b) => (b.decodeMsPerToken.median < a.decodeMsPerToken.median ? b : a));
  const md = (await buildReport(runs, 'now')).get('summary.md') as string;
  const expected = `${best.attention} (float32 weights, int8 cache), ${best.decodeMsPerToken.median.toFixed(3)} ms, error against float32 3.0e-2; 75 % tokens as float32 (first diff at 5).`;
  assert.ok(md.includes(`Fastest dtype combination of generate (batch 2, prompt 8, 16 new tokens; median decode step, and what its precision costs against float32): ${expected}`), md.split('\n').find((l) => l.startsWith('Fastest')) ?? 'no sentence');
});
