/**
 * The charts of decode-step comparisons, one function per chart: one step's time against
 * the context it attends to (with its task floor), and the speedup over multi-head with its
 * interval, one panel per batch size.
 */
import type { DecodeRun } from '../results/io.ts';
import { BASELINE } from '../results/tables.ts';
import { chart, HEIGHT, highlight, variantColor, WIDTH, wrongMarks, type Chart, type Enc } from './chart-style.ts';

interface DecodePoint {
  run: string;
  attention: string;
  batch: number;
  context: number;
  ms: number;
  minMs: number;
  maxMs: number;
  n: number;
  floorMs: number | null;
  speedup: number | null;
  speedupLow: number | null;
  speedupHigh: number | null;
  kvMiB: number;
  wrong: boolean;
}

const CONTEXT_AXIS = { field: 'context', type: 'quantitative', title: 'context (keys attended)' };
const BATCH_COLUMN = { field: 'batch', type: 'ordinal', title: null, header: { labelExpr: "'batch ' + datum.value", labelFontWeight: 'bold' } };

function points(runs: readonly DecodeRun[]): DecodePoint[] {
  return runs.flatMap((run) =>
    run.results.map((r) => ({
      run: run.label,
      attention: r.attention,
      batch: r.batch,
      context: r.context,
      ms: r.stepMs.median,
      minMs: r.stepMs.min,
      maxMs: r.stepMs.max,
      n: r.stepMs.n,
      floorMs: r.taskFloorMs,
      speedup: r.speedup?.ratio ?? null,
      speedupLow: r.speedup?.low ?? null,
      speedupHigh: r.speedup?.high ?? null,
      kvMiB: r.kvCacheBytes / 2 ** 20,
      wrong: r.verify !== undefined && !r.verify.ok,
    })),
  );
}

/** Step time against context, a panel per batch, min–max bars and the task floor as a dashed line. */
function stepTimeChart(ps: DecodePoint[], multiRun: boolean): Chart {
  const color = variantColor('attention', ps.map((p) => p.attention));
  const pick = highlight('attention');
  const dash: Enc = multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {};
  const tip = [...(multiRun ? [{ field: 'run' }] : []), { field: 'attention' }, { field: 'batch' }, { field: 'context' }];
  return chart({
    id: 'decode-step-time',
    title: 'Decode step time',
    description:
      'Median time of one decode step (every row one new token, against a KV cache of context − 1 positions) for each attention type, the types measured in alternation. ' +
      'Bars span the fastest and slowest step; the thin dashed line of the same colour is the task floor (weights and live cache read once at the measured bandwidth). ' +
      'A type whose logits verified wrong keeps its point, crossed out in red and marked WRONG.',
    subtitle: 'median over steps; bars: min to max; dashed: task floor',
    body: {
      data: { values: ps },
      facet: { column: BATCH_COLUMN },
      spec: {
        width: WIDTH - 60,
        height: HEIGHT,
        layer: [
          { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x: CONTEXT_AXIS, y: { field: 'minMs', type: 'quantitative' }, y2: { field: 'maxMs' }, color, opacity: pick.opacity } },
          {
            transform: [{ filter: 'datum.floorMs != null' }],
            mark: { type: 'line', strokeDash: [3, 3], strokeWidth: 1 },
            encoding: { x: CONTEXT_AXIS, y: { field: 'floorMs', type: 'quantitative' }, color, detail: { field: 'run' }, opacity: pick.opacity },
          },
          {
            params: pick.params,
            mark: { type: 'line', point: { size: 40, filled: true } },
            encoding: {
              x: CONTEXT_AXIS,
              y: { field: 'ms', type: 'quantitative', title: 'ms per decode step' },
              color,
              ...dash,
              opacity: pick.opacity,
              tooltip: [
                ...tip,
                { field: 'ms', title: 'median ms', format: '.3f' },
                { field: 'minMs', title: 'min ms', format: '.3f' },
                { field: 'maxMs', title: 'max ms', format: '.3f' },
                { field: 'floorMs', title: 'task floor ms', format: '.3f' },
                { field: 'kvMiB', title: 'live KV cache MiB', format: '.1f' },
                { field: 'n', title: 'steps' },
                { field: 'wrong', title: 'verified wrong' },
              ],
            },
          },
          ...wrongMarks(CONTEXT_AXIS, { field: 'ms', type: 'quantitative' }),
        ],
      },
      resolve: { scale: { y: 'shared' } },
    },
  });
}

/** Speedup over multi-head against context, with the 95 % interval, a panel per batch. */
function speedupChart(ps: DecodePoint[], multiRun: boolean): Chart | null {
  const data = ps.filter((p) => p.attention !== BASELINE && p.speedup !== null);
  if (data.length === 0) return null;
  const color = variantColor('attention', ps.map((p) => p.attention));
  const pick = highlight('attention');
  const dash: Enc = multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {};
  return chart({
    id: 'decode-step-speedup',
    title: 'Decode step speedup over multi-head',
    description:
      'Median step time of multi-head divided by the median step time of each type at the same batch and context, from the same rounds (the types alternated); ' +
      'the bars are 95 % intervals (a bootstrap over the paired rounds). Above 1 the type decodes faster than multi-head. A type whose logits verified wrong has no point.',
    subtitle: 'multi-head median step / type median step, 95 % interval; above 1 = faster',
    body: {
      data: { values: data },
      facet: { column: BATCH_COLUMN },
      spec: {
        width: WIDTH - 60,
        height: HEIGHT,
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 1 } } },
          { mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x: CONTEXT_AXIS, y: { field: 'speedupLow', type: 'quantitative' }, y2: { field: 'speedupHigh' }, color, opacity: pick.opacity } },
          {
            params: pick.params,
            mark: { type: 'line', point: { size: 50, filled: true } },
            encoding: {
              x: CONTEXT_AXIS,
              y: { field: 'speedup', type: 'quantitative', title: 'speedup over multi-head (×)', scale: { zero: false } },
              color: { ...color, legend: { values: color.scale.domain.filter((v) => v !== BASELINE) } },
              ...dash,
              opacity: pick.opacity,
              tooltip: [
                ...(multiRun ? [{ field: 'run' }] : []),
                { field: 'attention' },
                { field: 'batch' },
                { field: 'context' },
                { field: 'speedup', title: 'speedup (×)', format: '.2f' },
                { field: 'speedupLow', title: '95 % low', format: '.2f' },
                { field: 'speedupHigh', title: '95 % high', format: '.2f' },
              ],
            },
          },
        ],
      },
    },
  });
}

export function decodeCharts(runs: readonly DecodeRun[]): Chart[] {
  const ps = points(runs);
  if (ps.length === 0) return [];
  const multiRun = runs.length > 1;
  return [stepTimeChart(ps, multiRun), speedupChart(ps, multiRun)].filter((c): c is Chart => c !== null);
}
