/**
 * The charts of decode-step comparisons, one function per chart: one step's time against
 * the context it attends to (with its task floor), and the speedup over multi-head with its
 * interval, one panel per batch size. A large comparison is drawn within the budget of
 * thin.ts (some batch sizes and contexts, evenly spaced), and the charts say what they left out.
 */
import type { DecodeRun } from '../results/io.ts';
import { BASELINE } from '../results/tables.ts';
import { BATCH_COLUMN, chart, HEIGHT, highlight, recordPoint, spreadRule, spreadTips, variantColor, WIDTH, wrongMarks, type Chart, type Enc, type RecordPoint } from './chart-style.ts';
import { thinGrid } from './thin.ts';

/** A decode step as the charts draw it: the record's point and the step's own figures. */
interface DecodePoint extends RecordPoint {
  context: number;
  floorMs: number | null;
  kvMiB: number;
}

const CONTEXT_AXIS = { field: 'context', type: 'quantitative', title: 'context (keys attended)' };

function points(runs: readonly DecodeRun[]): DecodePoint[] {
  return runs.flatMap((run) =>
    run.results.map((r) => ({
      ...recordPoint(run.label, r),
      context: r.context,
      floorMs: r.taskFloorMs,
      kvMiB: r.kvCacheBytes / 2 ** 20,
    })),
  );
}

/** What the decode charts share: colour by type, line dash by run, the legend highlight, the first tooltip lines. */
interface DecodeContext {
  /** What the charts left out of a large comparison, or null. */
  drawn: string | null;
  color: ReturnType<typeof variantColor>;
  pick: ReturnType<typeof highlight>;
  dash: Enc;
  tip: Enc[];
}

function context(ps: readonly DecodePoint[], multiRun: boolean, drawn: string | null): DecodeContext {
  return {
    drawn,
    color: variantColor('attention', ps.map((p) => p.attention)),
    pick: highlight('attention'),
    dash: multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {},
    tip: [...(multiRun ? [{ field: 'run' }] : []), { field: 'attention' }, { field: 'batch' }, { field: 'context' }],
  };
}

/** Layers over context, one panel per batch size. */
const batchPanels = (data: readonly DecodePoint[], layer: unknown[]) => ({
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
        // the baseline's colour stays reserved, but it has no legend entry here
        { ...x.color, legend: { values: x.color.scale.domain.filter((v) => v !== BASELINE) } },
      ),
    ]),
  });
}

export function decodeCharts(runs: readonly DecodeRun[]): Chart[] {
  const thin = thinGrid(points(runs), { x: (p) => p.context, panel: (p) => p.batch, series: (p) => `${p.run}\u0000${p.attention}`, xName: 'contexts', panelName: 'batch sizes' });
  const ps = thin.points;
  if (ps.length === 0) return [];
  const x = context(ps, runs.length > 1, thin.note);
  return [stepTimeChart(ps, x), speedupChart(ps, x)].filter((c): c is Chart => c !== null);
}
