/**
 * What every chart of the report shares, so a reader learns it once: colour = attention
 * variant (the same colour for a variant in every chart, multi-head first; a variant at
 * several dtype combinations is a series, and a colour, per combination: dtype-series.ts), line dash or
 * point shape = run (only when several files are merged), a click on a legend entry
 * highlights that series, hovering a mark shows its values; a white background, readable
 * sizes, and under the title a line saying where the data was measured.
 */
import type { TopLevelSpec } from 'vega-lite';
import { findVariant, VARIANT_KINDS } from '../attention/registry.ts';
import type { Run } from '../results/io.ts';
import type { Comparison } from '../results/comparison.ts';
import type { Environment } from '../results/schema.ts';

export interface Chart {
  /** File stem of the chart's SVG and PNG, and its anchor in the page. */
  id: string;
  title: string;
  /** One or two sentences on how to read it, shown under the chart. */
  description: string;
  /** The section of the report it belongs to (the layer it measures, when a report holds several). */
  section?: string;
  spec: TopLevelSpec;
}

/** A Vega-Lite encoding or part of one. */
export type Enc = Record<string, unknown>;

export const WIDTH = 420;
export const HEIGHT = 260;

/** Chart-wide settings: white background (PNGs are viewed on dark pages too), readable sizes. */
const CONFIG = {
  background: 'white',
  padding: 12,
  config: {
    font: 'DejaVu Sans, Verdana, sans-serif',
    title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start' as const },
    axis: { labelFontSize: 11, titleFontSize: 12 },
    legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 280 },
    header: { labelFontSize: 12, titleFontSize: 12 },
  },
};

export type Highlight = { params: unknown[]; opacity: Enc };

/** The legend-click highlight: a point selection on `field` bound to the legend; the rest fade to `faded`. */
export function highlight(field: string, shown = 1, faded = 0.15): Highlight {
  return {
    params: [{ name: `pick_${field}`, select: { type: 'point', fields: [field] }, bind: 'legend' }],
    opacity: { condition: { param: `pick_${field}`, value: shown }, value: faded },
  };
}

/** Variant names in the project's order (multi-head first, as the baseline), then by group count. */
export const variantOrder = (xs: Iterable<string>) => {
  const rank = (name: string) => {
    const base = name.split(':')[0]!;
    const i = VARIANT_KINDS.indexOf(findVariant(base)?.name ?? base);
    return i < 0 ? VARIANT_KINDS.length : i;
  };
  return [...new Set(xs)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
};

/** The colour encoding by variant (or attention type) every chart uses; `title`: the legend's, where it is not the field's name. */
export const variantColor = (field: string, names: Iterable<string>, title = field) => ({ field, type: 'nominal', title, scale: { domain: variantOrder(names) } });

/**
 * A chart: its Vega-Lite spec gets the title (and a subtitle saying what is plotted) and the
 * shared settings. `drawn`: what a chart of a large input left out (thin.ts), said on a line
 * of its own under the subtitle and after the description, so the PNG and the page say it.
 */
export function chart(c: Omit<Chart, 'spec'> & { subtitle: string; body: Record<string, unknown>; drawn?: string | null }): Chart {
  const { subtitle, body, drawn, ...meta } = c;
  const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: { text: c.title, subtitle: drawn ? [subtitle, drawn] : [subtitle] }, ...CONFIG, ...body };
  return { ...meta, ...(drawn ? { description: `${meta.description} Drawn: ${drawn}.` } : {}), spec: spec as TopLevelSpec };
}

/** The device in a few words; a software adapter (SwiftShader, lavapipe) is said to be one, in capitals: its times are no GPU's. */
export function deviceLine(env: Environment): string {
  const d = env.device;
  return d.software ? `${d.description} — SOFTWARE adapter: not a GPU's speed` : d.description;
}

/** Where a run was measured, in a few words: the device, CPU, cores and threads, engine version, date. */
export function machine(env: Environment | null): string {
  if (!env) return 'environment not recorded';
  if (env.importedFrom) return `imported, device ${env.device.description}`;
  const cores = env.cores === undefined ? '' : `, ${env.cores} cores, ${env.threads ?? '?'} threads`;
  if (env.device.kind.startsWith('browser-')) return `${deviceLine(env)}; host ${env.cpu}, ${env.date.slice(0, 10)}`;
  if (env.device.kind === 'webgpu') return `${deviceLine(env)}; host ${env.cpu}${cores}, onnxruntime ${env.onnxruntime}, ${env.date.slice(0, 10)}`;
  return `${env.cpu}${cores}, onnxruntime ${env.onnxruntime}, ${env.date.slice(0, 10)}`;
}

/** One panel per batch size, headed "batch 8". */
export const BATCH_COLUMN = { field: 'batch', type: 'ordinal', title: null, header: { labelExpr: "'batch ' + datum.value", labelFontWeight: 'bold' } };

/**
 * A comparison record (comparison.ts: a layer, a decode step) as a chart point, the one shape
 * every chart of records draws: its run, type and batch; its median, fastest and slowest
 * sample and how many there were; its speedup over multi-head with the interval (null: no
 * baseline, or wrong) and whether it verified wrong. Each kind's charts add their own fields.
 */
export const recordPoint = (run: string, r: Comparison) => ({
  run,
  attention: r.attention,
  batch: r.batch,
  ms: r.ms.median,
  minMs: r.ms.min,
  maxMs: r.ms.max,
  n: r.ms.n,
  speedup: r.speedup?.ratio ?? null,
  speedupLow: r.speedup?.low ?? null,
  speedupHigh: r.speedup?.high ?? null,
  wrong: r.verify !== undefined && !r.verify.ok,
});
export type RecordPoint = ReturnType<typeof recordPoint>;

/** Tooltip lines of a timed figure: its median and the fastest and slowest sample (fields ms, minMs, maxMs). */
export const spreadTips = (unit = 'ms'): Enc[] => [
  { field: 'ms', title: `median ${unit}`, format: '.3f' },
  { field: 'minMs', title: `min ${unit}`, format: '.3f' },
  { field: 'maxMs', title: `max ${unit}`, format: '.3f' },
];

/** The vertical bar from the fastest to the slowest sample (fields minMs, maxMs) at `x`. */
export const spreadRule = (x: Enc, color: unknown, opacity: Enc): Record<string, unknown> => ({
  mark: { type: 'rule', strokeWidth: 1.5 },
  encoding: { x, y: { field: 'minMs', type: 'quantitative' }, y2: { field: 'maxMs' }, color, opacity },
});

/**
 * Results that verified WRONG keep their place on a chart, marked: a red cross over the point
 * and the word WRONG beside it (at `x`, `y`, for the points whose `wrong` field is true).
 */
export function wrongMarks(x: Enc, y: Enc): Record<string, unknown>[] {
  const only = { transform: [{ filter: 'datum.wrong' }] };
  return [
    { ...only, mark: { type: 'point', shape: 'cross', color: '#c00', size: 160, strokeWidth: 2, filled: true }, encoding: { x, y } },
    { ...only, mark: { type: 'text', color: '#c00', dx: 8, align: 'left', fontWeight: 'bold', fontSize: 11 }, encoding: { x, y, text: { value: 'WRONG' } } },
  ];
}

/** Subtitle lines saying where the plotted runs were measured, so a PNG explains itself on its own. */
export function withSource(charts: Chart[], runs: readonly Run[]): Chart[] {
  const lines = runs.length === 1 ? [`measured on ${machine(runs[0]!.environment)}`] : runs.map((r) => `${r.label}: ${machine(r.environment)}`);
  for (const c of charts) {
    const title = (c.spec as { title: { subtitle: string[] } }).title;
    title.subtitle = [...title.subtitle, ...lines];
  }
  return charts;
}
