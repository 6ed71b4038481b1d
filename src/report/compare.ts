/**
 * `attnbench compare A B`: per configuration present in both runs, the ratio B/A of the
 * median times with its 95 % confidence interval, each side's spread, and whether the change
 * stands out of the noise.
 *
 * What is compared: a configuration is the same only if everything that decides its work is.
 * Layer results: variant, mode, heads, head size, batch, sequence length. Generation results:
 * the attention type and its K/V heads, the whole model shape (layers, hidden, heads, vocab,
 * positions, MLP width) and the run's settings (batch, prompt and new tokens, beams,
 * sampling, KV cache). A configuration found in both files under the same name but differing
 * in any of these is listed as not comparable, with what differs, and never fails the gate.
 *
 * The noise: the interval of median(B) / median(A) by the percentile bootstrap, each side
 * resampled on its own (`ratioInterval`, unpaired: two separate runs). B is slower when the
 * whole interval lies above 1, faster when it lies below 1, and within the noise otherwise.
 * A side with one sample (an imported seed result) has no interval: the ratio is judged as a
 * point estimate, and the row says so. A summary recorded without its samples (the decode
 * step's, pooled over every step) gets the normal approximation of each median's standard
 * error, 1.2533·sd/√n, combined on the log scale.
 *
 * The gate fails closed: with `--fail-above` a comparison that compared nothing, or a pair
 * whose ratio or interval cannot be computed (a median of 0, below 0 or not finite, or a ratio
 * outside the range the result files' time rule allows: what the reader refuses in files, but a
 * caller of the API can still pass), fails as a regression does — no evidence is never a pass.
 * Such a pair is shown as having no ratio, never as a speed.
 */
import { UsageError } from '../core/errors.ts';
import type { Comparison as ComparisonRecord } from '../results/comparison.ts';
import type { Run } from '../results/io.ts';
import { RATIO_RANGE } from '../results/schema.ts';
import { markdownTable, type Table } from '../table/table.ts';
import { ratioInterval } from '../timing/interval.ts';
import type { Summary } from '../timing/stats.ts';

/** `unknown`: no ratio could be computed (the row's `why` says what was wrong). */
export type Verdict = 'slower' | 'faster' | 'same' | 'unknown';

/** How a row's interval was obtained. */
export type IntervalMethod = 'bootstrap' | 'normal approximation' | 'point estimate';

export interface CompareRow {
  config: string;
  metric: string;
  a: Summary;
  b: Summary;
  ratio: number;
  /** Bounds of the 95 % interval of B/A (both equal to the ratio for a point estimate). */
  low: number;
  high: number;
  method: IntervalMethod;
  verdict: Verdict;
  /** Why there is no ratio (verdict `unknown`): "B's median is 1e+308". */
  why?: string;
}

/** A configuration named alike in both files that does different work in each. */
export interface NotComparable {
  config: string;
  metric: string;
  /** What differs, e.g. "hidden 256 in A, 512 in B". */
  differs: string[];
}

export interface Comparison {
  a: string;
  b: string;
  rows: CompareRow[];
  notComparable: NotComparable[];
  onlyA: string[];
  onlyB: string[];
}

type FieldValue = string | number | boolean | null;

interface Measured {
  /** Names the configuration across files (the attention type or variant and the metric). */
  name: string;
  /** Everything that decides the work; two measurements are compared only if all of it is equal. */
  fields: Map<string, FieldValue>;
  config: string;
  metric: string;
  s: Summary;
}

const fieldMap = (entries: [string, FieldValue][]) => new Map<string, FieldValue>(entries);
const keyOf = (m: Measured) => JSON.stringify([m.name, [...m.fields]]);

/** The dtypes of a record as a configuration names them: nothing for float32 (as every file before them), else "int4 weights, int8 cache". */
function dtypesText(weightDtype: string, kvDtype: string | undefined): string {
  const parts = [...(weightDtype !== 'float32' ? [`${weightDtype} weights`] : []), ...(kvDtype && kvDtype !== 'float32' ? [`${kvDtype} cache`] : [])];
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * A comparison record (comparison.ts) as a measurement: named by its type, dtypes, batch and
 * `length`, comparable where every one of `fields` is equal. The dtypes are part of the name:
 * an int4 run is another configuration than a float32 one, never a slower or faster version of it.
 */
const ofRecord = (r: ComparisonRecord & { kvDtype?: string }, length: [string, number], fields: [string, FieldValue][], metric: string): Measured => ({
  name: JSON.stringify([r.attention, r.weightDtype, r.kvDtype ?? 'float32', r.batch, length[1]]),
  fields: fieldMap(fields),
  config: `${r.attention}${dtypesText(r.weightDtype, r.kvDtype)} batch ${r.batch} ${length[0]} ${length[1]}`,
  metric,
  s: r.ms,
});

function measured(run: Run): Measured[] {
  if (run.kind === 'layers') {
    return run.results.map((r) => ofRecord(r, ['seq', r.seq], [['mode', r.mode], ['heads', r.heads], ['head size', r.headDim]], 'ms per call'));
  }
  if (run.kind === 'decode') {
    const m = run.model;
    const model: [string, FieldValue][] = [['layers', m.layers], ['hidden', m.hidden], ['heads', m.heads], ['vocab', m.vocab], ['MLP width', m.inner]];
    return run.results.map((r) => ofRecord(r, ['context', r.context], [['K/V heads', r.kvHeads], ...model], 'ms per decode step'));
  }
  const { config: c, resolved: p } = run;
  const m = p.model;
  return run.results.flatMap((r) => {
    const shape = `${r.attention}${dtypesText(r.weightDtype, r.kvDtype)} batch ${p.batch} prompt ${p.promptLength} gen ${p.promptLength + p.maxNewTokens}${c.numBeams > 1 ? ` beams ${c.numBeams}` : ''}`;
    const fields = fieldMap([
      ['K/V heads', r.kvHeads],
      ['layers', m?.layers ?? null],
      ['hidden', m?.hidden ?? null],
      ['heads', m?.heads ?? null],
      ['vocab', m?.vocab ?? null],
      ['positions', m?.positions ?? null],
      ['MLP width', m?.inner ?? null],
      ['model', p.modelType],
      ['batch', p.batch],
      ['prompt', p.promptLength],
      ['new tokens', p.maxNewTokens],
      ['min new tokens', p.minNewTokens],
      ['beams', c.numBeams],
      ['sampling', c.doSample],
      ['KV cache', c.kvCache],
    ]);
    const one = (metric: string, s: Summary): Measured => ({ name: JSON.stringify([r.attention, r.weightDtype, r.kvDtype, metric]), fields, config: shape, metric, s });
    return [one('decode ms/step', r.decodeMsPerToken), one('prefill ms', r.prefillMs), one('generation s', r.generateSeconds)];
  });
}

/** The fields in which two measurements of one name differ. */
function differences(x: Measured, y: Measured): string[] {
  const keys = [...new Set([...x.fields.keys(), ...y.fields.keys()])];
  const show = (v: FieldValue | undefined) => (v === undefined || v === null ? 'not recorded' : String(v));
  return keys.filter((k) => x.fields.get(k) !== y.fields.get(k)).map((k) => `${k} ${show(x.fields.get(k))} in A, ${show(y.fields.get(k))} in B`);
}

/** The samples of a summary, if it kept them. */
const samplesOf = (s: Summary): readonly number[] | undefined => {
  const xs = (s as { samples?: unknown }).samples;
  return Array.isArray(xs) && xs.length === s.n ? (xs as number[]) : undefined;
};

/** z of a two-sided 95 % interval, and the standard error of a median per sd/√n (normal data). */
const Z95 = 1.959964;
const MEDIAN_SE = 1.2533;

/** The 95 % interval of median(b) / median(a), and how it was obtained. */
export function changeInterval(a: Summary, b: Summary): { ratio: number; low: number; high: number; method: IntervalMethod } {
  const ratio = b.median / a.median;
  if (a.n < 2 || b.n < 2) return { ratio, low: ratio, high: ratio, method: 'point estimate' };
  const sa = samplesOf(a);
  const sb = samplesOf(b);
  if (sa && sb) {
    const i = ratioInterval(sb, sa, { paired: false });
    // the interval of the resampled medians, around the ratio of the medians themselves
    return { ratio, low: Math.min(i.low, ratio), high: Math.max(i.high, ratio), method: 'bootstrap' };
  }
  const rel = (s: Summary) => (MEDIAN_SE * s.stddev) / Math.sqrt(s.n) / s.median;
  const half = Z95 * Math.hypot(rel(a), rel(b));
  return { ratio, low: ratio * Math.exp(-half), high: ratio * Math.exp(half), method: 'normal approximation' };
}

/** A median a ratio can be taken of: finite and above 0. */
const usable = (v: number) => Number.isFinite(v) && v > 0;
/** A ratio of two times as the result files' time rule bounds it (NaN is outside too). */
const plausible = (v: number) => v >= RATIO_RANGE.min && v <= RATIO_RANGE.max;

/** Why B/A of these two summaries cannot be computed, or null when it can. */
function noRatio(a: Summary, b: Summary, i: { ratio: number; low: number; high: number }): string | null {
  if (!usable(a.median)) return `A's median is ${a.median}`;
  if (!usable(b.median)) return `B's median is ${b.median}`;
  if (!plausible(i.ratio)) return `B/A is ${i.ratio}`;
  if (!plausible(i.low) || !plausible(i.high)) return `its interval is ${i.low}–${i.high}`;
  return null;
}

function verdictOf(i: { ratio: number; low: number; high: number; method: IntervalMethod }): Verdict {
  if (i.method === 'point estimate') return i.ratio > 1 ? 'slower' : i.ratio < 1 ? 'faster' : 'same';
  return i.low > 1 ? 'slower' : i.high < 1 ? 'faster' : 'same';
}

export function compareRuns(a: Run, b: Run): Comparison {
  if (a.kind !== b.kind) throw new UsageError(`${b.file}: is a ${b.kind} result but ${a.file} is a ${a.kind} result; compare files of one kind`);
  const ma = measured(a);
  const mb = measured(b);
  const exactB = new Map(mb.map((m) => [keyOf(m), m]));
  const byNameB = new Map(mb.map((m) => [m.name, m]));
  const rows: CompareRow[] = [];
  const notComparable: NotComparable[] = [];
  const matchedB = new Set<Measured>();
  for (const x of ma) {
    const y = exactB.get(keyOf(x));
    if (!y) {
      const alike = byNameB.get(x.name);
      if (alike) {
        matchedB.add(alike);
        notComparable.push({ config: x.config, metric: x.metric, differs: differences(x, alike) });
      }
      continue;
    }
    matchedB.add(y);
    const i = changeInterval(x.s, y.s);
    const why = noRatio(x.s, y.s, i);
    rows.push({ config: x.config, metric: x.metric, a: x.s, b: y.s, ...i, ...(why === null ? { verdict: verdictOf(i) } : { verdict: 'unknown', why }) });
  }
  const namedA = new Set(ma.map((m) => m.name));
  const onlyA = [...new Set(ma.filter((m) => !exactB.has(keyOf(m)) && !byNameB.has(m.name)).map((m) => m.config))];
  const onlyB = [...new Set(mb.filter((m) => !matchedB.has(m) && !namedA.has(m.name)).map((m) => m.config))];
  if (rows.length === 0 && notComparable.length === 0) throw new UsageError(`${b.file}: no configuration in common with ${a.file}`);
  return { a: a.file, b: b.file, rows, notComparable, onlyA, onlyB };
}

/** Rows where B got slower than A by more than `pct` percent, beyond the noise. Not comparable ones never count. */
export const regressions = (c: Comparison, pct: number) => c.rows.filter((r) => r.verdict === 'slower' && (r.ratio - 1) * 100 > pct);

/** Rows whose ratio could not be computed. */
export const unknowns = (c: Comparison) => c.rows.filter((r) => r.verdict === 'unknown');

/**
 * Why the gate `--fail-above pct` fails this comparison, in one line, or null when it passes:
 * a slowdown beyond the noise and above `pct`, a pair without a computable ratio, or nothing
 * compared at all (a gate that saw no evidence does not pass).
 */
export function gateFailure(c: Comparison, pct: number): string | null {
  const reasons: string[] = [];
  const worse = regressions(c, pct);
  if (worse.length) {
    reasons.push(`${worse.length} configuration(s) slower by more than ${pct}% beyond the noise: ` + worse.map((r) => `${r.config} ${r.metric} ×${r.ratio.toFixed(3)}`).join('; '));
  }
  const unknown = unknowns(c);
  if (unknown.length) reasons.push(`${unknown.length} configuration(s) without a computable ratio: ` + unknown.map((r) => `${r.config} ${r.metric} (${r.why})`).join('; '));
  if (c.rows.length === 0) {
    const missing = [c.notComparable.length ? `${c.notComparable.length} not comparable` : '', c.onlyA.length ? `${c.onlyA.length} only in A` : '', c.onlyB.length ? `${c.onlyB.length} only in B` : ''].filter(Boolean);
    reasons.push(`nothing was compared (${missing.join(', ') || 'no configuration in common'}): no evidence is not a pass`);
  }
  return reasons.length ? reasons.join('; and ') : null;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
/** The spread relative to the median (NaN where the median cannot be divided by: the row then shows no spread). */
const cv = (s: Summary) => (s.median > 0 ? s.stddev / s.median : NaN);
const spread = (s: Summary) => (s.n > 1 && Number.isFinite(cv(s)) ? `±${pct(cv(s))} (n ${s.n})` : `n ${s.n}`);
const MARK: Record<Verdict, string> = { slower: 'slower', faster: 'faster', same: '', unknown: 'no ratio' };

/** The interval as a row shows it: "0.981–1.032", or why there is none. */
function intervalText(r: CompareRow): string {
  if (r.verdict === 'unknown') return `none (${r.why})`;
  if (r.method === 'point estimate') return 'none (n 1: point estimate)';
  return `${r.low.toFixed(3)}–${r.high.toFixed(3)}${r.method === 'normal approximation' ? ' (approx.)' : ''}`;
}

export function summaryLine(c: Comparison): string {
  const count = (v: Verdict) => c.rows.filter((r) => r.verdict === v).length;
  const known = c.rows.filter((r) => r.verdict !== 'unknown');
  const geo = known.length ? Math.exp(known.reduce((s, r) => s + Math.log(r.ratio), 0) / known.length) : NaN;
  const missing = [
    c.notComparable.length ? `${c.notComparable.length} not comparable` : '',
    c.onlyA.length ? `${c.onlyA.length} only in A` : '',
    c.onlyB.length ? `${c.onlyB.length} only in B` : '',
  ].filter(Boolean);
  const points = c.rows.filter((r) => r.method === 'point estimate').length;
  return (
    `${c.rows.length} compared: ${count('slower')} slower and ${count('faster')} faster beyond the noise, ${count('same')} within it` +
    (count('unknown') ? `, ${count('unknown')} without a computable ratio` : '') +
    (known.length ? `; geometric mean B/A ${geo.toFixed(3)}` : '') +
    (points ? `; ${points} judged as point estimates (a side with one sample)` : '') +
    (missing.length ? `; ${missing.join(', ')}` : '')
  );
}

/** The comparison as a table: both medians and spreads, the ratio, its interval and the verdict. */
export function comparisonTable(c: Comparison): Table {
  const num = (key: string, label: string, digits?: number) => ({ key, label, numeric: true, ...(digits === undefined ? {} : { digits }) });
  return {
    title: `${c.b} against ${c.a}`,
    columns: [
      { key: 'config', label: 'configuration' },
      { key: 'metric', label: 'metric' },
      num('aMedian', 'A median', 3),
      num('aSpread', 'A spread'),
      num('bMedian', 'B median', 3),
      num('bSpread', 'B spread'),
      num('ratio', 'B/A', 3),
      num('interval', '95% interval of B/A'),
      { key: 'change', label: 'change' },
    ],
    rows: c.rows.map((r) => ({
      config: r.config,
      metric: r.metric,
      aMedian: r.a.median,
      aSpread: spread(r.a),
      bMedian: r.b.median,
      bSpread: spread(r.b),
      // a pair without a computable ratio shows none (a dash), never a speed
      ratio: r.verdict === 'unknown' ? null : r.ratio,
      interval: intervalText(r),
      change: MARK[r.verdict],
    })),
  };
}

/** The configurations that were not compared, and why. */
export function notComparableTable(c: Comparison): Table {
  return {
    title: 'Not comparable',
    note: 'Found in both files, but doing different work in each (another model shape or other settings): not compared, and never a regression.',
    columns: [
      { key: 'config', label: 'configuration' },
      { key: 'metric', label: 'metric' },
      { key: 'differs', label: 'what differs' },
    ],
    rows: c.notComparable.map((n) => ({ config: n.config, metric: n.metric, differs: n.differs.join('; ') })),
  };
}

export function formatComparison(c: Comparison, format: 'md' | 'json'): string {
  if (format === 'json') return JSON.stringify(c, null, 2) + '\n';
  const parts = [`A: ${c.a}`, `B: ${c.b}`, ''];
  if (c.rows.length) parts.push(markdownTable(comparisonTable(c)), '');
  if (c.notComparable.length) {
    const t = notComparableTable(c);
    parts.push(`${t.title}: ${t.note}`, '', markdownTable(t), '');
  }
  parts.push(summaryLine(c));
  return parts.join('\n') + '\n';
}
