/**
 * The report's tables, built once as typed tables and printed twice: as markdown
 * (`summary.md`, for pasting into an issue or a README) and as HTML (`index.html`).
 */
import type { Environment } from '../results/schema.ts';
import { BASELINE, generationTable, layerTable, speedupVsBaseline } from '../results/tables.ts';
import { markdownTable, type Column, type Table } from '../table/table.ts';
import type { Chart } from './charts.ts';
import { generateRuns, layerRuns } from './load.ts';
import { type LayerRun, type Run } from '../results/io.ts';

function environmentRows(env: Environment | null, run: Run): [string, string][] {
  if (!env) return [['recorded', 'no environment (a sweep journal holds results only)']];
  const c = env.ceilings;
  return [
    ['device', env.device],
    ['cpu', env.cpu],
    ['cores / threads', env.cores === undefined ? 'not recorded' : `${env.cores} / ${env.threads ?? '?'}`],
    ['platform', env.platform],
    ['node / onnxruntime', `${env.node} / ${env.onnxruntime}`],
    ['graph optimisation', env.graphOpt],
    ['malloc', Object.entries(env.malloc).map(([k, v]) => `${k}=${v}`).join(' ') || 'default'],
    ['matmul ceiling', c ? `${c.matmulGflops.median.toFixed(1)} GFLOP/s (median of ${c.matmulGflops.n})` : 'not measured'],
    ['copy ceiling', c ? `${c.copyGBps.median.toFixed(1)} GB/s (median of ${c.copyGBps.n})` : 'not measured'],
    ['git commit', env.gitCommit ?? 'unknown'],
    ['date', env.date],
    ...(env.importedFrom ? ([['imported from', env.importedFrom]] as [string, string][]) : []),
    ['results', `${run.results.length} ${run.kind === 'layers' ? 'layer configurations' : 'attention types'}`],
  ];
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

/** The seed's plots as a table: speedup of each variant over multi-head, per batch and length. */
function speedupTable(run: LayerRun): Table | null {
  const rs = run.results;
  const variants = [...new Set(rs.map((r) => r.variant))].filter((v) => v !== BASELINE);
  if (!rs.some((r) => r.variant === BASELINE) || variants.length === 0) return null;
  const configs = [...new Map(rs.map((r) => [`${r.batch} ${r.seq}`, r])).values()].sort((a, b) => a.batch - b.batch || a.seq - b.seq);
  const find = (v: string, b: number, s: number) => rs.find((r) => r.variant === v && r.batch === b && r.seq === s);
  return {
    title: `Speedup over multi-head — ${run.label}`,
    note: 'Median time of multi-head / median time of the variant, same run; above 1 = faster.',
    columns: [
      { key: 'batch', label: 'batch', numeric: true },
      { key: 'seq', label: 'seq', numeric: true },
      { key: 'baselineMs', label: 'multi-head ms', numeric: true, digits: 3 },
      ...variants.map((v) => ({ key: v, label: v, numeric: true, digits: 2 })),
    ],
    rows: configs.map((c) => {
      const at = (v: string) => find(v, c.batch, c.seq);
      const speedup = (v: string) => {
        const r = at(v);
        return r ? speedupVsBaseline(rs, r) : null;
      };
      return { batch: c.batch, seq: c.seq, baselineMs: at(BASELINE)?.totalMs.median ?? null, ...Object.fromEntries(variants.map((v) => [v, speedup(v)])) };
    }),
  };
}

function failureTable(run: LayerRun): Table | null {
  if (run.failures.length === 0) return null;
  return {
    title: `Failed configurations — ${run.label}`,
    columns: [
      { key: 'variant', label: 'variant' },
      { key: 'batch', label: 'batch', numeric: true },
      { key: 'seq', label: 'seq', numeric: true },
      { key: 'error', label: 'error' },
    ],
    rows: run.failures.map((f) => ({ ...f })),
  };
}

/** Every table of the report, in reading order. */
export function buildTables(runs: readonly Run[]): Table[] {
  const out: Table[] = [environmentTable(runs)];
  for (const run of layerRuns(runs)) {
    const s = speedupTable(run);
    if (s) out.push(s);
    out.push(layerTable(run.results, `Layer results — ${run.label}`));
    const f = failureTable(run);
    if (f) out.push(f);
  }
  for (const run of generateRuns(runs)) out.push(generationTable(run, `Generation results — ${run.label}`));
  return out;
}

export function summaryMarkdown(runs: readonly Run[], tables: readonly Table[], charts: readonly Chart[], generated: string): string {
  const parts = [
    '# attnbench report',
    `Generated ${generated} from ${runs.map((r) => `\`${r.file}\``).join(', ')}.`,
    ...tables.flatMap((t) => [`## ${t.title}`, ...(t.note ? [t.note] : []), markdownTable(t)]),
    '## Charts',
    ...charts.map((c) => `### ${c.title}\n\n${c.description}\n\n![${c.title}](${c.id}.png)`),
  ];
  return parts.join('\n\n') + '\n';
}
