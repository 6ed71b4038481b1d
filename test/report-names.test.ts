/**
 * Reports draw any valid name: variants and attention types named like an object's own
 * properties (`constructor`, `toString`, `__proto__`), like a Vega keyword (`if`), or holding
 * U+2028, quotes, dots, brackets or backslashes; markdown cells escape line breaks, pipes and
 * HTML; a file given twice (through a symlink, or as ./x and x) is refused.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { buildCharts } from '../src/report/charts.ts';
import { loadRuns } from '../src/report/load.ts';
import { safeExpression, toSvg, toVega } from '../src/report/render.ts';
import { buildReport } from '../src/report/report.ts';
import { buildTables } from '../src/report/summary.ts';
import { markdownCode, markdownTable } from '../src/table/table.ts';
import { cli, ROOT, tmpDir } from './helpers.ts';

const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');
const GENERATE = path.join(ROOT, 'test/fixtures/generate.json');

const NAMES = ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty', 'if', 'line\u2028separator', 'para\u2029graph', 'say "hi"', "it's", 'a.b', 'a[0]', 'back\\slash', 'batch', '<b>bold</b>'];

/** The fixtures with one layer variant and one attention type renamed to `name`. */
function renamed(name: string): string[] {
  const dir = tmpDir();
  const layers = JSON.parse(fs.readFileSync(LAYERS, 'utf8'));
  for (const r of layers.results) if (r.attention === 'multi-query-1') r.attention = name;
  const gen = JSON.parse(fs.readFileSync(GENERATE, 'utf8'));
  for (const r of gen.results) if (r.attention === 'multi-query') r.attention = name;
  const files = [path.join(dir, 'layers.json'), path.join(dir, 'generate.json')];
  fs.writeFileSync(files[0]!, JSON.stringify(layers));
  fs.writeFileSync(files[1]!, JSON.stringify(gen));
  return files;
}

/** Text as Vega writes it into an SVG text element (quotes are escaped only in attributes). */
const inSvg = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

test('every chart is drawn whatever the variant or attention type is called, and shows the name', async () => {
  for (const name of NAMES) {
    const runs = loadRuns(renamed(name));
    const charts = buildCharts(runs);
    assert.equal(charts.length, 10, name);
    const svgs = new Map<string, string>();
    for (const c of charts) svgs.set(c.id, await toSvg(toVega(c.spec)));
    // the legend of a layer chart and the axis of a generation bar chart name it
    assert.ok(svgs.get('speedup-batch-2')!.includes(`>${inSvg(name)}</text>`), `${JSON.stringify(name)} in the speedup legend`);
    assert.ok(svgs.get('tokens-per-second')!.includes(`>${inSvg(name)}</text>`), `${JSON.stringify(name)} on the throughput axis`);
  }
  // the whole report of the nastiest, end to end
  const out = path.join(tmpDir(), 'report');
  const r = cli(['report', ...renamed('constructor'), '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(out, 'speedup-batch-2.png')));
});

test('the rewrite of Vega expressions changes only the literals Vega would misread', () => {
  assert.equal(safeExpression('indexof(["multi-head","constructor"], datum["variant"])'), 'indexof(["multi-head",("constructo"+"r")], datum["variant"])');
  assert.equal(safeExpression("datum['constructor'] === 'if'"), `datum['constructor'] === ("i"+"f")`, 'member access is left alone');
  assert.equal(safeExpression('"a\u2028b" + "x"'), '"a\\u2028b" + "x"');
  assert.equal(safeExpression('"say \\"hi\\"" === datum.v'), '"say \\"hi\\"" === datum.v');
});

test('a variant named like a column keeps its own column in the speedup table', () => {
  const tables = buildTables(loadRuns([renamed('batch')[0]!]));
  const speedup = tables.find((t) => t.title.startsWith('Speedup over multi-head'))!;
  const batchCol = speedup.columns.filter((c) => c.label === 'batch');
  assert.equal(batchCol.length, 2, 'the batch column and the variant called batch');
  for (const row of speedup.rows) {
    assert.ok(row.batch === 2 || row.batch === 4, 'the batch column still holds the batch');
    assert.match(String(row[batchCol[1]!.key]), /^\d+\.\d\d \[\d+\.\d\d–\d+\.\d\d\]$/, "the variant's speedup with its interval");
  }
});

/** The cells of a markdown table row as GitHub splits it: at pipes not escaped by a backslash. */
function cells(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 1; i < line.length - 1; i++) {
    if (line[i] === '\\') {
      cur += line[i]! + (line[i + 1] ?? '');
      i++;
    } else if (line[i] === '|') {
      out.push(cur.trim());
      cur = '';
    } else cur += line[i];
  }
  out.push(cur.trim());
  return out;
}

test('markdown cells escape line breaks, pipes, backslashes and HTML', () => {
  const nasty = ['two\rlines', 'a|b', '<script>alert(1)</script>', 'AT&T', 'ends with \\', 'x\u2028y', 'p\np'];
  const text = markdownTable({ title: '', columns: [{ key: 'v', label: 'value' }, { key: 'n', label: 'n', numeric: true }], rows: nasty.map((v, i) => ({ v, n: i })) });
  const lines = text.split('\n');
  assert.equal(lines.length, 2 + nasty.length, 'one line per row: no cell breaks its line');
  lines.slice(2).forEach((line, i) => {
    const c = cells(line);
    assert.equal(c.length, 2, `${JSON.stringify(nasty[i])}: two cells`);
    assert.equal(c[1], String(i));
  });
  assert.ok(!/<script|<\/script/.test(text), 'no raw HTML');
  assert.match(text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(text, /AT&amp;T/);
  assert.match(text, /\| a\\\|b \|/);
  assert.match(text, /\| ends with \\\\ \|/);
  assert.equal(markdownCode('a`b'), '``a`b``');
});

test('summary.md shows file names and labels as text', async () => {
  const dir = tmpDir();
  const nasty = path.join(dir, '<img src=x onerror=alert(1)>.json');
  fs.copyFileSync(LAYERS, nasty);
  const files = await buildReport(loadRuns([nasty]));
  const md = files.get('summary.md') as string;
  // in a code span (the file list) markdown shows text literally; everywhere else it must be escaped
  const outsideCode = md.replace(/(`+)[^`]*?\1/g, '');
  assert.ok(!outsideCode.includes('<img'), 'no raw HTML from a file name');
  assert.match(md, /Generated .* from `[^`]*<img src=x onerror=alert\(1\)>\.json`\./);
  assert.match(md, /## Layer results — &lt;img src=x onerror=alert\(1\)&gt;/);
});

test('the same file given twice, through a symlink or as ./x and x, is refused', () => {
  const dir = tmpDir();
  const link = path.join(dir, 'link.json');
  fs.symlinkSync(LAYERS, link);
  assert.throws(() => loadRuns([LAYERS, link]), (e: Error) => e instanceof UsageError && e.message === `${link}: is the same file as ${LAYERS} (given twice)`);
  const rel = path.relative(process.cwd(), LAYERS);
  assert.throws(() => loadRuns([rel, `./${rel}`]), /is the same file as/);
  assert.throws(() => loadRuns([LAYERS, LAYERS]), /layers\.json: given twice/);
  const r = cli(['report', LAYERS, link, '--out', path.join(dir, 'report')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^attnbench: error: .*link\.json: is the same file as .*layers\.json \(given twice\)\n$/);
});
