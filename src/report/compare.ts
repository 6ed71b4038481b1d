/**
 * `attnbench compare A B`: per configuration present in both runs, the ratio B/A of the
 * median times, each side's spread, and whether the change stands out of the noise.
 *
 * Noise: with cv = stddev / median of each side, the band is 2·√(cv_A² + cv_B²), about two
 * standard deviations of the ratio. B is "slower" when B/A > 1 + band and "faster" when
 * B/A < 1 / (1 + band); anything else is within the noise. A side with one repetition
 * (an imported seed result) has no spread, so every change of it counts.
 */
import { UsageError } from '../core/errors.ts';
import type { Run } from '../results/io.ts';
import { markdownTable, type Table } from '../table/table.ts';
import type { Summary } from '../timing/stats.ts';

export type Verdict = 'slower' | 'faster' | 'same';

export interface CompareRow {
  config: string;
  metric: string;
  a: Summary;
  b: Summary;
  ratio: number;
  /** Half-width of the noise band around 1 (0.05 = ±5 %). */
  noise: number;
  verdict: Verdict;
}

export interface Comparison {
  a: string;
  b: string;
  rows: CompareRow[];
  onlyA: string[];
  onlyB: string[];
}

interface Measured {
  /** What must be equal for two results to be compared. */
  key: string;
  /** How the row is named. */
  config: string;
  metric: string;
  s: Summary;
}

function measured(run: Run): Measured[] {
  if (run.kind === 'layers') {
    return run.results.map((r) => ({
      key: `${r.variant}|${r.mode}|${r.heads}|${r.headDim}|${r.batch}|${r.seq}`,
      config: `${r.variant} batch ${r.batch} seq ${r.seq}`,
      metric: 'ms per call',
      s: r.totalMs,
    }));
  }
  if (run.kind === 'decode') {
    const m = run.model;
    return run.results.map((r) => ({
      key: `${r.attention}|${m.layers}|${m.hidden}|${m.heads}|${m.vocab}|${r.batch}|${r.context}`,
      config: `${r.attention} batch ${r.batch} context ${r.context}`,
      metric: 'ms per decode step',
      s: r.stepMs,
    }));
  }
  const { config: c, resolved: p } = run;
  return run.results.flatMap((r) => {
    const shape = `${r.attention} batch ${p.batch} prompt ${p.promptLength} gen ${p.promptLength + p.maxNewTokens}${c.numBeams > 1 ? ` beams ${c.numBeams}` : ''}`;
    const key = `${r.attention}|${p.batch}|${p.promptLength}|${p.promptLength + p.maxNewTokens}|${c.numBeams}|${c.doSample}|${c.kvCache}`;
    return [
      { key: `${key}|decode`, config: shape, metric: 'decode ms/step', s: r.decodeMsPerToken },
      { key: `${key}|prefill`, config: shape, metric: 'prefill ms', s: r.prefillMs },
      { key: `${key}|generate`, config: shape, metric: 'generation s', s: r.generateSeconds },
    ];
  });
}

const cv = (s: Summary) => (s.median > 0 ? s.stddev / s.median : 0);

export function compareRuns(a: Run, b: Run): Comparison {
  if (a.kind !== b.kind) throw new UsageError(`${b.file}: is a ${b.kind} result but ${a.file} is a ${a.kind} result; compare files of one kind`);
  const ma = measured(a);
  const mb = new Map(measured(b).map((m) => [m.key, m]));
  const rows: CompareRow[] = [];
  for (const x of ma) {
    const y = mb.get(x.key);
    if (!y) continue;
    if (x.s.median <= 0) throw new UsageError(`${a.file}: ${x.config} has a median of ${x.s.median}; cannot take a ratio`);
    const ratio = y.s.median / x.s.median;
    const noise = 2 * Math.hypot(cv(x.s), cv(y.s));
    const verdict: Verdict = ratio > 1 + noise ? 'slower' : ratio < 1 / (1 + noise) ? 'faster' : 'same';
    rows.push({ config: x.config, metric: x.metric, a: x.s, b: y.s, ratio, noise, verdict });
  }
  const keysA = new Set(ma.map((m) => m.key));
  const onlyA = [...new Set(ma.filter((m) => !mb.has(m.key)).map((m) => m.config))];
  const onlyB = [...new Set([...mb.values()].filter((m) => !keysA.has(m.key)).map((m) => m.config))];
  if (rows.length === 0) throw new UsageError(`${b.file}: no configuration in common with ${a.file}`);
  return { a: a.file, b: b.file, rows, onlyA, onlyB };
}

/** Rows where B got slower than A by more than `pct` percent, beyond the noise. */
export const regressions = (c: Comparison, pct: number) => c.rows.filter((r) => r.verdict === 'slower' && (r.ratio - 1) * 100 > pct);

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const spread = (s: Summary) => (s.n > 1 ? `±${pct(cv(s))} (n ${s.n})` : 'n 1');
const MARK: Record<Verdict, string> = { slower: 'slower', faster: 'faster', same: '' };

export function summaryLine(c: Comparison): string {
  const count = (v: Verdict) => c.rows.filter((r) => r.verdict === v).length;
  const geo = Math.exp(c.rows.reduce((s, r) => s + Math.log(r.ratio), 0) / c.rows.length);
  const missing = [c.onlyA.length ? `${c.onlyA.length} only in A` : '', c.onlyB.length ? `${c.onlyB.length} only in B` : ''].filter(Boolean);
  return (
    `${c.rows.length} compared: ${count('slower')} slower and ${count('faster')} faster beyond the noise, ${count('same')} within it; ` +
    `geometric mean B/A ${geo.toFixed(3)}${missing.length ? `; ${missing.join(', ')}` : ''}`
  );
}

/** The comparison as a table: both medians and spreads, the ratio, the noise band and the verdict. */
export function comparisonTable(c: Comparison): Table {
  const num = (key: string, label: string, digits?: number) => ({ key, label, numeric: true, ...(digits === undefined ? {} : { digits }) });
  return {
    title: `${c.b} against ${c.a}`,
    columns: [{ key: 'config', label: 'configuration' }, { key: 'metric', label: 'metric' }, num('aMedian', 'A median', 3), num('aSpread', 'A spread'), num('bMedian', 'B median', 3), num('bSpread', 'B spread'), num('ratio', 'B/A', 3), num('noise', 'noise'), { key: 'change', label: 'change' }],
    rows: c.rows.map((r) => ({ config: r.config, metric: r.metric, aMedian: r.a.median, aSpread: spread(r.a), bMedian: r.b.median, bSpread: spread(r.b), ratio: r.ratio, noise: `±${pct(r.noise)}`, change: MARK[r.verdict] })),
  };
}

export function formatComparison(c: Comparison, format: 'md' | 'json'): string {
  if (format === 'json') return JSON.stringify(c, null, 2) + '\n';
  return [`A: ${c.a}`, `B: ${c.b}`, '', markdownTable(comparisonTable(c)), '', summaryLine(c)].join('\n') + '\n';
}
