/**
 * The charts of decode-step comparisons, one function per chart: one step's time against
 * the context it attends to (with its task floor), and the speedup over multi-head with its
 * interval, one panel per batch size; and where a comparison holds other dtypes than
 * float32, the step's time per KV-cache dtype at each weight dtype, with the context where
 * the cache outgrows the weights. A type at several dtype combinations is a series per
 * combination (dtype-series.ts). A large comparison is drawn within the budget of thin.ts
 * (some batch sizes and contexts, evenly spaced), and the charts say what they left out.
 */
import { DTYPES, type Dtype } from '../precision/dtypes.ts';
import type { DecodeRun } from '../results/io.ts';
import type { DecodeResult } from '../results/schema.ts';
import { BASELINE } from '../results/tables.ts';
import { BATCH_COLUMN, chart, HEIGHT, recordPoint, spreadRule, spreadTips, WIDTH, wrongMarks, type Chart, type Enc, type RecordPoint } from './chart-style.ts';
import { errorText, precisionFields, seriesStyle, type Named, type PrecisionFields, type SeriesStyle } from './dtype-series.ts';
import { thinGrid } from './thin.ts';

/** One decode result of one run (its label), as a chart may draw it. */
interface Step {
  run: string;
  r: DecodeResult;
}

/** A decode step as the charts draw it: the record's point, its series where dtypes are named, and the step's own figures. */
interface DecodePoint extends RecordPoint, PrecisionFields {
  context: number;
  floorMs: number | null;
  kvMiB: number;
}

const CONTEXT_AXIS = { field: 'context', type: 'quantitative', title: 'context (keys attended)' };
const MIB = 2 ** 20;

const point = ({ run, r }: Step, named: Named): DecodePoint => ({
  ...recordPoint(run, r),
  ...precisionFields(r, named),
  context: r.context,
  floorMs: r.taskFloorMs,
  kvMiB: r.kvCacheBytes / MIB,
});

/** What the decode charts share: colour by type (and dtypes), line dash by run, the legend highlight, the first tooltip lines. */
interface DecodeContext {
  /** What the charts left out of a large comparison, or null. */
  drawn: string | null;
  series: SeriesStyle;
  color: SeriesStyle['color'];
  pick: SeriesStyle['pick'];
  dash: Enc;
  /** The run's tooltip line, when several runs are drawn. */
  runTip: Enc[];
  tip: Enc[];
}

function context(steps: readonly Step[], multiRun: boolean, drawn: string | null): DecodeContext {
  const series = seriesStyle(steps.map((s) => s.r));
  const runTip = multiRun ? [{ field: 'run' }] : [];
  return {
    drawn,
    series,
    color: series.color,
    pick: series.pick,
    dash: multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {},
    runTip,
    tip: [...runTip, { field: 'attention' }, ...series.tips, { field: 'batch' }, { field: 'context' }],
  };
}

/** Layers over context, one panel per batch size. */
const batchPanels = (data: readonly object[], layer: unknown[]) => ({
  data: { values: data },
  facet: { column: BATCH_COLUMN },
  spec: { width: WIDTH - 60, height: HEIGHT, layer },
  resolve: { scale: { y: 'shared' } },
});

/** The line through each type's points at `y`, with the highlight and the tooltip. */
const typeLine = (x: DecodeContext, y: Enc, tooltip: Enc[], color: unknown = x.color) => ({
  params: x.pick.params,
  mark: { type: 'line', point: { size: 40, filled: true } },
  encoding: { x: CONTEXT_AXIS, y, color, ...x.dash, opacity: x.pick.opacity, tooltip: [...x.tip, ...tooltip] },
});

/** Step time against context, a panel per batch, min–max bars and the task floor as a dashed line. */
function stepTimeChart(ps: DecodePoint[], x: DecodeContext): Chart {
  return chart({
    id: 'decode-step-time',
    title: 'Decode step time',
    description:
      'Median time of one decode step (every row one new token, against a KV cache of context − 1 positions) for each attention type, the types measured in alternation. ' +
      'Bars span the fastest and slowest step; the thin dashed line of the same colour is the task floor (weights and live cache read once at the measured bandwidth). ' +
      'A type whose logits verified wrong keeps its point, crossed out in red and marked WRONG.',
    subtitle: 'median over steps; bars: min to max; dashed: task floor',
    drawn: x.drawn,
    body: batchPanels(ps, [
      spreadRule(CONTEXT_AXIS, x.color, x.pick.opacity),
      {
        transform: [{ filter: 'datum.floorMs != null' }],
        mark: { type: 'line', strokeDash: [3, 3], strokeWidth: 1 },
        encoding: { x: CONTEXT_AXIS, y: { field: 'floorMs', type: 'quantitative' }, color: x.color, detail: { field: 'run' }, opacity: x.pick.opacity },
      },
      typeLine(x, { field: 'ms', type: 'quantitative', title: 'ms per decode step' }, [
        ...spreadTips(),
        { field: 'floorMs', title: 'task floor ms', format: '.3f' },
        { field: 'kvMiB', title: 'live KV cache MiB', format: '.1f' },
        { field: 'n', title: 'steps' },
        { field: 'wrong', title: 'verified wrong' },
      ]),
      ...wrongMarks(CONTEXT_AXIS, { field: 'ms', type: 'quantitative' }),
    ]),
  });
}

/** Speedup over multi-head against context, with the 95 % interval, a panel per batch. */
function speedupChart(ps: DecodePoint[], x: DecodeContext): Chart | null {
  const data = ps.filter((p) => p.attention !== BASELINE && p.speedup !== null);
  if (data.length === 0) return null;
  return chart({
    id: 'decode-step-speedup',
    title: 'Decode step speedup over multi-head',
    description:
      'Median step time of multi-head divided by the median step time of each type at the same batch and context, from the same rounds (the types alternated); ' +
      'the bars are 95 % intervals (a bootstrap over the paired rounds). Above 1 the type decodes faster than multi-head. A type whose logits verified wrong has no point.',
    subtitle: 'multi-head median step / type median step, 95 % interval; above 1 = faster',
    drawn: x.drawn,
    body: batchPanels(data, [
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 1 } } },
      { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x: CONTEXT_AXIS, y: { field: 'speedupLow', type: 'quantitative' }, y2: { field: 'speedupHigh' }, color: x.color, opacity: x.pick.opacity } },
      typeLine(
        x,
        { field: 'speedup', type: 'quantitative', title: 'speedup over multi-head (×)', scale: { zero: false } },
        [
          { field: 'speedup', title: 'speedup (×)', format: '.2f' },
          { field: 'speedupLow', title: '95 % low', format: '.2f' },
          { field: 'speedupHigh', title: '95 % high', format: '.2f' },
        ],
        // the baseline's colour (at each dtype combination) stays reserved, but it has no legend entry here
        { ...x.color, legend: { ...x.color.legend, values: x.color.scale.domain.filter((v) => !x.series.baselines.includes(v)) } },
      ),
    ]),
  });
}

/**
 * Where a series' live KV cache passes its weights: the context at which `kvCacheBytes` (the
 * cache a step reads, context − 1 positions) reaches the rest of the step's task bytes,
 * `bytes − kvCacheBytes`: the weights once plus the step's own writes (the new K/V rows and
 * the logits, a small part beside the weights). The rest is taken as recorded, not the writes
 * subtracted by us, so the rule assumes nothing about the dtype they are written at. The
 * cache grows linearly with context and the rest does not change with it, so interpolating
 * between the two measured contexts around the crossing is exact. Null where the cache stays
 * on one side over the measured contexts: a rule outside them would stretch the axis.
 */
export function cacheCrossover(steps: readonly DecodeResult[]): number | null {
  const sorted = [...steps].sort((a, b) => a.context - b.context);
  const over = (r: DecodeResult) => r.kvCacheBytes - (r.bytes - r.kvCacheBytes);
  const i = sorted.findIndex((r) => over(r) >= 0);
  if (i < 0) return null;
  const [a, b] = [sorted[i - 1], sorted[i]!];
  if (!a) return over(b) === 0 ? b.context : null;
  return a.context + ((b.context - a.context) * -over(a)) / (over(b) - over(a));
}

/** The series a precision chart draws (a layout at one KV dtype): named by attention type and cache, whatever else is equal. */
const CACHE_NAMED: Named = { weights: false, cache: true };

/** The crossover rule of each line (run, batch, layout and KV dtype) of a chart at one weight dtype, where it falls within the measured contexts. */
function crossoverRows(steps: readonly Step[], style: SeriesStyle) {
  const lines = new Map<string, Step[]>();
  for (const s of steps) {
    const key = JSON.stringify([s.run, s.r.batch, s.r.attention, s.r.kvDtype]);
    const line = lines.get(key);
    if (line) line.push(s);
    else lines.set(key, [s]);
  }
  return [...lines.values()].flatMap((line) => {
    const { run, r } = line[0]!;
    const crossContext = cacheCrossover(line.map((s) => s.r));
    if (crossContext === null) return [];
    return [{ kind: 'crossover', run, attention: r.attention, kvDtype: r.kvDtype, series: style.of(r), batch: r.batch, crossContext, restMiB: (r.bytes - r.kvCacheBytes) / MIB }];
  });
}

/** The step's time against context at weight dtype `w`: a line per layout and KV dtype, and a dashed rule where each one's cache passes its weights. */
function cacheDtypeChart(w: Dtype, steps: readonly Step[], x: DecodeContext): Chart {
  const style = seriesStyle(steps.map((s) => s.r), 'attention', CACHE_NAMED);
  const rows = steps.map(({ run, r }) => ({
    kind: 'step',
    ...recordPoint(run, r),
    kvDtype: r.kvDtype,
    series: style.of(r),
    context: r.context,
    kvMiB: r.kvCacheBytes / MIB,
    error: errorText(r),
  }));
  const rules = crossoverRows(steps, style);
  const only = (kind: string) => ({ transform: [{ filter: `datum.kind == '${kind}'` }] });
  const tip = [...x.runTip, { field: 'attention' }, { field: 'kvDtype', title: 'KV cache' }, { field: 'batch' }];
  return chart({
    id: `decode-kv-dtype-${w}`,
    title: `Decode step by KV-cache dtype, ${w} weights`,
    description:
      `Median time of one decode step against context at ${w} weights, one line per attention type and KV-cache dtype (the combinations measured in alternation). ` +
      "A dashed vertical rule of a line's colour marks the context where its live KV cache grows past the weights' bytes (with the step's own small writes: the task bytes less the cache); " +
      'beyond it the cache is most of what a step reads. A line without a rule stays on one side of it over the measured contexts. ' +
      'A combination whose logits verified wrong keeps its point, crossed out in red and marked WRONG.',
    subtitle: `${w} weights; median over steps; dashed rules: the live KV cache passes the weights' bytes`,
    drawn: x.drawn,
    body: batchPanels([...rows, ...rules], [
      {
        ...only('step'),
        params: style.pick.params,
        mark: { type: 'line', point: { size: 40, filled: true } },
        encoding: {
          x: CONTEXT_AXIS,
          y: { field: 'ms', type: 'quantitative', title: 'ms per decode step' },
          color: style.color,
          ...x.dash,
          opacity: style.pick.opacity,
          tooltip: [...tip, { field: 'context' }, ...spreadTips(), { field: 'kvMiB', title: 'live KV cache MiB', format: '.2f' }, { field: 'error', title: 'precision' }],
        },
      },
      {
        ...only('crossover'),
        mark: { type: 'rule', strokeDash: [6, 3], strokeWidth: 1.5 },
        encoding: {
          x: { field: 'crossContext', type: 'quantitative', title: CONTEXT_AXIS.title },
          color: style.color,
          opacity: style.pick.opacity,
          tooltip: [...tip, { field: 'crossContext', title: 'cache passes the weights at context', format: ',.0f' }, { field: 'restMiB', title: 'weights and writes MiB', format: '.2f' }],
        },
      },
      ...wrongMarks(CONTEXT_AXIS, { field: 'ms', type: 'quantitative' }),
    ]),
  });
}

/** One chart per weight dtype present, where the comparison holds another dtype than float32 (weights or cache) at all. */
function cacheDtypeCharts(steps: readonly Step[], x: DecodeContext): Chart[] {
  if (steps.every(({ r }) => r.weightDtype === 'float32' && r.kvDtype === 'float32')) return [];
  return DTYPES.filter((w) => steps.some((s) => s.r.weightDtype === w)).map((w) => cacheDtypeChart(w, steps.filter((s) => s.r.weightDtype === w), x));
}

export function decodeCharts(runs: readonly DecodeRun[]): Chart[] {
  const all = runs.flatMap((run) => run.results.map((r) => ({ run: run.label, r })));
  // a line per run, type and dtype combination
  const series = (s: Step) => JSON.stringify([s.run, s.r.attention, s.r.weightDtype, s.r.kvDtype]);
  const thin = thinGrid(all, { x: (s) => s.r.context, panel: (s) => s.r.batch, series, xName: 'contexts', panelName: 'batch sizes' });
  if (thin.points.length === 0) return [];
  const x = context(thin.points, runs.length > 1, thin.note);
  const ps = thin.points.map((s) => point(s, x.series.named));
  return [stepTimeChart(ps, x), speedupChart(ps, x), ...cacheDtypeCharts(thin.points, x)].filter((c): c is Chart => c !== null);
}
