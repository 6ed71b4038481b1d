/**
 * Results at several precisions on one chart: each attention type at each dtype combination
 * is a series of its own ("multi-query-1 · int4 weights", "multi-head · int8 cache"), never a
 * point on another dtype's line — an int4 layer is another configuration, not a faster or
 * slower float32 one (compare.ts names configurations the same way). A chart whose results are
 * all float32 (every file from before the precision axes) names its series by attention type
 * alone, with exactly the spec it had before. Platform-neutral: the browser page draws these
 * charts too.
 */
import { DTYPES, type Dtype } from '../precision/dtypes.ts';
import type { Compared } from '../results/comparison.ts';
import { BASELINE, qualityText } from '../results/tables.ts';
import { highlight, variantColor, variantOrder, type Enc, type Highlight } from './chart-style.ts';

/** What a series is made of: an attention type at its dtypes (a layer result has no cache). */
export interface Precise {
  attention: string;
  weightDtype: Dtype;
  kvDtype?: Dtype;
}

/** Which dtypes the series' names say. */
export interface Named {
  weights: boolean;
  cache: boolean;
}

const kvOf = (r: Precise): Dtype => r.kvDtype ?? 'float32';

/** The legend's label and title font sizes (chart-style.ts's config), px: the larger. */
const LEGEND_FONT_PX = 12;

/**
 * The dtypes a chart of `rs` must name: one that varies (its series would mix otherwise),
 * or one that is not float32 anywhere (so a chart of int4 weights alone says so).
 */
export function namedDtypes(rs: Iterable<Precise>): Named {
  const weights = new Set<Dtype>();
  const caches = new Set<Dtype>();
  for (const r of rs) {
    weights.add(r.weightDtype);
    caches.add(kvOf(r));
  }
  const say = (s: Set<Dtype>) => s.size > 1 || (s.size === 1 && !s.has('float32'));
  return { weights: say(weights), cache: say(caches) };
}

const anyNamed = (n: Named) => n.weights || n.cache;

/** The dtypes of `r` as a series name says them: "int4 weights, int8 cache" (empty when none is named). */
export function dtypesText(r: Precise, n: Named): string {
  return [...(n.weights ? [`${r.weightDtype} weights`] : []), ...(n.cache ? [`${kvOf(r)} cache`] : [])].join(', ');
}

/** The series `r` belongs to: its attention type, and its named dtypes after a middle dot. */
export function seriesName(r: Precise, n: Named): string {
  const dtypes = dtypesText(r, n);
  return dtypes ? `${r.attention} · ${dtypes}` : r.attention;
}

/** A chart point's series and dtypes, where the chart names dtypes. */
export interface PrecisionFields {
  series?: string;
  weightDtype?: Dtype;
  kvDtype?: Dtype;
}

/**
 * The fields a chart point of `r` adds to say its series: none when no dtype is named (the
 * point, and the spec, stay as they were), else its series' name and its dtypes.
 */
export function precisionFields(r: Precise, n: Named): PrecisionFields {
  if (!anyNamed(n)) return {};
  return { series: seriesName(r, n), ...(n.weights ? { weightDtype: r.weightDtype } : {}), ...(n.cache ? { kvDtype: kvOf(r) } : {}) };
}

/** Series in the project's order: by attention type (multi-head first), then weights and cache from the most precise. */
export function seriesOrder(rs: readonly Precise[], n: Named): string[] {
  const variants = variantOrder(rs.map((r) => r.attention));
  const rank = (r: Precise) => [variants.indexOf(r.attention), DTYPES.indexOf(r.weightDtype), DTYPES.indexOf(kvOf(r))];
  const sorted = [...rs].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0]! - rb[0]! || ra[1]! - rb[1]! || ra[2]! - rb[2]!;
  });
  return [...new Set(sorted.map((r) => seriesName(r, n)))];
}

/**
 * Room for the legend's names: without a canvas (in Node), Vega estimates a text's width at
 * 0.8 em a character and cuts a label past its limit, so "multi-query-1 · int4 weights, float32
 * cache" would end in "…" and two series could read alike. The limits follow the longest name.
 */
function legendLimits(names: readonly string[]): Record<string, number> {
  const px = Math.ceil(0.8 * LEGEND_FONT_PX * Math.max(...names.map((n) => n.length))) + 8;
  return { labelLimit: Math.max(280, px), titleLimit: Math.max(180, px) };
}

/** How a chart tells its series apart: the field they are in, its colour and legend highlight, and the tooltip lines of the dtypes. */
export interface SeriesStyle {
  /** 'attention' when no dtype is named (the charts as they were), else 'series'. */
  field: 'attention' | 'series';
  color: ReturnType<typeof variantColor> & { legend?: Record<string, unknown> };
  pick: Highlight;
  /** The series of multi-head (at each dtype combination): a speedup chart gives them no legend entry. */
  baselines: string[];
  /** The series a result belongs to. */
  of: (r: Precise) => string;
  /** Tooltip lines of the named dtypes (none when no dtype is named). */
  tips: Enc[];
  named: Named;
}

/**
 * The series style of a chart of `rs`; `title`: what the legend calls an attention type
 * ("variant" in layer charts); `named`: the dtypes its series say, where a chart decides
 * them itself (one drawn at one weight dtype names only the cache's).
 */
export function seriesStyle(rs: readonly Precise[], title = 'attention', named: Named = namedDtypes(rs)): SeriesStyle {
  const of = (r: Precise) => seriesName(r, named);
  const baselines = [...new Set(rs.filter((r) => r.attention === BASELINE).map(of))];
  if (!anyNamed(named)) {
    return { field: 'attention', color: variantColor('attention', rs.map((r) => r.attention), title), pick: highlight('attention'), baselines, of, tips: [], named };
  }
  const legend = `${title} · ${[...(named.weights ? ['weights'] : []), ...(named.cache ? ['cache'] : [])].join(', ')}`;
  const domain = seriesOrder(rs, named);
  return {
    field: 'series',
    color: { field: 'series', type: 'nominal', title: legend, scale: { domain }, legend: legendLimits([legend, ...domain]) },
    pick: highlight('series'),
    baselines,
    of,
    tips: [...(named.weights ? [{ field: 'weightDtype', title: 'weights' }] : []), ...(named.cache ? [{ field: 'kvDtype', title: 'KV cache' }] : [])],
    named,
  };
}

/** What a record's precision costs, as a sentence or a tooltip says it: its error against float32, never a pass or fail. */
export function errorText(r: Precise & { quality?: Compared['quality'] }): string {
  if (r.weightDtype === 'float32' && kvOf(r) === 'float32') return 'exact float32';
  const q = qualityText(r.quality);
  return q === null ? 'error against float32 not measured' : `error against float32 ${q}`;
}
