/**
 * The report's tables, built once as typed tables and printed twice: as markdown
 * (`summary.md`, for pasting into an issue or a README) and as HTML (`index.html`). A table
 * of a large file prints at most thin.ts's MAX_ROWS rows, and its note says how many were
 * left out and which file holds them.
 */
import type { LayerRun, Run } from '../results/io.ts';
import type { Environment } from '../results/schema.ts';
import { peakNote } from '../roofline/probes.ts';
import { BASELINE, decodeTable, generationTable, layerTable, speedupText } from '../results/tables.ts';
import { escapeMarkdownText as md, markdownCode, markdownTable, type Column, type Table } from '../table/table.ts';
import { deviceLine, type Chart } from './chart-style.ts';
import { precisionNotes } from './precision-note.ts';
import { decodeRuns, generateRuns, shapeSections, type ShapeSection } from './sections.ts';
import { capRows } from './thin.ts';

const RESULT_UNITS: Record<Run['kind'], string> = { layers: 'layer configurations', generate: 'attention types', decode: 'decode steps (type × batch × context)' };

function environmentRows(env: Environment | null, run: Run): [string, string][] {
  if (!env) return [['recorded', 'no environment (a sweep journal holds results only)']];
  const c = env.ceilings;
  const note = c ? peakNote(c, ' GFLOP/s') : null;
  const peak = c?.peak && note ? `; ${note} (${c.peak.method})` : '';
  return [
    ['device', deviceLine(env)],
    ...(env.device.browser ? ([['browser', browserLine(env.device.browser)]] as [string, string][]) : []),
    ...(env.device.profiler ? ([['kernel times', env.device.profiler]] as [string, string][]) : []),
    ['cpu', env.cpu],
    ['cores / threads', env.cores === undefined ? 'not recorded' : `${env.cores} / ${env.threads ?? '?'}`],
    ['platform', env.platform],
    ['node / onnxruntime', `${env.node} / ${env.onnxruntime}`],
    ['graph optimisation', env.graphOpt],
    ['malloc', Object.entries(env.malloc).map(([k, v]) => `${k}=${v}`).join(' ') || 'default'],
    ['matmul ceiling', c ? `${c.matmulGflops.toFixed(1)} GFLOP/s (fastest sample of ${c.probes.length} probing(s))${peak}` : 'not measured'],
    ['read ceiling', c ? `${c.readGBps.toFixed(1)} GB/s (streaming read, fastest sample)` : 'not measured'],
    ['copy (JS)', c ? `${c.copyGBps.toFixed(1)} GB/s (read + write, fastest sample; not used by the floors)` : 'not measured'],
    ['git commit', env.gitCommit ?? 'unknown'],
    ['date', env.date],
    ...(env.importedFrom ? ([['imported from', env.importedFrom]] as [string, string][]) : []),
    ['results', `${run.results.length} ${RESULT_UNITS[run.kind]}`],
  ];
}

/** What a browser run says about the page: its user agent, isolation (threads), timer and build. */
function browserLine(b: NonNullable<Environment['device']['browser']>): string {
  const parts = [b.userAgent, `crossOriginIsolated ${b.crossOriginIsolated}`];
  if (b.timerStepMs !== undefined) parts.push(`timer step ${b.timerStepMs} ms`);
  if (b.build) parts.push(`onnxruntime-web ${b.build}`);
  if (b.headless !== undefined) parts.push(b.headless ? 'headless' : 'run by hand');
  return parts.join('; ');
}

/** One column per run, one row per environment field. */
function environmentTable(runs: readonly Run[]): Table {
  const perRun = runs.map((r) => environmentRows(r.environment, r));
  const fields = [...new Set(perRun.flatMap((rows) => rows.map(([k]) => k)))];
  const columns: Column[] = [{ key: 'field', label: '' }, ...runs.map((r, i) => ({ key: `run${i}`, label: r.label }))];
  const row = (field: string, values: string[]) => Object.fromEntries([['field', field], ...values.map((v, i) => [`run${i}`, v])]);
  return {
    title: 'Environment',
    note: 'Where and how each result file was measured.',
    columns,
    rows: [row('file', runs.map((r) => r.file)), ...fields.map((f) => row(f, perRun.map((rows) => rows.find(([k]) => k === f)?.[1] ?? '')))],
  };
}

/** `table` with `note` (what a capped table left out) added to its own. */
const noted = (table: Table, note: string | null): Table => (note ? { ...table, note: table.note ? `${table.note} ${note}` : note } : table);

/** The seed's plots as a table: speedup of each variant over multi-head, per batch and length. */
function speedupTable(run: LayerRun, of: string): Table | null {
  const rs = run.results;
  const variants = [...new Set(rs.map((r) => r.attention))].filter((v) => v !== BASELINE);
  if (!rs.some((r) => r.attention === BASELINE) || variants.length === 0) return null;
  const all = [...new Map(rs.map((r) => [`${r.batch} ${r.seq}`, r])).values()].sort((a, b) => a.batch - b.batch || a.seq - b.seq);
  const capped = capRows(all, run.file);
  const configs = capped.rows;
  // looked up, not searched: a search per cell was quadratic in the results
  const key = (v: string, b: number, s: number) => JSON.stringify([v, b, s]);
  const byKey = new Map<string, (typeof rs)[number]>();
  for (const r of rs) if (!byKey.has(key(r.attention, r.batch, r.seq))) byKey.set(key(r.attention, r.batch, r.seq), r);
  const find = (v: string, b: number, s: number) => byKey.get(key(v, b, s));
  return noted({
    title: `Speedup over multi-head — ${of}`,
    note: 'Median time of multi-head / median time of the variant, measured in the same rounds, with its 95 % interval; above 1 = faster. A variant whose output verified wrong has none.',
    columns: [
      { key: 'batch', label: 'batch', numeric: true },
      { key: 'seq', label: 'seq', numeric: true },
      { key: 'baselineMs', label: 'multi-head ms', numeric: true, digits: 3 },
      // keyed by position, not by name: a variant called "batch" or "__proto__" must not land on another column
      ...variants.map((v, i) => ({ key: `speedup${i}`, label: v })),
    ],
    rows: configs.map((c) => {
      const at = (v: string) => find(v, c.batch, c.seq);
      return { batch: c.batch, seq: c.seq, baselineMs: at(BASELINE)?.ms.median ?? null, ...Object.fromEntries(variants.map((v, i) => [`speedup${i}`, speedupText(at(v)?.speedup ?? null)])) };
    }),
  }, capped.note);
}

function failureTable(run: LayerRun, of: string): Table | null {
  if (run.failures.length === 0) return null;
  const capped = capRows(run.failures, run.file);
  return noted({
    title: `Failed configurations — ${of}`,
    columns: [
      { key: 'variant', label: 'variant' },
      { key: 'batch', label: 'batch', numeric: true },
      { key: 'seq', label: 'seq', numeric: true },
      { key: 'error', label: 'error' },
    ],
    rows: capped.rows.map((f) => ({ ...f })),
  }, capped.note);
}

/** What a table's title adds for a run on a software adapter (SwiftShader, lavapipe): its times are no GPU's. */
const softwareMark = (run: Run) => (run.environment?.device.software ? " — SOFTWARE adapter: not a GPU's speed" : '');

/** Every table of the report, in reading order: the layer tables of each shape, then the generation tables. */
export function buildTables(runs: readonly Run[]): Table[] {
  const out: Table[] = [environmentTable(runs)];
  const sections = shapeSections(runs);
  for (const section of sections) {
    for (const run of section.runs) {
      // in a report of several layer shapes, each table names the shape it belongs to
      const of = (sections.length > 1 ? `${run.label} (${section.title})` : run.label) + softwareMark(run);
      const s = speedupTable(run, of);
      if (s) out.push(s);
      const results = capRows(run.results, run.file);
      out.push(noted(layerTable(results.rows, `Layer results — ${of}`), results.note));
      const f = failureTable(run, of);
      if (f) out.push(f);
    }
  }
  for (const run of generateRuns(runs)) out.push(generationTable(run, `Generation results — ${run.label}${softwareMark(run)}`));
  for (const run of decodeRuns(runs)) {
    const results = capRows(run.results, run.file);
    out.push(noted(decodeTable(results.rows, `Decode-step results — ${run.label}${softwareMark(run)}`), results.note));
    if (run.failures.length) {
      const failures = capRows(run.failures, run.file);
      out.push(
        noted(
          {
            title: `Failed decode configurations — ${run.label}`,
            columns: [{ key: 'attention', label: 'attention' }, { key: 'batch', label: 'batch', numeric: true }, { key: 'context', label: 'context', numeric: true }, { key: 'error', label: 'error' }],
            rows: failures.rows.map((f) => ({ ...f })),
          },
          failures.note,
        ),
      );
    }
  }
  return out;
}

/**
 * Why a report of several layer shapes draws each in a section of its own (null for one shape):
 * a layer with other heads, head size or mode does other work.
 */
export function shapesNote(sections: readonly ShapeSection[]): string | null {
  if (sections.length < 2) return null;
  return (
    `These results measure ${sections.length} different attention layers (${sections.map((s) => s.title).join('; ')}). ` +
    'Each is drawn in a section of its own, not on shared axes: a layer with other heads, another head size or another mode does different work, ' +
    'so its times, speedups and roofline points beside another layer\'s would compare different computations, not the attention layouts.'
  );
}

export function summaryMarkdown(runs: readonly Run[], tables: readonly Table[], charts: readonly Chart[], generated: string): string {
  const note = shapesNote(shapeSections(runs));
  const parts = [
    '# attnbench report',
    // file names, run labels and variant names are data: shown as text, never read as markdown or HTML
    `Generated ${md(generated)} from ${runs.map((r) => markdownCode(r.file)).join(', ')}.`,
    ...(note ? [md(note)] : []),
    // a run of several dtype combinations: which was fastest, and what its precision costs
    ...precisionNotes(runs).map(md),
    ...tables.flatMap((t) => [`## ${md(t.title)}`, ...(t.note ? [md(t.note)] : []), markdownTable(t)]),
    '## Charts',
    ...charts.map((c) => `### ${md(c.title)}\n\n${md(c.description)}\n\n![${md(c.title).replace(/[[\]]/g, '\\$&')}](${encodeURI(`${c.id}.png`)})`),
  ];
  return parts.join('\n\n') + '\n';
}
