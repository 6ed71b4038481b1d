/** `attnbench report`: every chart from the fixtures, its series and labels, the PNG text, the files, bad input. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { buildCharts } from '../src/report/charts.ts';
import { loadRuns } from '../src/report/load.ts';
import { rasterize, toSvg, toVega } from '../src/report/render.ts';
import { report } from '../src/report/report.ts';
import { GenerateResultFile, LayerResultFile } from '../src/results/schema.ts';
import { cli, ROOT, tmpDir } from './helpers.ts';

const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');
const GENERATE = path.join(ROOT, 'test/fixtures/generate.json');
const SEED = path.join(ROOT, 'test/fixtures/seed-excerpt.json');
const layers = LayerResultFile.parse(JSON.parse(fs.readFileSync(LAYERS, 'utf8')));

interface Mark {
  /** Vega's aria-roledescription: 'point', 'bar', 'line mark', ... */
  role: string;
  /** Vega's aria-label: the mark's fields and values, e.g. "variant: multi-head; batch: 2; ...". */
  label: string;
}

/** The text a chart draws, and every mark with its data as Vega describes it for screen readers. */
function svgFacts(svg: string): { texts: string[]; marks: Mark[] } {
  const unescape = (s: string) => s.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return {
    // a single-line text is <text>…</text>; each line of a multi-line one is a <tspan>
    texts: [...svg.matchAll(/<(?:text|tspan)[^>]*>([^<]+)<\/(?:text|tspan)>/g)].map((m) => unescape(m[1]!)),
    marks: [...svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="([^"]*)"/g)].map((m) => ({ label: unescape(m[1]!), role: m[2]! })),
  };
}

/** Marks of one kind whose description holds every part. */
const marksWith = (marks: Mark[], role: string, ...parts: string[]) => marks.filter((m) => m.role === role && parts.every((p) => m.label.includes(p)));

test('every chart renders from the fixtures with its series, labels and data points', async () => {
  const charts = buildCharts(loadRuns([LAYERS, GENERATE]));
  const ids = charts.map((c) => c.id);
  assert.deepEqual(ids, ['speedup-batch-2', 'speedup-batch-4', 'total-time', 'stages', 'outside-kernels', 'roofline', 'decode-latency', 'tokens-per-second', 'kv-cache', 'decode-speedup']);
  const svgs = new Map<string, ReturnType<typeof svgFacts>>();
  for (const c of charts) {
    const svg = await toSvg(toVega(c.spec));
    assert.match(svg, /^<svg /, c.id);
    const facts = svgFacts(svg);
    assert.ok(facts.texts.includes(c.title), `${c.id} shows its title`);
    svgs.set(c.id, facts);
  }
  const get = (id: string) => svgs.get(id)!;

  // the seed's plots: each variant but the baseline, one point per sequence length, the right ratio
  for (const batch of [2, 4]) {
    const { texts, marks } = get(`speedup-batch-${batch}`);
    for (const t of ['sequence length', 'speedup over multi-head (×)', 'variant', 'multi-query-1', 'grouped-query:4']) assert.ok(texts.includes(t), `speedup-batch-${batch}: '${t}'`);
    assert.ok(!texts.includes('multi-head'), 'the baseline has no legend entry of its own');
    for (const r of layers.results.filter((x) => x.batch === batch && x.attention !== 'multi-head')) {
      const mha = layers.results.find((x) => x.attention === 'multi-head' && x.batch === batch && x.seq === r.seq)!;
      const speedup = (mha.ms.median / r.ms.median).toFixed(2);
      const found = marksWith(marks, 'point', `variant: ${r.attention};`, `sequence length: ${r.seq};`, `speedup (×): ${speedup}`, `95 % low: ${r.speedup!.low.toFixed(2)}`);
      assert.ok(found.length >= 1, `speedup-batch-${batch}: a point for ${r.attention} at ${r.seq} with ${speedup}×`);
    }
    const spec = charts.find((c) => c.id === `speedup-batch-${batch}`)!.spec as unknown as { layer: { mark: { type: string }; encoding: { y2?: { field: string } }; data: { values: { speedupLow: number; speedupHigh: number }[] } }[] };
    const bars = spec.layer.find((l) => l.mark.type === 'rule' && l.encoding.y2?.field === 'speedupHigh')!;
    assert.equal(bars.data.values.length, layers.results.filter((x) => x.batch === batch && x.attention !== 'multi-head').length, 'an interval bar per point');
    assert.ok(bars.data.values.every((v) => v.speedupLow <= v.speedupHigh));
  }
  const total = get('total-time');
  assert.ok(total.texts.includes('time per call (ms, log scale)') && total.texts.includes('batch 2') && total.texts.includes('batch 4'));
  for (const r of layers.results) assert.ok(marksWith(total.marks, 'point', `variant: ${r.attention};`, `batch: ${r.batch};`, `median ms: ${r.ms.median.toFixed(3)}`).length, `time point ${r.attention} ${r.batch} ${r.seq}`);

  const stages = get('stages');
  for (const s of ['qkv', 'split', 'weights', 'output', 'other']) assert.ok(stages.texts.includes(s), `stage legend '${s}'`);
  assert.ok(stages.texts.includes('grouped-query:4 · batch 4'), 'one panel per variant and batch');
  const stageCount = layers.results.reduce((n, r) => n + r.stages.length, 0);
  assert.equal(marksWith(stages.marks, 'bar', 'stage: ').length, stageCount, 'one bar segment per stage of every configuration');

  const host = get('outside-kernels');
  assert.ok(host.texts.includes('share outside the kernels') && host.texts.includes('100%'));
  assert.equal(marksWith(host.marks, 'point', 'outside kernels: ').length, layers.results.length, 'a point per configuration');
  assert.equal(marksWith(host.marks, 'line mark').length, 3 * 2, 'a line per variant and batch');
  assert.ok(!ids.includes('seed-cpu-share'), "the seed's cpu part only where a file imported from the seed holds it");

  const roof = get('roofline');
  assert.ok(roof.texts.includes(`measured on ${layers.environment.cpu}, 2 cores, 2 threads, onnxruntime 1.30.0, 2026-01-01`), 'every chart says where it was measured');
  const c = layers.environment.ceilings!;
  assert.ok(roof.texts.includes(`matmul ceiling ${c.matmulGflops.toFixed(0)} GFLOP/s`), 'the compute ceiling is drawn and named');
  assert.ok(roof.texts.includes(`streaming read ${c.readGBps.toFixed(1)} GB/s`), 'the bandwidth ceiling is drawn and named');
  assert.equal(marksWith(roof.marks, 'point', 'GFLOP/s: ').length, layers.results.length);

  const gen = GenerateResultFile.parse(JSON.parse(fs.readFileSync(GENERATE, 'utf8')));
  const types = gen.results.length;
  const decode = get('decode-latency');
  assert.ok(decode.texts.includes('context length (tokens)'));
  for (const r of gen.results) assert.ok(decode.texts.includes(r.attention), `decode legend ${r.attention}`);
  const first = gen.results[0]!;
  assert.equal(marksWith(decode.marks, 'point', 'context: ').length, gen.results.reduce((n, r) => n + r.steps.length, 0));
  assert.ok(marksWith(decode.marks, 'point', `attention: ${first.attention};`, `ms: ${first.steps[0]!.ms.toFixed(3)}`).length === 1);
  assert.equal(marksWith(decode.marks, 'line mark').length, 2 * types, 'a latency line and a floor line per type');
  const tps = get('tokens-per-second');
  assert.ok(tps.texts.includes('whole generation') && tps.texts.includes('decode steps'));
  assert.equal(marksWith(tps.marks, 'bar', 'tokens/s: ').length, 2 * types);
  const kv = get('kv-cache');
  assert.ok(kv.texts.includes('measured') && kv.texts.includes('predicted'));
  assert.equal(marksWith(kv.marks, 'bar', 'measure: measured').length, types);
  assert.equal(marksWith(kv.marks, 'bar', 'measure: predicted', `bytes: ${first.kvCacheBytes.predicted.toLocaleString('en')}`).length, 1);
  const speed = get('decode-speedup');
  assert.ok(!speed.texts.includes('multi-head'), 'multi-head against itself is left out');
  assert.equal(marksWith(speed.marks, 'bar', 'speedup (×): ').length, 3 * (types - 1), 'three speedups per type but the baseline');
});

test('merged files are told apart by their names, in the legend and in every point', async () => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'old'));
  const copy = path.join(dir, 'old', 'layers.json');
  fs.copyFileSync(LAYERS, copy);
  const runs = loadRuns([LAYERS, copy]);
  // the same file name twice: the labels add the folder
  assert.deepEqual(runs.map((r) => r.label), ['fixtures/layers', 'old/layers']);
  const [speedup] = buildCharts(runs);
  const { texts, marks } = svgFacts(await toSvg(toVega(speedup!.spec)));
  assert.ok(texts.includes('run'), 'a legend for the runs');
  for (const r of runs) assert.ok(texts.includes(r.label), `legend entry ${r.label}`);
  assert.equal(marksWith(marks, 'line mark').length, 2 * 2, 'a line per variant and run');
  assert.equal(marksWith(marks, 'point', `run: ${runs[1]!.label};`).length, 4);
});

test('hundreds of decode steps are drawn as faint points under a smoothed curve', async () => {
  const dir = tmpDir();
  const gen = GenerateResultFile.parse(JSON.parse(fs.readFileSync(GENERATE, 'utf8')));
  const many = { ...gen, results: gen.results.map((r) => ({ ...r, steps: Array.from({ length: 100 }, (_, i) => ({ context: 8 + i, ms: 2 + (i % 7) / 10, taskFloorMs: 0.5 })) })) };
  const file = path.join(dir, 'many.json');
  fs.writeFileSync(file, JSON.stringify(many));
  const decode = buildCharts(loadRuns([file])).find((c) => c.id === 'decode-latency')!;
  const { texts, marks } = svgFacts(await toSvg(toVega(decode.spec)));
  assert.ok(texts.some((t) => t.includes('loess')), 'the subtitle says what the curve is');
  assert.equal(marksWith(marks, 'point', 'context: ').length, 100 * gen.results.length);
  assert.equal(marksWith(marks, 'line mark').length, 2 * gen.results.length, 'a trend and a floor per type');
});

test('PNG charts carry their text (a font is found)', async () => {
  const [chart] = buildCharts(loadRuns([LAYERS]));
  const svg = await toSvg(toVega(chart!.spec));
  const withText = rasterize(svg);
  const without = rasterize(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
  assert.equal(withText.width, without.width);
  const a = withText.pixels;
  const b = without.pixels;
  let differing = 0;
  for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) differing++;
  // titles, axis labels and legends cover thousands of pixels; without a font resvg drops them all
  assert.ok(differing > 5000, `only ${differing} pixels come from text: is a font (fonts-dejavu-core) installed?`);
});

test('attnbench report writes SVG and PNG charts, a self-contained index.html and summary.md', () => {
  const dir = path.join(tmpDir(), 'out');
  const r = cli(['report', LAYERS, GENERATE, '--out', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), path.join(dir, 'index.html'), 'the page path on stdout');
  const files = fs.readdirSync(dir).sort();
  assert.equal(files.filter((f) => f.endsWith('.svg')).length, 10);
  assert.equal(files.filter((f) => f.endsWith('.png')).length, 10);
  for (const f of files.filter((x) => x.endsWith('.png'))) assert.deepEqual([...fs.readFileSync(path.join(dir, f)).subarray(1, 4)], [0x50, 0x4e, 0x47], f);

  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src="https?:/, 'nothing loaded from elsewhere');
  assert.match(html, /vega/, 'the runtime is inlined');
  assert.equal(html.match(/<div class="chart" data-chart="/g)?.length, 10, 'a place for every chart');
  assert.match(html, /Intel|cpu \(onnxruntime CPUExecutionProvider\)/, 'the environment block');
  assert.match(html, /<th class="num">median ms<\/th>/, 'the layer table');

  const md = fs.readFileSync(path.join(dir, 'summary.md'), 'utf8');
  assert.match(md, /^# attnbench report/);
  assert.match(md, /## Speedup over multi-head — layers\n/);
  assert.match(md, /\| batch \| seq \| multi-head ms \| multi-query-1 \| grouped-query:4 \|/);
  assert.match(md, /\| multi-head \| 2 \| 32 \| 4 \|/);
  assert.match(md, /## Generation results — generate/);
  assert.match(md, /!\[Roofline\]\(roofline\.png\)/);
});

/** Every bad input is a UsageError naming the file, and the output folder is left as it was. */
test('bad input: one error naming the file and the reason, nothing written', async () => {
  const dir = tmpDir();
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'keep.txt'), 'untouched');
  const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
  const valid = JSON.parse(fs.readFileSync(LAYERS, 'utf8')) as Record<string, unknown> & { results: Record<string, unknown>[] };
  const journal = layers.results.map((r) => JSON.stringify(r)).join('\n');
  const cases: [string, string[], RegExp][] = [
    ['not JSON', [write('a.json', '{"schema": "attnbench/lay')], /a\.json: not JSON/],
    ['another schema', [write('b.json', JSON.stringify({ schema: 'other/thing@1' }))], /b\.json: schema is "other\/thing@1"/],
    ['another version', [write('c.json', JSON.stringify({ ...valid, schema: 'attnbench/layers@9' }))], /c\.json: schema is "attnbench\/layers@9".*another version/],
    ['a broken field', [write('d.json', JSON.stringify({ ...valid, results: [{ ...valid.results[0], seq: -1 }] }))], /d\.json: invalid at results\.0\.seq/],
    ['the seed format', [SEED], /seed-excerpt\.json: this is the seed's format; convert it first: attnbench import-legacy/],
    ['a truncated journal', [write('e.journal.jsonl', journal.slice(0, -20))], new RegExp(`e\\.journal\\.jsonl: line ${layers.results.length} is truncated`)],
    ['an empty result set', [write('f.json', JSON.stringify({ ...valid, results: [], failures: [{ attention: 'multi-head', batch: 1, seq: 8, error: 'x' }] }))], /f\.json: no results \(all 1 configurations failed\)/],
    ['a file twice', [LAYERS, LAYERS], /layers\.json: given twice/],
    ['a missing file', [path.join(dir, 'nope.json')], /nope\.json: cannot read \(ENOENT\)/],
  ];
  for (const [what, files, message] of cases) {
    await assert.rejects(report(files, out), (e: Error) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'), what);
  }
  await assert.rejects(report([LAYERS], path.join(out, 'keep.txt')), /keep\.txt: exists and is not a folder/);
  assert.deepEqual(fs.readdirSync(out), ['keep.txt'], 'nothing written into the output folder');

  // a whole journal is fine: an interrupted sweep can be looked at once it is resumed or complete
  const index = await report([write('h.journal.jsonl', journal + '\n')], out);
  assert.ok(fs.existsSync(index));

  // and through the command line: exit 2, one line on stderr
  const r = cli(['report', path.join(dir, 'a.json'), '--out', path.join(dir, 'other')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^attnbench: error: .*a\.json: not JSON\n$/);
  assert.ok(!fs.existsSync(path.join(dir, 'other')));
});

test("layer files of different shapes (a small run beside the seed's 16 × 64): each shape drawn in a section of its own", async () => {
  // the seed's file as import-legacy gives it (from the excerpt in test/fixtures, so no ../shared is needed)
  const dir = tmpDir();
  const seed = path.join(dir, 'seed.json');
  const imported = cli(['import-legacy', SEED, '--out', seed]);
  assert.equal(imported.status, 0, imported.stderr);
  const runs = loadRuns([LAYERS, seed]);
  const seedResults = LayerResultFile.parse(JSON.parse(fs.readFileSync(seed, 'utf8'))).results;
  const small = '4x16';
  const big = '16x64';
  const charts = buildCharts(runs);
  assert.deepEqual(
    charts.map((c) => c.id),
    [
      ...['speedup-batch-2', 'speedup-batch-4', 'total-time', 'stages', 'outside-kernels', 'roofline'].map((id) => `${id}-seed-${small}`),
      // the seed's own cpu part has its own chart, never on the axis of our share outside the kernels
      ...['speedup-batch-8', 'speedup-batch-16', 'total-time', 'stages', 'seed-cpu-share', 'roofline'].map((id) => `${id}-seed-${big}`),
    ],
  );
  for (const c of charts) {
    const shape = c.id.endsWith(small) ? 'seed mode, 4 heads of 16' : 'seed mode, 16 heads of 64';
    assert.equal(c.section, shape, `${c.id} belongs to its shape's section`);
    assert.ok(c.title.endsWith(` — ${shape}`), `${c.id}: the title names the shape`);
  }
  // no axis mixes the shapes: each time chart holds exactly its own shape's configurations
  for (const [suffix, results] of [[small, layers.results], [big, seedResults]] as const) {
    const { marks } = svgFacts(await toSvg(toVega(charts.find((c) => c.id === `total-time-seed-${suffix}`)!.spec)));
    assert.equal(marksWith(marks, 'point', 'median ms: ').length, results.length, `total-time-seed-${suffix}`);
  }

  const out = path.join(dir, 'report');
  await report([LAYERS, seed], out);
  const md = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
  assert.match(md, /These results measure 2 different attention layers \(seed mode, 4 heads of 16; seed mode, 16 heads of 64\)\. Each is drawn in a section of its own, not on shared axes/);
  assert.match(md, /## Layer results — layers \(seed mode, 4 heads of 16\)\n/);
  assert.match(md, /## Speedup over multi-head — seed \(seed mode, 16 heads of 64\)\n/);
  const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
  assert.match(html, /<h3 id="section-seed-mode-4-heads-of-16">seed mode, 4 heads of 16<\/h3>/);
  assert.match(html, /<h3 id="section-seed-mode-16-heads-of-64">seed mode, 16 heads of 64<\/h3>/);
  assert.equal(html.match(/<div class="chart" data-chart="/g)?.length, charts.length);
});
