/**
 * What the page shows of a run and what it downloads: the CLI's tables (src/results/tables.ts)
 * with results that verified WRONG marked, the report's own charts (src/report/charts.ts,
 * drawn with the vega runtime the server serves), and the result file — validated by the
 * CLI's schema before anything is downloaded, every result against the run's final ceilings.
 */
import type { TopLevelSpec } from 'vega-lite';
import { variantLabel } from '../attention/spec.ts';
import type { DecodeConfig } from '../config/decode.ts';
import type { LayersConfig } from '../config/layers.ts';
import { decodeModel } from '../measure/decode.ts';
import { inGridOrder, validateGrid } from '../measure/sweep.ts';
import { buildCharts } from '../report/charts.ts';
import { underRoofline } from '../results/bounds.ts';
import type { Run } from '../results/io.ts';
import {
  DECODE_SCHEMA,
  DecodeResultFile,
  LAYERS_SCHEMA,
  LayerConfig,
  LayerResultFile,
  type DecodeFailure,
  type DecodeResult,
  type Failure,
  type LayerResult,
} from '../results/schema.ts';
import { decodeTable, layerTable } from '../results/tables.ts';
import { htmlTable, type Table } from '../table/table.ts';
import type { StoredRun } from './store.ts';

/** The charting runtime, loaded by index.html from the server (/lib/). */
declare const vega: { View: new (runtime: unknown, o: { renderer: string; container: HTMLElement; hover: boolean }) => { runAsync(): Promise<unknown> }; parse(spec: unknown): unknown };
declare const vegaLite: { compile(spec: TopLevelSpec): { spec: unknown } };

/** A stored run's result file (not yet validated). */
function fileOf(stored: StoredRun, config: Record<string, unknown>): unknown {
  const environment = stored.environment;
  const ceilings = environment?.ceilings ?? null;
  if (stored.kind === 'layers') {
    const c = config as LayersConfig;
    const variants = validateGrid(c);
    const grid = { variants, batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, mode: c.mode };
    return {
      schema: LAYERS_SCHEMA,
      environment,
      config: LayerConfig.parse({ ...c, variants: variants.map(variantLabel) }),
      results: inGridOrder(grid, stored.results as LayerResult[]).map((r) => underRoofline(r, ceilings)),
      failures: stored.failures as Failure[],
    };
  }
  const c = config as DecodeConfig;
  return {
    schema: DECODE_SCHEMA,
    environment,
    config: c,
    model: decodeModel(c),
    results: (stored.results as DecodeResult[]).map((r) => underRoofline(r, ceilings)),
    failures: stored.failures as DecodeFailure[],
  };
}

/** The result file, validated by the CLI's schema; throws (and nothing is downloaded) if it would not be valid. */
export function resultFile(stored: StoredRun, config: Record<string, unknown>): LayerResultFile | DecodeResultFile {
  const schema = stored.kind === 'layers' ? LayerResultFile : DecodeResultFile;
  const parsed = schema.safeParse(fileOf(stored, config));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`the result file would be invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}; nothing downloaded`);
  }
  return parsed.data;
}

/** The stored run as the report reads a file. */
export function asRun(file: LayerResultFile | DecodeResultFile, label: string): Run {
  if (file.schema === LAYERS_SCHEMA) return { kind: 'layers', file: label, label, environment: file.environment, ...(file.config ? { config: file.config } : {}), results: file.results, failures: file.failures };
  return { kind: 'decode', file: label, label, environment: file.environment, config: file.config, model: file.model, results: file.results, failures: file.failures };
}

/** The CLI's table of the run (and its failures), rows of WRONG results marked. */
export function renderTables(container: HTMLElement, run: Run): void {
  const tables: Table[] = [run.kind === 'decode' ? decodeTable(run.results, 'Decode-step results') : layerTable(run.kind === 'layers' ? run.results : [], 'Layer results')];
  const failures = run.kind === 'generate' ? [] : run.failures;
  if (failures.length) {
    tables.push({
      title: 'Failed',
      columns: [{ key: 'what', label: 'configuration' }, { key: 'error', label: 'error' }],
      rows: failures.map((f) => ({ what: 'seq' in f ? `${f.attention} b=${f.batch} s=${f.seq}` : `${f.attention} batch ${f.batch} context ${f.context}`, error: f.error })),
    });
  }
  container.innerHTML = tables.map((t) => `<h3>${t.title}</h3>${htmlTable(t)}`).join('\n');
  for (const td of container.querySelectorAll('td')) if (td.textContent?.startsWith('WRONG')) td.closest('tr')?.classList.add('wrong');
}

/** The report's charts of the run, drawn as the report's index.html draws them. */
export async function renderCharts(container: HTMLElement, run: Run): Promise<void> {
  container.replaceChildren();
  const charts = buildCharts([run]);
  await Promise.all(
    charts.map(async (c) => {
      const figure = document.createElement('figure');
      const el = document.createElement('div');
      el.dataset.chart = c.id;
      const caption = document.createElement('figcaption');
      caption.textContent = c.description;
      figure.append(el, caption);
      container.append(figure);
      await new vega.View(vega.parse(vegaLite.compile(c.spec).spec), { renderer: 'svg', container: el, hover: true }).runAsync();
      el.dataset.rendered = 'true';
    }),
  );
}
