/**
 * The report's tables, built once as plain cells and written twice: as markdown
 * (`summary.md`, for pasting into an issue or a README) and as HTML (`index.html`).
 */
import type { Environment, GenerateResult } from '../results/schema.ts';
import { rows as layerRows } from '../results/table.ts';
import type { Chart } from './charts.ts';
import { generateRuns, layerRuns, type GenerateRun, type LayerRun, type Run } from './load.ts';

export interface Table {
  title: string;
  /** A sentence under the title saying what the numbers are. */
  note?: string;
  head: string[];
  rows: string[][];
  /** Columns holding numbers (right-aligned). */
  numeric: number[];
}

const BASELINE = 'multi-head';
const fix = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? '' : v.toFixed(digits));
const times = (v: number | null) => (v === null ? '' : `${v.toFixed(2)}×`);

/** 1536 → "1.5 KiB": byte counts people can read. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

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
  return {
    title: 'Environment',
    note: 'Where and how each result file was measured.',
    head: ['', ...runs.map((r) => r.label)],
    rows: [['file', ...runs.map((r) => r.file)], ...fields.map((f) => [f, ...perRun.map((rows) => rows.find(([k]) => k === f)?.[1] ?? '')])],
    numeric: [],
  };
}

/** The seed's plots as a table: speedup of each variant over multi-head, per batch and length. */
function speedupTable(run: LayerRun): Table | null {
  const rs = layerRows(run.results);
  const variants = [...new Set(rs.map((r) => r.variant))].filter((v) => v !== BASELINE);
  if (!rs.some((r) => r.variant === BASELINE) || variants.length === 0) return null;
  const configs = [...new Map(rs.map((r) => [`${r.batch} ${r.seq}`, r])).values()].sort((a, b) => a.batch - b.batch || a.seq - b.seq);
  const find = (v: string, b: number, s: number) => rs.find((r) => r.variant === v && r.batch === b && r.seq === s);
  return {
    title: `Speedup over multi-head — ${run.label}`,
    note: 'Median time of multi-head / median time of the variant, same run; above 1× = faster.',
    head: ['batch', 'seq', 'multi-head ms', ...variants],
    rows: configs.map((c) => [String(c.batch), String(c.seq), fix(find(BASELINE, c.batch, c.seq)?.medianMs, 3), ...variants.map((v) => times(find(v, c.batch, c.seq)?.speedupVsMha ?? null))]),
    numeric: [0, 1, 2, ...variants.map((_, i) => 3 + i)],
  };
}

function layerTable(run: LayerRun): Table {
  return {
    title: `Layer results — ${run.label}`,
    note: 'Per configuration: median time per call with its spread over the repetitions, speedup over multi-head, achieved rates, and the share of time outside the kernels.',
    head: ['variant', 'batch', 'seq', 'kv heads', 'median ms', '± sd', 'min', 'max', 'n', '× vs MHA', 'GFLOP/s', '% matmul ceiling', 'GB/s', 'host %'],
    rows: layerRows(run.results).map((r, i) => [
      r.variant,
      String(r.batch),
      String(r.seq),
      String(r.kvHeads),
      fix(r.medianMs, 3),
      fix(r.stddevMs, 3),
      fix(r.minMs, 3),
      fix(run.results[i]!.totalMs.max, 3),
      String(r.n),
      times(r.speedupVsMha),
      fix(r.gflops, 1),
      fix(r.computePct, 0),
      fix(r.gbps, 1),
      fix(r.hostPct, 0),
    ]),
    numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  };
}

function failureTable(run: LayerRun): Table | null {
  if (run.failures.length === 0) return null;
  return {
    title: `Failed configurations — ${run.label}`,
    head: ['variant', 'batch', 'seq', 'error'],
    rows: run.failures.map((f) => [f.variant, String(f.batch), String(f.seq), f.error]),
    numeric: [1, 2],
  };
}

function generateTable(run: GenerateRun): Table {
  const g = (r: GenerateResult) => [
    r.attention,
    String(r.kvHeads),
    String(r.input_batch_size),
    String(r.input_batch_length),
    String(r.max_gen_length),
    String(r.num_beams),
    fix(r.prefillMs.median, 2),
    `${fix(r.decodeMsPerToken.median, 3)} ± ${fix(r.decodeMsPerToken.stddev, 3)}`,
    r.vsFloor === null ? '' : `${r.vsFloor.toFixed(1)}×`,
    fix(r.tokensPerSecond, 1),
    fix(r.decodeTokensPerSecond, 1),
    bytes(r.kvCacheBytes.measured),
    bytes(r.kvCacheBytes.predicted),
    bytes(r.peakRssBytes),
    times(r.speedupVsMha),
  ];
  return {
    title: `Generation results — ${run.label}`,
    note:
      'Per attention type: prompt processing (prefill), one decoding step (median ± sd, and how far above its roofline floor), ' +
      'throughput over the whole generation and of the decode steps alone, KV cache at the end (measured, predicted), peak memory, and the decode speedup over multi-head.',
    head: ['attention', 'kv heads', 'batch', 'prompt', 'generated', 'beams', 'prefill ms', 'decode ms/step', '× floor', 'tokens/s', 'decode tokens/s', 'KV cache', 'KV predicted', 'peak RSS', '× vs MHA'],
    rows: run.results.map(g),
    numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  };
}

/** Every table of the report, in reading order. */
export function buildTables(runs: readonly Run[]): Table[] {
  const out: Table[] = [environmentTable(runs)];
  for (const run of layerRuns(runs)) {
    const s = speedupTable(run);
    if (s) out.push(s);
    out.push(layerTable(run));
    const f = failureTable(run);
    if (f) out.push(f);
  }
  for (const run of generateRuns(runs)) out.push(generateTable(run));
  return out;
}

// ---------------------------------------------------------------------------
// Markdown

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(t: Table): string {
  const align = t.head.map((_, i) => (t.numeric.includes(i) ? '---:' : '---'));
  const line = (cells: readonly string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(t.head), `| ${align.join(' | ')} |`, ...t.rows.map(line)].join('\n');
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
