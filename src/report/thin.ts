/**
 * Large inputs drawn within a budget. A chart of 50,000 configurations can be neither read
 * nor drawn: Vega lays out every mark, resvg rasterises a canvas that grows with them, the
 * page inlines every point, and the memory and time of a report grew with the input file
 * (7.8 GB for 50,000 results). So a chart draws at most a fixed number of panels and points,
 * and a table prints at most a fixed number of rows: what a report holds grows with what is
 * drawn, not with the input.
 *
 * Which configurations a chart keeps follows the axes it is read along: at most
 * `MAX_PANELS` batch sizes (one panel, or one speedup chart, each), evenly spaced over the
 * sorted sizes with the smallest and the largest kept, and as many sequence lengths (or
 * contexts), evenly spaced the same way, as keep the chart within `MAX_POINTS` points.
 * Every point drawn is a real measurement, never an average of several, so its interval
 * and its tooltip still mean what they say; the chart's subtitle says what was left out,
 * and the result file holds everything. Inputs within the budget are drawn whole, exactly
 * as before.
 */

/** Points (configurations) one chart draws at most: a few thousand marks lay out in well under a second. */
export const MAX_POINTS = 2000;
/** Batch sizes one chart draws at most (panels side by side, or speedup charts one per size). */
export const MAX_PANELS = 8;
/** Sequence lengths per panel of the stacked stage bars, which need room for each bar (as many as the default sweep has). */
export const MAX_BARS = 16;
/** Rows a table of the report prints at most (summary.md and index.html): the rest are in the result file. */
export const MAX_ROWS = 500;

/** `k` of the sorted values `xs`, evenly spaced by position, the first and the last always kept (all of them when k ≥ their number). */
export function evenly<T>(xs: readonly T[], k: number): T[] {
  if (xs.length <= k) return [...xs];
  if (k <= 1) return xs.slice(0, Math.max(0, k));
  return Array.from({ length: k }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (k - 1))]!);
}

/** How a set of points is laid out: its x axis, its panels, and what makes a series (a line) within a panel. */
export interface Grid<T> {
  x: (p: T) => number;
  panel: (p: T) => number;
  series: (p: T) => string;
  /** What the axes are called in the note: "sequence lengths", "batch sizes". */
  xName: string;
  panelName: string;
}

export interface Thinned<T> {
  points: T[];
  /** What was left out, for the chart's subtitle (null when everything is drawn). */
  note: string | null;
  /** The panel values kept, sorted. */
  panels: number[];
}

const sortedUnique = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
const count = (n: number) => n.toLocaleString('en-US');

/** A chart's budget: points in all (default MAX_POINTS), panel values (MAX_PANELS), x values per panel (no limit but the points'). */
export interface Budget {
  points?: number;
  panels?: number;
  xs?: number;
}

/**
 * The points of one chart within `budget`: at most `budget.panels` panel values, then as
 * many x values as keep about `budget.points` points (at least 2 per series, so a line is
 * still a line) and no more than `budget.xs`. The same points come back, in their order, filtered.
 */
export function thinGrid<T>(points: readonly T[], grid: Grid<T>, budget: Budget = {}): Thinned<T> {
  const { points: maxPoints = MAX_POINTS, panels: maxPanels = MAX_PANELS, xs: maxXs = Infinity } = budget;
  const allPanels = sortedUnique(points.map(grid.panel));
  const panels = evenly(allPanels, maxPanels);
  const keptPanels = new Set(panels);
  const inPanels = panels.length < allPanels.length ? points.filter((p) => keptPanels.has(grid.panel(p))) : [...points];
  const series = new Set(inPanels.map((p) => `${grid.panel(p)}\u0000${grid.series(p)}`)).size;
  const allXs = sortedUnique(inPanels.map(grid.x));
  const xs = evenly(allXs, Math.min(maxXs, Math.max(2, Math.floor(maxPoints / Math.max(1, series)))));
  const keptXs = new Set(xs);
  const kept = xs.length < allXs.length ? inPanels.filter((p) => keptXs.has(grid.x(p))) : inPanels;
  if (kept.length === points.length) return { points: kept, note: null, panels };
  const left = [
    panels.length < allPanels.length ? `${panels.length} of ${count(allPanels.length)} ${grid.panelName}` : '',
    xs.length < allXs.length ? `${xs.length} of ${count(allXs.length)} ${grid.xName}` : '',
  ].filter(Boolean);
  return {
    points: kept,
    panels,
    note: `${count(kept.length)} of ${count(points.length)} configurations drawn (${left.join(', ')}, evenly spaced); every one is in the result file`,
  };
}

/** A table's rows within `MAX_ROWS`: evenly spaced through the table's order, with a line saying how many were left out and where they are. */
export function capRows<R>(rows: readonly R[], source: string, max = MAX_ROWS): { rows: R[]; note: string | null } {
  if (rows.length <= max) return { rows: [...rows], note: null };
  return {
    rows: evenly(rows, max),
    note: `${count(max)} of ${count(rows.length)} rows shown, evenly spaced in this order; the other ${count(rows.length - max)} are in ${source}.`,
  };
}
