/**
 * `attnbench report` as a typed API: read the files, draw every chart, build the page and
 * the markdown, and only then write, each file atomically — bad input or a failed
 * rendering leaves the output folder as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';
import { checkOutputFolder } from '../core/outputs.ts';
import type { Run } from '../results/io.ts';
import { buildCharts } from './charts.ts';
import { reportHtml, type PageChart } from './html.ts';
import { loadRuns } from './load.ts';
import { toPng, toSvg, toVega } from './render.ts';
import { buildTables, summaryMarkdown } from './summary.ts';

/** File name → contents, everything the report folder receives. */
export type ReportFiles = Map<string, string | Uint8Array>;

export async function buildReport(runs: readonly Run[], generated = new Date().toISOString()): Promise<ReportFiles> {
  const files: ReportFiles = new Map();
  const charts: PageChart[] = [];
  for (const chart of buildCharts(runs)) {
    const vega = toVega(chart.spec);
    const svg = await toSvg(vega);
    files.set(`${chart.id}.svg`, svg);
    files.set(`${chart.id}.png`, toPng(svg));
    charts.push({ ...chart, vega });
  }
  const tables = buildTables(runs);
  files.set('index.html', reportHtml(runs, tables, charts, generated));
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

/** Read `inputs`, write the report into `dir`; returns the path of its index.html. */
export async function report(inputs: readonly string[], dir: string): Promise<string> {
  checkOutputFolder('--out', dir);
  const files = await buildReport(loadRuns(inputs));
  writeReport(files, dir);
  return path.join(dir, 'index.html');
}
