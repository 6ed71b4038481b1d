/**
 * `attnbench report` as a typed API: read the files, draw every chart, build the page and
 * the markdown, and only then write, each file atomically — bad input or a failed
 * rendering leaves the output folder as it was.
 *
 * Drawing is synchronous work (Vega's layout and SVG) that would keep the event loop, and
 * with it a signal's handler, waiting until the end: so the work is done in pieces of well
 * under a second each (a chart of a large file is drawn within thin.ts's budget), with the
 * event loop let through between them, and PNGs are rasterised off the main thread; SIGINT
 * or SIGTERM ends a report within a second, its temporary files removed (core/cleanup.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { UsageError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';
import { checkOutputFolder } from '../core/outputs.ts';
import type { Run } from '../results/io.ts';
import { buildCharts } from './charts.ts';
import { reportHtml, type PageChart } from './html.ts';
import { loadRuns } from './load.ts';
import { toPngAsync, toSvg, toVega } from './render.ts';
import { buildTables, summaryMarkdown } from './summary.ts';

/** File name → contents, everything the report folder receives. */
export type ReportFiles = Map<string, string | Uint8Array>;

export interface ReportOptions {
  /** Where progress lines go (one when the input is read, one per chart drawn); none by default. */
  log?: (line: string) => void;
}

export async function buildReport(runs: readonly Run[], generated = new Date().toISOString(), o: ReportOptions = {}): Promise<ReportFiles> {
  const files: ReportFiles = new Map();
  const charts: PageChart[] = [];
  const specs = buildCharts(runs);
  for (const [i, chart] of specs.entries()) {
    // between each piece of synchronous work, the event loop runs: a signal is handled here
    await nextTurn();
    const vega = toVega(chart.spec);
    await nextTurn();
    const svg = await toSvg(vega);
    files.set(`${chart.id}.svg`, svg);
    files.set(`${chart.id}.png`, await toPngAsync(svg));
    charts.push({ ...chart, vega });
    o.log?.(`report: drew ${chart.id} (${i + 1} of ${specs.length})`);
  }
  await nextTurn();
  const tables = buildTables(runs);
  await nextTurn();
  files.set('index.html', reportHtml(runs, tables, charts, generated));
  await nextTurn();
  files.set('summary.md', summaryMarkdown(runs, tables, charts, generated));
  return files;
}

export function writeReport(files: ReportFiles, dir: string): void {
  checkOutputFolder('--out', dir);
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, data] of files) writeFileAtomic(path.join(dir, name), data);
  } catch (e) {
    // nothing measured is lost: the report can be drawn again from its input files
    throw new UsageError(`${dir}: cannot write the report (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/**
 * Read `inputs`, write the report into `dir`; returns the path of its index.html. The
 * inputs are read before the output folder is checked: reading a large file is seconds of
 * synchronous work, and until the check (whose probe file registers its cleanup, and with it
 * the signal handlers) a signal ends the process at once.
 */
export async function report(inputs: readonly string[], dir: string, o: ReportOptions = {}): Promise<string> {
  const runs = loadRuns(inputs);
  checkOutputFolder('--out', dir);
  const results = runs.reduce((n, r) => n + r.results.length, 0);
  o.log?.(`report: read ${results.toLocaleString('en-US')} result(s) from ${runs.length} file(s); drawing into ${dir}`);
  const files = await buildReport(runs, undefined, o);
  writeReport(files, dir);
  return path.join(dir, 'index.html');
}
