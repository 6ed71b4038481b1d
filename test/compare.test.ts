/**
 * `attnbench compare A B`: ratios with their bootstrap intervals, the verdicts they give,
 * point estimates for one-sample sides, generation results keyed by the whole model shape and
 * settings (others listed as not comparable, never a regression), --fail-above, bad pairs,
 * and a gate that fails closed: nothing compared, or a ratio it cannot compute, fails it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { changeInterval, compareRuns, formatComparison, gateFailure, regressions } from '../src/report/compare.ts';
import { fromLegacy } from '../src/results/seed-format.ts';
import { loadRun } from '../src/report/load.ts';
import type { GenerateRun, LayerRun } from '../src/results/io.ts';
import type { LayerResult } from '../src/results/schema.ts';
import { summarize, withSamples } from '../src/timing/stats.ts';
import { cli, ROOT, tmpDir } from './helpers.ts';

const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');
const GENERATE = path.join(ROOT, 'test/fixtures/generate.json');
const SEED = path.join(ROOT, 'test/fixtures/seed-excerpt.json');
const base = loadRun(LAYERS) as LayerRun;

/** Every time of `run` replaced by five tight samples around `factor` × its median (±0.5 %): a clear signal. */
function tight(run: LayerRun, factor = 1, only?: (r: LayerResult) => boolean, file = `x${factor}.json`): LayerRun {
  const set = (r: LayerResult): LayerResult => {
    const m = r.ms.median * (only && !only(r) ? 1 : factor);
    return { ...r, ms: withSamples([0.995, 0.998, 1, 1.002, 1.005].map((k) => k * m)) };
  };
  return { ...run, file, results: run.results.map(set) };
}

/** A copy of the fixture run with every sample scaled by `factor` (its own, wide spread kept). */
function scaled(factor: number, only: (r: LayerResult) => boolean = () => true): LayerRun {
  const scale = (r: LayerResult) => (only(r) ? { ...r, ms: withSamples(r.ms.samples.map((x) => x * factor)) } : r);
  return { ...base, file: `s${factor}.json`, results: base.results.map(scale) };
}

test('a run against itself: every ratio 1, every interval around it, nothing flagged', () => {
  const c = compareRuns(base, base);
  assert.equal(c.rows.length, base.results.length);
  for (const r of c.rows) {
    assert.equal(r.ratio, 1);
    assert.ok(r.low <= 1 && r.high >= 1 && r.method === 'bootstrap');
    assert.equal(r.verdict, 'same');
  }
  assert.equal(regressions(c, 0).length, 0);
});

test('slower when the whole 95 % interval of B/A is above 1, faster when below, else within the noise', () => {
  const isMha = (r: LayerResult) => r.attention === 'multi-head';
  const c = compareRuns(tight(base), tight(base, 1.5, isMha));
  for (const r of c.rows) {
    const mha = r.config.startsWith('multi-head ');
    assert.equal(r.verdict, mha ? 'slower' : 'same', r.config);
    if (mha) assert.ok(Math.abs(r.ratio - 1.5) < 1e-12 && r.low > 1 && r.low <= 1.5 && r.high >= 1.5);
  }
  assert.equal(regressions(c, 10).length, base.results.filter(isMha).length);
  assert.equal(regressions(c, 60).length, 0, 'a 50 % slowdown is not above 60 %');
  assert.ok(compareRuns(tight(base), tight(base, 0.5)).rows.every((r) => r.verdict === 'faster' && r.high < 1));

  // the fixture's own spread (3 samples, some ±40 %): even 1.5× is within the noise where the spread is that wide
  const wide = compareRuns(base, scaled(1.5));
  const mha232 = wide.rows.find((r) => r.config === 'multi-head batch 2 seq 32')!;
  assert.equal(mha232.verdict, 'same', `samples ${base.results[0]!.ms.samples.join(', ')}: interval ${mha232.low}–${mha232.high}`);
  assert.ok(compareRuns(base, scaled(1.01)).rows.every((r) => r.verdict === 'same'), 'a 1 % change is within the noise of 3 samples');
});

test('a side with one sample has no interval: a point estimate, and the row says so', () => {
  const seed = fromLegacy(JSON.parse(fs.readFileSync(SEED, 'utf8')), SEED, { heads: 16, headDim: 64 });
  const a: LayerRun = { kind: 'layers', file: 'seed.json', label: 'seed', environment: seed.environment, results: seed.results, failures: [] };
  const b: LayerRun = { ...a, file: 'seed-slower.json', results: a.results.map((r) => ({ ...r, ms: withSamples([r.ms.median * 1.02]) })) };
  const c = compareRuns(a, b);
  assert.ok(c.rows.length > 0);
  for (const r of c.rows) {
    assert.equal(r.method, 'point estimate');
    assert.equal(r.verdict, 'slower', '2 % slower counts, as there is no noise to measure it against');
  }
  const text = formatComparison(c, 'md');
  assert.match(text, /\| none \(n 1: point estimate\) \| slower \|/);
  assert.match(text, new RegExp(`; ${c.rows.length} judged as point estimates \\(a side with one sample\\)`));
});

test('a summary kept without its samples gets the normal approximation of the median', () => {
  const a = { ...summarize([10, 10.2, 9.8, 10.1, 9.9, 10, 10.3, 9.7]) };
  const b = { ...a, median: 10.5 };
  const i = changeInterval(a, b);
  assert.equal(i.method, 'normal approximation');
  assert.ok(i.low < 1.05 && i.high > 1.05 && i.low > 1, `${i.low}–${i.high}`);
  assert.equal(changeInterval(a, { ...a, median: 10.05 }).low < 1, true, 'half a percent is within the noise');
});

test('the table shows both medians and spreads, the ratio, its interval, and a summary line', () => {
  const text = formatComparison(compareRuns(tight(base), tight(base, 2)), 'md');
  assert.match(text, /\| configuration \| metric \| A median \| A spread \| B median \| B spread \| B\/A \| 95% interval of B\/A \| change \|/);
  assert.match(text, /\| multi-head batch 2 seq 32 \| ms per call \| [\d.]+ \| ±0\.4% \(n 5\) \| [\d.]+ \| ±0\.4% \(n 5\) \| 2\.000 \| 1\.9\d\d–2\.0\d\d \| slower \|/);
  assert.match(text, new RegExp(`${base.results.length} compared: ${base.results.length} slower and 0 faster beyond the noise, 0 within it; geometric mean B/A 2\\.000\\n$`));
  const json = JSON.parse(formatComparison(compareRuns(base, base), 'json')) as { rows: { low: number; high: number; method: string }[] };
  assert.equal(json.rows.length, base.results.length);
  assert.equal(json.rows[0]!.method, 'bootstrap');
});

test('generation results compare per attention type: decode step, prefill, whole generation', () => {
  const gen = loadRun(GENERATE);
  const c = compareRuns(gen, gen);
  assert.deepEqual([...new Set(c.rows.map((r) => r.metric))], ['decode ms/step', 'prefill ms', 'generation s']);
  assert.deepEqual([...new Set(c.rows.map((r) => r.method))], ['normal approximation', 'bootstrap'], 'the decode step is kept as a summary; the others with samples');
  assert.equal(c.rows.length, 3 * gen.results.length);
});

test('generation results of another model shape are listed as not comparable, with what differs, and never count as a regression', () => {
  const gen = loadRun(GENERATE) as GenerateRun;
  const model = gen.resolved.model!;
  // twice as slow, but a model twice as wide: not a regression, a different computation
  const wider: GenerateRun = {
    ...gen,
    file: 'wider.json',
    resolved: { ...gen.resolved, model: { ...model, hidden: 2 * model.hidden } },
    results: gen.results.map((r) => ({ ...r, decodeMsPerToken: { ...r.decodeMsPerToken, median: 2 * r.decodeMsPerToken.median }, prefillMs: withSamples(r.prefillMs.samples.map((x) => 2 * x)) })),
  };
  const c = compareRuns(gen, wider);
  assert.equal(c.rows.length, 0);
  assert.equal(c.notComparable.length, 3 * gen.results.length);
  assert.deepEqual(c.notComparable[0]!.differs, [`hidden ${model.hidden} in A, ${2 * model.hidden} in B`]);
  assert.equal(regressions(c, 0).length, 0);
  // settings count too: another batch
  const batch = compareRuns(gen, { ...gen, file: 'batch.json', resolved: { ...gen.resolved, batch: gen.resolved.batch + 1 } });
  assert.deepEqual(batch.notComparable[0]!.differs, [`batch ${gen.resolved.batch} in A, ${gen.resolved.batch + 1} in B`]);

  // the command: listed, never a regression; but a gate that compared nothing fails (no evidence is no pass)
  const dir = tmpDir();
  const file = JSON.parse(fs.readFileSync(GENERATE, 'utf8'));
  const widerFile = path.join(dir, 'wider.json');
  fs.writeFileSync(widerFile, JSON.stringify({ ...file, resolved: { ...file.resolved, model: { ...file.resolved.model, hidden: 128, heads: 8 } } }));
  const r = cli(['compare', GENERATE, widerFile, '--fail-above', '1']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, 'attnbench: nothing was compared (9 not comparable): no evidence is not a pass\n');
  assert.match(r.stdout, /Not comparable: Found in both files, but doing different work in each/);
  assert.match(r.stdout, /\| multi-head batch 2 prompt 8 gen 24 \| decode ms\/step \| hidden 64 in A, 128 in B; heads 4 in A, 8 in B \|/);
  assert.match(r.stdout, /0 compared: 0 slower and 0 faster beyond the noise, 0 within it; 9 not comparable\n$/);
});

test('layer results of another shape are not comparable; files with nothing alike are refused', () => {
  assert.throws(() => compareRuns(base, loadRun(GENERATE)), (e: Error) => e instanceof UsageError && /generate\.json: is a generate result but .*layers\.json is a layers result/.test(e.message));
  const other: LayerRun = { ...base, file: 'other.json', results: base.results.map((r) => ({ ...r, heads: 8 })) };
  const c = compareRuns(base, other);
  assert.equal(c.rows.length, 0);
  assert.deepEqual(c.notComparable[0]!.differs, ['heads 4 in A, 8 in B']);
  const elsewhere: LayerRun = { ...base, file: 'elsewhere.json', results: base.results.map((r) => ({ ...r, seq: r.seq + 1 })) };
  assert.throws(() => compareRuns(base, elsewhere), /elsewhere\.json: no configuration in common with/);
  const partial = compareRuns(base, { ...base, file: 'partial.json', results: base.results.slice(0, 3) });
  assert.equal(partial.rows.length, 3);
  assert.equal(partial.onlyA.length, base.results.length - 3);
});

test('the command: exit 0, exit 1 with --fail-above on a slowdown beyond the noise, exit 2 on bad input', () => {
  const dir = tmpDir();
  const write = (name: string, run: LayerRun) => {
    const file = JSON.parse(fs.readFileSync(LAYERS, 'utf8')) as { results: LayerResult[] };
    const p = path.join(dir, name);
    fs.writeFileSync(p, JSON.stringify({ ...file, results: run.results }));
    return p;
  };
  const a = write('a.json', tight(base));
  const slow = write('slow.json', tight(base, 3));
  const ok = cli(['compare', a, a, '--fail-above', '5']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /geometric mean B\/A 1\.000/);
  const worse = cli(['compare', a, slow, '--fail-above', '5']);
  assert.equal(worse.status, 1, worse.stderr);
  assert.match(worse.stderr, /^attnbench: \d+ configuration\(s\) slower by more than 5% beyond the noise: multi-head batch 2 seq 32 ms per call ×3\.000/);
  // 30 % slower where the fixture's own samples spread from 0.09 to 0.18 ms: within the noise, the gate holds
  const noisy = cli(['compare', LAYERS, write('noisy.json', scaled(1.3, (r) => r.attention === 'multi-head' && r.batch === 2 && r.seq === 32)), '--fail-above', '5']);
  assert.equal(noisy.status, 0, noisy.stdout);
  const bad = cli(['compare', LAYERS, path.join(dir, 'missing.json')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^attnbench: error: .*missing\.json: cannot read \(ENOENT\)\n$/);
  const badPct = cli(['compare', LAYERS, LAYERS, '--fail-above', 'lots']);
  assert.equal(badPct.status, 2);
});

test('a pair whose ratio cannot be computed is shown without one, never as a speed, and fails the gate', () => {
  // what the reader refuses in files (its time rule), a caller of the API can still pass
  const at = (results: LayerResult[], i: number, xs: number[]) => results.map((r, k) => (k === i ? { ...r, ms: withSamples(xs) } : r));
  const huge: LayerRun = { ...base, file: 'huge.json', results: at(base.results, 0, [1e308, 1e308, 1e308, 1e308, 1e308]) };
  const negative: LayerRun = { ...base, file: 'negative.json', results: at(base.results, 1, [-0.2, -0.18, -0.19]) };
  for (const [a, b, why] of [
    [base, huge, /B's median is Infinity|B\/A is Infinity|its interval is/],
    [huge, base, /B\/A is 1\.8\d*e-309/],
    [base, negative, /B's median is -0\.19/],
    [negative, base, /A's median is -0\.19/],
  ] as const) {
    const c = compareRuns(a, b);
    const bad = c.rows.filter((r) => r.verdict === 'unknown');
    assert.equal(bad.length, 1, `${a.file} against ${b.file}`);
    assert.match(bad[0]!.why!, why);
    assert.equal(c.rows.length - bad.length, base.results.length - 1, 'every other pair is compared as before');
    const text = formatComparison(c, 'md');
    const line = text.split('\n').find((l) => l.startsWith(`| ${bad[0]!.config} |`))!;
    // the B/A cell is a dash, the interval says why, the change says there is no ratio
    assert.match(line, /\| — \| none \((A|B)[^|]*\) \| no ratio \|$/, line);
    assert.doesNotMatch(line, /Infinity \||NaN|faster|slower/, line);
    assert.match(text, /1 without a computable ratio; geometric mean B\/A \d+\.\d{3}/, 'the mean is of the computable pairs');
    assert.deepEqual(regressions(c, 5), regressions({ ...c, rows: c.rows.filter((r) => r.verdict !== 'unknown') }, 5));
    assert.match(gateFailure(c, 5)!, /^1 configuration\(s\) without a computable ratio: .* ms per call \((A's median|B's median|B\/A|its interval) is /);
  }
  assert.equal(gateFailure(compareRuns(base, base), 5), null, 'a clean comparison passes');
});

test('the gate fails closed: nothing compared is exit 1 with the reason, though the comparison still prints', () => {
  const dir = tmpDir();
  const file = JSON.parse(fs.readFileSync(LAYERS, 'utf8')) as { results: LayerResult[] };
  const other = path.join(dir, 'heads8.json');
  fs.writeFileSync(other, JSON.stringify({ ...file, results: file.results.map((r) => ({ ...r, heads: 8 })) }));
  const gate = cli(['compare', LAYERS, other, '--fail-above', '5']);
  assert.equal(gate.status, 1, gate.stderr);
  assert.match(gate.stdout, /^0 compared: .*; 12 not comparable$/m);
  assert.match(gate.stderr, /^attnbench: nothing was compared \(12 not comparable\): no evidence is not a pass\n$/);
  const plain = cli(['compare', LAYERS, other]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout, gate.stdout);
  assert.equal(plain.stderr, '');
  // some compared beside some not comparable: those never count, and the gate judges the rest
  const mixed = compareRuns(base, { ...base, file: 'mixed.json', results: base.results.map((r, i) => (i < 4 ? { ...r, heads: 8 } : r)) });
  assert.equal(mixed.rows.length, base.results.length - 4);
  assert.equal(gateFailure(mixed, 5), null);
});

test('a file with a time that is 0, negative or absurd (1e308 ms) is refused by compare: exit 2, one line naming the file and the field', () => {
  const dir = tmpDir();
  const text = fs.readFileSync(LAYERS, 'utf8');
  const cases: [string, (f: { results: LayerResult[] }) => void, RegExp][] = [
    ['huge', (f) => (f.results[0]!.ms = { ...f.results[0]!.ms, median: 1e308, max: 1e308, samples: f.results[0]!.ms.samples.map(() => 1e308) }), /results\.0\.ms\.median: a measured time must be between 1 ns and a year .*; it is 1e\+308$/],
    ['negative', (f) => (f.results[3]!.ms.samples[1] = -0.122), /results\.3\.ms\.samples\.1: a measured time must be between .*; it is -0\.122$/],
    ['zero', (f) => (f.results[5]!.ms.min = 0), /results\.5\.ms\.min: a measured time .*; it is 0$/],
    ['zero speedup', (f) => (f.results[1]!.speedup!.low = 0), /results\.1\.speedup\.low: a ratio of two times must be between/],
  ];
  for (const [name, edit, message] of cases) {
    const f = JSON.parse(text) as { results: LayerResult[] };
    edit(f);
    const p = path.join(dir, `${name}.json`);
    fs.writeFileSync(p, JSON.stringify(f));
    const r = cli(['compare', LAYERS, p, '--fail-above', '5']);
    assert.equal(r.status, 2, `${name}: ${r.stdout}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`attnbench: error: ${p}: invalid at `), r.stderr);
    assert.match(lines[0]!, message);
  }
});
