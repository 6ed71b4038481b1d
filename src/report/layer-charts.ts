/**
 * The charts of layer results, one function per chart: the seed's speedup plots (one per
 * batch size), time per call, the stage split, the host share and the roofline. A report
 * of several layer shapes draws each shape's charts in a section of its own.
 */
import type { LayerRun } from '../results/io.ts';
import { BASELINE, speedupVsBaseline } from '../results/tables.ts';
import { ceilingRates, roofGflops } from '../roofline/floor.ts';
import { chart, HEIGHT, highlight, variantColor, WIDTH, type Chart, type Enc, type Highlight } from './chart-style.ts';

interface LayerPoint {
  run: string;
  variant: string;
  batch: number;
  seq: number;
  ms: number;
  minMs: number;
  maxMs: number;
  n: number;
  speedup: number | null;
  hostShare: number;
  gflops: number;
  intensity: number;
}

/** What the layer charts of one section share. */
interface LayerContext {
  runs: readonly LayerRun[];
  points: LayerPoint[];
  multiRun: boolean;
  color: ReturnType<typeof variantColor>;
  /** Line dash and point shape by run, when several runs are drawn. */
  runDash: Enc;
  runShape: Enc;
  pick: Highlight;
  baseTip: unknown[];
  /** The section, when the report holds several layer shapes: ids and titles name it. */
  section?: { id: string; title: string };
}

/** One panel per batch size, headed "batch 8". */
const BATCH_COLUMN = { field: 'batch', type: 'ordinal', title: null, header: { labelExpr: "'batch ' + datum.value", labelFontWeight: 'bold' } };
const SEQ_AXIS = { field: 'seq', type: 'quantitative', title: 'sequence length' };

function layerPoints(runs: readonly LayerRun[]): LayerPoint[] {
  return runs.flatMap((run) =>
    run.results.map((r) => ({
      run: run.label,
      variant: r.variant,
      batch: r.batch,
      seq: r.seq,
      ms: r.totalMs.median,
      minMs: r.totalMs.min,
      maxMs: r.totalMs.max,
      n: r.totalMs.n,
      speedup: speedupVsBaseline(run.results, r), // against multi-head of the same run
      hostShare: r.hostShare,
      gflops: r.gflops,
      intensity: r.bytes > 0 ? r.flops / r.bytes : 0,
    })),
  );
}

function context(runs: readonly LayerRun[], section?: { id: string; title: string }): LayerContext {
  const points = layerPoints(runs);
  const multiRun = runs.length > 1;
  return {
    runs,
    points,
    multiRun,
    color: variantColor('variant', points.map((p) => p.variant)),
    runDash: multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {},
    runShape: multiRun ? { shape: { field: 'run', type: 'nominal', title: 'run' } } : {},
    pick: highlight('variant'),
    baseTip: [...(multiRun ? [{ field: 'run' }] : []), { field: 'variant' }, { field: 'batch' }, { field: 'seq', title: 'sequence length' }],
    ...(section ? { section } : {}),
  };
}

/** A chart of this section: in a report of several shapes its id and title name the shape. */
function layerChart(x: LayerContext, c: Parameters<typeof chart>[0]): Chart {
  if (!x.section) return chart(c);
  return chart({ ...c, id: `${c.id}-${x.section.id}`, title: `${c.title} — ${x.section.title}`, section: x.section.title });
}

/** A chart of every configuration in one panel per batch size (headed "batch 8"), on one shared y scale. */
const batchPanels = (x: LayerContext, spec: Record<string, unknown>) => ({
  data: { values: x.points },
  facet: { column: BATCH_COLUMN },
  spec: { width: 300, height: HEIGHT, ...spec },
  resolve: { scale: { y: 'shared' } },
});

/** The seed's two plots: speedup over multi-head against sequence length, one chart per batch size. */
function speedupCharts(x: LayerContext): Chart[] {
  const batches = [...new Set(x.points.map((p) => p.batch))].sort((a, b) => a - b);
  return batches.flatMap((batch) => {
    const data = x.points.filter((p) => p.batch === batch && p.variant !== BASELINE && p.speedup !== null);
    if (data.length === 0) return [];
    return [
      layerChart(x, {
        id: `speedup-batch-${batch}`,
        title: `Speedup over multi-head, batch ${batch}`,
        description:
          `Time of multi-head divided by the time of each variant at the same batch and sequence length, in the same run. ` +
          `Above the dashed line at 1 the variant is faster than multi-head.`,
        subtitle: 'multi-head median time / variant median time; above 1 = faster',
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
                // same colours as elsewhere, but no legend entry for the baseline itself
                color: { ...x.color, legend: { values: x.color.scale.domain.filter((v) => v !== BASELINE) } },
                ...x.runDash,
                opacity: x.pick.opacity,
                tooltip: [...x.baseTip, { field: 'speedup', title: 'speedup (×)', format: '.2f' }, { field: 'ms', title: 'median ms', format: '.3f' }],
              },
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
      'The vertical bars span the fastest and the slowest repetition.',
    subtitle: 'median over repetitions; bars: min to max; log scale',
    body: batchPanels(x, {
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: { x: SEQ_AXIS, y: { field: 'minMs', type: 'quantitative' }, y2: { field: 'maxMs' }, color: x.color, opacity: x.pick.opacity },
        },
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
              { field: 'ms', title: 'median ms', format: '.3f' },
              { field: 'minMs', title: 'min ms', format: '.3f' },
              { field: 'maxMs', title: 'max ms', format: '.3f' },
              { field: 'n', title: 'repetitions' },
            ],
          },
        },
      ],
    }),
  });
}

/** Stacked bars: each call split into its stages, a panel per variant and batch size (and run). */
function stagesChart(x: LayerContext): Chart | null {
  const variants = x.color.scale.domain;
  const rows = x.runs.flatMap((run, runIndex) =>
    run.results.flatMap((r) =>
      r.stages.map((s, order) => ({
        panel: `${r.variant} · ${x.multiRun ? `${run.label} · ` : ''}batch ${r.batch}`,
        // variant, then run, then batch: each wrapped row of panels is one variant
        panelOrder: variants.indexOf(r.variant) * 1e9 + runIndex * 1e6 + r.batch,
        run: run.label,
        variant: r.variant,
        batch: r.batch,
        seq: r.seq,
        stage: s.name,
        order,
        ms: s.wallMs,
        kernelMs: s.kernelMs,
        hostMs: s.hostMs,
      })),
    ),
  );
  if (rows.length === 0) return null;
  const stagePick = highlight('stage');
  return layerChart(x, {
    id: 'stages',
    title: 'Where the time goes: stages',
    description:
      "Each bar is one call of the layer split into its stages (the seed's ranges: projection to q, k, v; splitting them into heads; " +
      'attention weights q·kᵀ; output weights·v). One panel per variant and batch size. Times are medians of profiled runs.',
    subtitle: 'stacked stage times of one call (profiled runs), per variant and sequence length',
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
            { field: 'variant' },
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

/** The share of a call outside the compute kernels against sequence length. */
function hostShareChart(x: LayerContext): Chart {
  return layerChart(x, {
    id: 'host-share',
    title: 'Host overhead share',
    description:
      'The share of a call spent outside the compute kernels (the seed\'s "cpu part": 1 − kernel time / wall time). ' +
      'High at short sequences, where launching and bookkeeping cost as much as the arithmetic.',
    subtitle: "1 − kernel time / wall time (the seed's \"cpu part\")",
    body: batchPanels(x, {
      params: x.pick.params,
      mark: { type: 'line', point: { size: 40, filled: true } },
      encoding: {
        x: SEQ_AXIS,
        y: { field: 'hostShare', type: 'quantitative', title: 'host share of the call', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
        color: x.color,
        ...x.runDash,
        opacity: x.pick.opacity,
        tooltip: [...x.baseTip, { field: 'hostShare', title: 'host share', format: '.1%' }],
      },
    }),
  });
}

/** Achieved GFLOP/s against FLOP per byte, under the roof of each run's measured ceilings. */
function rooflineChart(x: LayerContext): Chart | null {
  const withCeilings = x.runs.flatMap((run) => (run.environment?.ceilings ? [{ label: run.label, rates: ceilingRates(run.environment.ceilings) }] : []));
  // log axes: a configuration without a cost (no bytes or no rate) has no place on them
  const points = x.points.filter((p) => p.intensity > 0 && p.gflops > 0);
  if (points.length === 0) return null;
  const xs = points.map((p) => p.intensity);
  // the ridge point (matmul ceiling / bandwidth) of every roof, so its slope always shows
  const ridges = withCeilings.map(({ rates }) => rates.matmulGflops / rates.copyGBps);
  const lo = Math.min(Math.min(...xs) / 4, ...ridges.map((r) => r / 2));
  const hi = Math.max(Math.max(...xs) * 4, ...ridges.map((r) => r * 2));
  // min(peak, I × bandwidth) is two straight lines on log-log axes: the ends and the ridge point draw it exactly
  const roof = withCeilings.flatMap(({ label, rates }) => {
    const ridge = Math.min(Math.max(rates.matmulGflops / rates.copyGBps, lo), hi);
    return [lo, ridge, hi].map((intensity) => ({ run: label, intensity, gflops: roofGflops(intensity, rates) }));
  });
  // each ceiling named where it is drawn: the flat part at the right end, the slope at the left
  const labels = (align: 'left' | 'right') =>
    withCeilings.map(({ label, rates }) => {
      const prefix = withCeilings.length > 1 ? `${label}: ` : '';
      return align === 'right'
        ? { intensity: hi, gflops: rates.matmulGflops, text: `${prefix}matmul ceiling ${rates.matmulGflops.toFixed(0)} GFLOP/s` }
        : { intensity: lo, gflops: lo * rates.copyGBps, text: `${prefix}copy ${rates.copyGBps.toFixed(1)} GB/s` };
    });
  // with a roof, wide enough to show its slope and flat part; without one, just the points
  const xScale = withCeilings.length ? { type: 'log', domain: [lo, hi], nice: false } : { type: 'log', nice: false, padding: 12 };
  const xEnc = { field: 'intensity', type: 'quantitative', title: 'arithmetic intensity (FLOP per byte, log scale)', scale: xScale };
  const yEnc = { field: 'gflops', type: 'quantitative', title: 'achieved GFLOP/s (log scale)', scale: { type: 'log', nice: false, padding: 12 } };
  const roofDash: Enc = withCeilings.length > 1 ? { strokeDash: { field: 'run', type: 'nominal', title: 'ceilings of' } } : {};
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
      'Each configuration as achieved GFLOP/s against its arithmetic intensity (FLOPs per byte it must move). ' +
      'The grey roof is what this machine allows: the copy bandwidth on the left slope, the matmul ceiling on the flat part; the distance below it is what is left on the table.',
    subtitle,
    body: { width: WIDTH + 60, height: HEIGHT + 40, layer: layers },
  });
}

/** Every chart of the layer runs of one shape (`section`: when the report holds several). */
export function layerCharts(runs: readonly LayerRun[], section?: { id: string; title: string }): Chart[] {
  if (runs.length === 0) return [];
  const x = context(runs, section);
  return [...speedupCharts(x), totalTimeChart(x), stagesChart(x), hostShareChart(x), rooflineChart(x)].filter((c): c is Chart => c !== null);
}
