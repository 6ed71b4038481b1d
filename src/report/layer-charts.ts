/**
 * The charts of layer results, one function per chart: the seed's speedup plots (one per
 * batch size, with 95 % intervals), time per call, the stage split, the share of a call
 * outside the kernels (and, never on the same axis, the seed's own cpu share) and the
 * roofline. A report of several layer shapes draws each shape's charts in a section of its own;
 * a sweep at several weight dtypes draws each variant at each dtype as a series of its own (dtype-series.ts).
 * A large sweep is drawn within the budget of thin.ts: some batch sizes and sequence lengths,
 * evenly spaced, each point a real configuration, and the chart says what was left out.
 */
import type { LayerRun } from '../results/io.ts';
import type { LayerResult } from '../results/schema.ts';
import { BASELINE } from '../results/tables.ts';
import { ceilingRates, roofGflops } from '../roofline/floor.ts';
import { BATCH_COLUMN, chart, HEIGHT, highlight, recordPoint, spreadRule, spreadTips, WIDTH, wrongMarks, type Chart, type Enc, type Highlight, type RecordPoint } from './chart-style.ts';
import { precisionFields, seriesStyle, type PrecisionFields, type SeriesStyle } from './dtype-series.ts';
import { MAX_BARS, thinGrid, type Budget, type Grid } from './thin.ts';

/** A layer result as the charts draw it: the record's point (its speedup: multi-head's time over this one's from the same rounds) and the layer's own figures. */
interface LayerPoint extends RecordPoint, PrecisionFields {
  seq: number;
  /** Our share of a call outside the compute kernels (null: not profiled). */
  outsideKernels: number | null;
  /** The seed's cpu / (cpu + cuda), in results imported from it. */
  seedCpuShare: number | null;
  gflops: number;
  intensity: number;
}

/** One result of one run, as a chart may draw it. */
interface Drawable {
  run: LayerRun;
  runIndex: number;
  r: LayerResult;
}

/** What the layer charts of one section share. */
interface LayerContext {
  runs: readonly LayerRun[];
  /** Every result of the section; `points`: those the charts draw (all of them, within the budget). */
  all: Drawable[];
  points: LayerPoint[];
  /** What the charts left out, or null. */
  drawn: string | null;
  multiRun: boolean;
  /** A series per variant, and per variant and weight dtype when a sweep holds several (dtype-series.ts). */
  series: SeriesStyle;
  color: SeriesStyle['color'];
  /** Line dash and point shape by run, when several runs are drawn. */
  runDash: Enc;
  runShape: Enc;
  pick: Highlight;
  baseTip: unknown[];
  /** The section, when the report holds several layer shapes: ids and titles name it. */
  section?: { id: string; title: string };
}

const SEQ_AXIS = { field: 'seq', type: 'quantitative', title: 'sequence length' };

/** A layer sweep's axes: sequence length along x, a panel per batch size, a line per run, variant and weight dtype. */
const GRID: Grid<Drawable> = {
  x: (d) => d.r.seq,
  panel: (d) => d.r.batch,
  series: (d) => `${d.runIndex} ${d.r.attention} ${d.r.weightDtype}`,
  xName: 'sequence lengths',
  panelName: 'batch sizes',
};

/** The results of `runs` a chart draws within `budget`, and what it left out. */
const drawable = (all: readonly Drawable[], budget?: Budget) => thinGrid(all, GRID, budget);

function layerPoints(drawn: readonly Drawable[], series: SeriesStyle): LayerPoint[] {
  return drawn.map(({ run, r }) => ({
    ...recordPoint(run.label, r),
    ...precisionFields(r, series.named),
    seq: r.seq,
    outsideKernels: r.outsideKernelsShare,
    seedCpuShare: r.seedCpuShare ?? null,
    gflops: r.gflops,
    intensity: r.bytes > 0 ? r.flops / r.bytes : 0,
  }));
}

function context(runs: readonly LayerRun[], section?: { id: string; title: string }): LayerContext {
  const all = runs.flatMap((run, runIndex) => run.results.map((r) => ({ run, runIndex, r })));
  const thin = drawable(all);
  // layer results call the attention type a variant: so do their legends and tooltips
  const series = seriesStyle(thin.points.map((d) => d.r), 'variant');
  const points = layerPoints(thin.points, series);
  const multiRun = runs.length > 1;
  return {
    runs,
    all,
    points,
    drawn: thin.note,
    multiRun,
    series,
    color: series.color,
    runDash: multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {},
    runShape: multiRun ? { shape: { field: 'run', type: 'nominal', title: 'run' } } : {},
    pick: series.pick,
    baseTip: [...(multiRun ? [{ field: 'run' }] : []), { field: 'attention', title: 'variant' }, ...series.tips, { field: 'batch' }, { field: 'seq', title: 'sequence length' }],
    ...(section ? { section } : {}),
  };
}

/** A chart of this section: in a report of several shapes its id and title name the shape; what a large sweep's chart left out is said under its subtitle. */
function layerChart(x: LayerContext, c: Parameters<typeof chart>[0]): Chart {
  const drawn = c.drawn === undefined ? x.drawn : c.drawn;
  if (!x.section) return chart({ ...c, drawn });
  return chart({ ...c, drawn, id: `${c.id}-${x.section.id}`, title: `${c.title} — ${x.section.title}`, section: x.section.title });
}

/** A chart of every configuration in one panel per batch size (headed "batch 8"), on one shared y scale. */
const batchPanels = (x: LayerContext, spec: Record<string, unknown>, points: readonly LayerPoint[] = x.points) => ({
  data: { values: points },
  facet: { column: BATCH_COLUMN },
  spec: { width: 300, height: HEIGHT, ...spec },
  resolve: { scale: { y: 'shared' } },
});

/** The seed's two plots: speedup over multi-head against sequence length, one chart per batch size. */
function speedupCharts(x: LayerContext): Chart[] {
  const batches = [...new Set(x.points.map((p) => p.batch))].sort((a, b) => a - b);
  return batches.flatMap((batch) => {
    const data = x.points.filter((p) => p.batch === batch && p.attention !== BASELINE && p.speedup !== null);
    if (data.length === 0) return [];
    return [
      layerChart(x, {
        id: `speedup-batch-${batch}`,
        title: `Speedup over multi-head, batch ${batch}`,
        description:
          `Time of multi-head divided by the time of each variant at the same batch and sequence length, measured in the same rounds (the variants alternated). ` +
          `The bars are 95 % intervals (a bootstrap over the paired rounds). Above the dashed line at 1 the variant is faster than multi-head. A variant whose output verified wrong has no point.`,
        subtitle: 'multi-head median time / variant median time, 95 % interval; above 1 = faster',
        body: {
          width: WIDTH,
          height: HEIGHT,
          layer: [
            { data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'one', type: 'quantitative' } } },
            {
              data: { values: data },
              params: x.pick.params,
              mark: { type: 'line', point: { size: 50, filled: true } },
              encoding: {
                x: SEQ_AXIS,
                y: { field: 'speedup', type: 'quantitative', title: 'speedup over multi-head (×)', scale: { zero: false } },
                // same colours as elsewhere, but no legend entry for the baseline itself (at any dtype)
                color: { ...x.color, legend: { ...x.color.legend, values: x.color.scale.domain.filter((v) => !x.series.baselines.includes(v)) } },
                ...x.runDash,
                opacity: x.pick.opacity,
                tooltip: [
                  ...x.baseTip,
                  { field: 'speedup', title: 'speedup (×)', format: '.2f' },
                  { field: 'speedupLow', title: '95 % low', format: '.2f' },
                  { field: 'speedupHigh', title: '95 % high', format: '.2f' },
                  { field: 'ms', title: 'median ms', format: '.3f' },
                ],
              },
            },
            // the intervals after the line, so the legend (and its click) belongs to the line's layer
            {
              data: { values: data.filter((p) => p.speedupLow !== null) },
              mark: { type: 'rule', strokeWidth: 1.5 },
              encoding: { x: SEQ_AXIS, y: { field: 'speedupLow', type: 'quantitative' }, y2: { field: 'speedupHigh' }, color: x.color, opacity: x.pick.opacity },
            },
          ],
        },
      }),
    ];
  });
}

/** Median time per call against sequence length, a panel per batch size, log scale, min–max bars. */
function totalTimeChart(x: LayerContext): Chart {
  return layerChart(x, {
    id: 'total-time',
    title: 'Time per call',
    description:
      'Median time of one call of the layer against sequence length, one panel per batch size, on a log scale so that every variant stays readable. ' +
      'The vertical bars span the fastest and the slowest repetition. A result whose output verified wrong keeps its point, crossed out in red and marked WRONG.',
    subtitle: 'median over repetitions; bars: min to max; log scale',
    body: batchPanels(x, {
      layer: [
        spreadRule(SEQ_AXIS, x.color, x.pick.opacity),
        {
          params: x.pick.params,
          mark: { type: 'line', point: { size: 40, filled: true } },
          encoding: {
            x: SEQ_AXIS,
            y: { field: 'ms', type: 'quantitative', title: 'time per call (ms, log scale)', scale: { type: 'log', nice: false } },
            color: x.color,
            ...x.runDash,
            opacity: x.pick.opacity,
            tooltip: [
              ...x.baseTip,
              ...spreadTips(),
              { field: 'n', title: 'repetitions' },
              { field: 'wrong', title: 'verified wrong' },
            ],
          },
        },
        ...wrongMarks(SEQ_AXIS, { field: 'ms', type: 'quantitative' }),
      ],
    }),
  });
}

/** One row per stage of each drawn result, for the stacked bars: a panel per variant (at its weight dtype) and batch size (and run), wrapped so a row of panels holds one variant. */
function stageRows(x: LayerContext, drawn: readonly Drawable[]) {
  const variants = x.color.scale.domain;
  return drawn.flatMap(({ run, runIndex, r }) =>
    r.stages.map((s, order) => ({
      panel: `${x.series.of(r)} · ${x.multiRun ? `${run.label} · ` : ''}batch ${r.batch}`,
      // variant (and dtype), then run, then batch: each wrapped row of panels is one variant
      panelOrder: variants.indexOf(x.series.of(r)) * 1e9 + runIndex * 1e6 + r.batch,
      run: run.label,
      attention: r.attention,
      ...precisionFields(r, x.series.named),
      batch: r.batch,
      seq: r.seq,
      stage: s.name,
      order,
      ms: s.wallMs,
      kernelMs: s.kernelMs,
      hostMs: s.hostMs,
    })),
  );
}

/** Stacked bars: each call split into its stages, a panel per variant and batch size (and run). */
function stagesChart(x: LayerContext): Chart | null {
  // a bar needs room: fewer sequence lengths per panel than the other charts draw points
  const thin = drawable(x.all, { xs: MAX_BARS });
  const rows = stageRows(x, thin.points);
  if (rows.length === 0) return null;
  const stagePick = highlight('stage');
  return layerChart(x, {
    id: 'stages',
    title: 'Where the time goes: stages',
    description:
      "Each bar is one call of the layer split into its stages (the seed's ranges: projection to q, k, v; splitting them into heads; " +
      'attention weights q·kᵀ; output weights·v). One panel per variant and batch size. Times are medians of profiled runs.',
    subtitle: 'stacked stage times of one call (profiled runs), per variant and sequence length',
    drawn: thin.note,
    body: {
      data: { values: rows },
      // one panel per variant and batch size (and run), wrapped so a row holds one variant
      facet: { field: 'panel', type: 'nominal', title: null, sort: { field: 'panelOrder' }, header: { labelFontWeight: 'bold' } },
      columns: new Set(rows.map((s) => `${s.run} ${s.batch}`)).size,
      spec: {
        // panels wide enough for their heading and the axis title
        width: { step: Math.max(16, Math.ceil(180 / new Set(rows.map((s) => s.seq)).size)) },
        height: 110,
        params: stagePick.params,
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'seq', type: 'ordinal', title: 'sequence length' },
          y: { field: 'ms', type: 'quantitative', aggregate: 'sum', title: 'ms per call' },
          color: { field: 'stage', type: 'nominal', title: 'stage', sort: { field: 'order' }, scale: { scheme: 'tableau10' } },
          order: { field: 'order' },
          opacity: stagePick.opacity,
          tooltip: [
            { field: 'attention', title: 'variant' },
            ...x.series.tips,
            { field: 'batch' },
            { field: 'seq', title: 'sequence length' },
            { field: 'stage' },
            { field: 'ms', title: 'wall ms', format: '.3f', aggregate: 'sum' },
            { field: 'kernelMs', title: 'kernel ms', format: '.3f', aggregate: 'sum' },
            { field: 'hostMs', title: 'host ms', format: '.3f', aggregate: 'sum' },
          ],
        },
      },
    },
  });
}

/** The share of a call outside the compute kernels against sequence length (our measurement; not the seed's). */
function outsideKernelsChart(x: LayerContext): Chart | null {
  const points = x.points.filter((p) => p.outsideKernels !== null);
  if (points.length === 0) return null;
  return layerChart(x, {
    id: 'outside-kernels',
    title: 'Share of a call outside the kernels',
    description:
      'The share of a call\'s wall time not spent in compute kernels: 1 − Σ kernel time / wall time of the profiled runs (scheduling, allocation, ' +
      'the binding\'s copies). High at short sequences, where bookkeeping costs as much as the arithmetic. This is not the seed\'s "cpu part", which counts ' +
      'the host waiting on the GPU: that one has a chart of its own.',
    subtitle: '1 − Σ kernel time / wall time, profiled runs',
    body: batchPanels(x, {
      params: x.pick.params,
      mark: { type: 'line', point: { size: 40, filled: true } },
      encoding: {
        x: SEQ_AXIS,
        y: { field: 'outsideKernels', type: 'quantitative', title: 'share outside the kernels', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
        color: x.color,
        ...x.runDash,
        opacity: x.pick.opacity,
        tooltip: [...x.baseTip, { field: 'outsideKernels', title: 'outside kernels', format: '.1%' }],
      },
    }, points),
  });
}

/** The seed's TOTAL cpu / (cpu + cuda), for results imported from it: its own axis, never ours. */
function seedCpuShareChart(x: LayerContext): Chart | null {
  const points = x.points.filter((p) => p.seedCpuShare !== null);
  if (points.length === 0) return null;
  return layerChart(x, {
    id: 'seed-cpu-share',
    title: "The seed's cpu part",
    description:
      "The seed's own \"cpu part\" from PyTorch's profiler: TOTAL cpu time / (cpu + cuda time), which counts the host waiting on the GPU. " +
      'Drawn apart from our share outside the kernels, which measures something else.',
    subtitle: "the seed's cpu / (cpu + cuda), as imported",
    body: batchPanels(x, {
      params: x.pick.params,
      mark: { type: 'line', point: { size: 40, filled: true } },
      encoding: {
        x: SEQ_AXIS,
        y: { field: 'seedCpuShare', type: 'quantitative', title: "the seed's cpu / (cpu + cuda)", axis: { format: '.0%' }, scale: { domain: [0, 1] } },
        color: x.color,
        ...x.runDash,
        opacity: x.pick.opacity,
        tooltip: [...x.baseTip, { field: 'seedCpuShare', title: 'cpu part', format: '.1%' }],
      },
    }, points),
  });
}

/** The roof of each run's measured ceilings over the intensities `xs`: the x range that shows every ridge, and the roof's lines and labels in it. */
function roofOf(runs: readonly LayerRun[], xs: readonly number[]) {
  const withCeilings = runs.flatMap((run) => (run.environment?.ceilings ? [{ label: run.label, rates: ceilingRates(run.environment.ceilings) }] : []));
  // the ridge point (matmul ceiling / bandwidth) of every roof, so its slope always shows
  const ridges = withCeilings.map(({ rates }) => rates.matmulGflops / rates.readGBps);
  const lo = Math.min(Math.min(...xs) / 4, ...ridges.map((r) => r / 2));
  const hi = Math.max(Math.max(...xs) * 4, ...ridges.map((r) => r * 2));
  // min(peak, I × bandwidth) is two straight lines on log-log axes: the ends and the ridge point draw it exactly
  const roof = withCeilings.flatMap(({ label, rates }) => {
    const ridge = Math.min(Math.max(rates.matmulGflops / rates.readGBps, lo), hi);
    return [lo, ridge, hi].map((intensity) => ({ run: label, intensity, gflops: roofGflops(intensity, rates) }));
  });
  // each ceiling named where it is drawn: the flat part at the right end, the slope at the left
  const labels = (align: 'left' | 'right') =>
    withCeilings.map(({ label, rates }) => {
      const prefix = withCeilings.length > 1 ? `${label}: ` : '';
      return align === 'right'
        ? { intensity: hi, gflops: rates.matmulGflops, text: `${prefix}matmul ceiling ${rates.matmulGflops.toFixed(0)} GFLOP/s` }
        : { intensity: lo, gflops: lo * rates.readGBps, text: `${prefix}streaming read ${rates.readGBps.toFixed(1)} GB/s` };
    });
  return { runs: withCeilings.length, lo, hi, roof, labels };
}

/** Achieved GFLOP/s against FLOP per byte, under the roof of each run's measured ceilings. */
function rooflineChart(x: LayerContext): Chart | null {
  // log axes: a configuration without a cost (no bytes or no rate) has no place on them
  const points = x.points.filter((p) => p.intensity > 0 && p.gflops > 0);
  if (points.length === 0) return null;
  const { runs, lo, hi, roof, labels } = roofOf(x.runs, points.map((p) => p.intensity));
  // with a roof, wide enough to show its slope and flat part; without one, just the points
  const xScale = runs ? { type: 'log', domain: [lo, hi], nice: false } : { type: 'log', nice: false, padding: 12 };
  const xEnc = { field: 'intensity', type: 'quantitative', title: 'arithmetic intensity (FLOP per byte, log scale)', scale: xScale };
  const yEnc = { field: 'gflops', type: 'quantitative', title: 'achieved GFLOP/s (log scale)', scale: { type: 'log', nice: false, padding: 12 } };
  const roofDash: Enc = runs > 1 ? { strokeDash: { field: 'run', type: 'nominal', title: 'ceilings of' } } : {};
  const layers: unknown[] = [];
  if (roof.length) {
    const label = (align: 'left' | 'right') => ({
      data: { values: labels(align) },
      mark: { type: 'text', fontSize: 11, color: '#444', baseline: 'bottom', align, dx: align === 'left' ? 4 : -4, dy: -4 },
      encoding: { x: xEnc, y: yEnc, text: { field: 'text' } },
    });
    layers.push({ data: { values: roof }, mark: { type: 'line', color: '#666', strokeWidth: 1.5 }, encoding: { x: xEnc, y: yEnc, ...roofDash } }, label('left'), label('right'));
  }
  layers.push({
    data: { values: points },
    params: x.pick.params,
    mark: { type: 'point', filled: true, size: 60 },
    encoding: {
      x: xEnc,
      y: yEnc,
      color: x.color,
      ...x.runShape,
      opacity: x.pick.opacity,
      tooltip: [...x.baseTip, { field: 'gflops', title: 'GFLOP/s', format: '.1f' }, { field: 'intensity', title: 'FLOP/byte', format: '.2f' }],
    },
  });
  const subtitle = roof.length
    ? 'one point per configuration; grey: the roof set by the measured ceilings'
    : 'one point per configuration; no ceilings were measured for these results (imported), so no roof';
  return layerChart(x, {
    id: 'roofline',
    title: 'Roofline',
    description:
      'Each configuration as achieved GFLOP/s against its arithmetic intensity (FLOPs per byte the task must move). ' +
      'The grey roof is what this machine allows, from the fastest probes of the run: the streaming-read bandwidth on the left slope, the matmul ceiling on the flat part; the distance below it is what is left on the table.',
    subtitle,
    body: { width: WIDTH + 60, height: HEIGHT + 40, layer: layers },
  });
}

/** Every chart of the layer runs of one shape (`section`: when the report holds several). */
export function layerCharts(runs: readonly LayerRun[], section?: { id: string; title: string }): Chart[] {
  if (runs.length === 0) return [];
  const x = context(runs, section);
  return [...speedupCharts(x), totalTimeChart(x), stagesChart(x), outsideKernelsChart(x), seedCpuShareChart(x), rooflineChart(x)].filter((c): c is Chart => c !== null);
}
