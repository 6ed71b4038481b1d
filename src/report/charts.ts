/**
 * The report's charts as Vega-Lite specs with their data inlined: the same spec is drawn
 * to SVG/PNG in Node and interactively in the HTML page.
 *
 * Conventions every chart keeps, so a reader learns them once: colour = attention variant
 * (the same colour for a variant in every chart), line dash or point shape = run (only when
 * several files are merged), a click on a legend entry highlights that series, hovering a
 * mark shows its values.
 */
import type { TopLevelSpec } from 'vega-lite';
import { ALIASES, VARIANT_KINDS, type VariantKind } from '../attention/spec.ts';
import type { Environment } from '../results/schema.ts';
import { speedupVsBaseline } from '../results/tables.ts';
import { generateRuns, layerRuns } from './load.ts';
import { type Run } from '../results/io.ts';

export interface Chart {
  /** File stem of the chart's SVG and PNG, and its anchor in the page. */
  id: string;
  title: string;
  /** One or two sentences on how to read it, shown under the chart. */
  description: string;
  spec: TopLevelSpec;
}

type Enc = Record<string, unknown>;

const BASELINE = 'multi-head';
/** One panel per batch size, headed "batch 8". */
const BATCH_COLUMN = { field: 'batch', type: 'ordinal', title: null, header: { labelExpr: "'batch ' + datum.value", labelFontWeight: 'bold' } };
const WIDTH = 420;
const HEIGHT = 260;

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

/** The legend-click highlight: a point selection on `field` bound to the legend; the rest fade to `faded`. */
function highlight(field: string, shown = 1, faded = 0.15): { params: unknown[]; opacity: Enc } {
  return {
    params: [{ name: `pick_${field}`, select: { type: 'point', fields: [field] }, bind: 'legend' }],
    opacity: { condition: { param: `pick_${field}`, value: shown }, value: faded },
  };
}

/** Variant names in the project's order (multi-head first, as the baseline), then by group count. */
const variantOrder = (xs: Iterable<string>) => {
  const rank = (name: string) => {
    const base = name.split(':')[0]!;
    const i = VARIANT_KINDS.indexOf(ALIASES[base] ?? (base as VariantKind));
    return i < 0 ? VARIANT_KINDS.length : i;
  };
  return [...new Set(xs)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
};

/** A chart: its Vega-Lite spec gets the title (and a subtitle saying what is plotted) and the shared settings. */
function chart(c: Omit<Chart, 'spec'> & { subtitle: string; body: Record<string, unknown> }): Chart {
  const { subtitle, body, ...meta } = c;
  const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: { text: c.title, subtitle }, ...CONFIG, ...body };
  return { ...meta, spec: spec as TopLevelSpec };
}

// ---------------------------------------------------------------------------
// Layer results

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

function layerPoints(runs: readonly Run[]): LayerPoint[] {
  return layerRuns(runs).flatMap((run) => {
    return run.results.map((r) => ({
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
    }));
  });
}

function layerCharts(runs: readonly Run[]): Chart[] {
  const lruns = layerRuns(runs);
  if (lruns.length === 0) return [];
  const points = layerPoints(runs);
  const multiRun = lruns.length > 1;
  const variantColor = { field: 'variant', type: 'nominal', title: 'variant', scale: { domain: variantOrder(points.map((p) => p.variant)) } };
  const runDash: Enc = multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {};
  const runShape: Enc = multiRun ? { shape: { field: 'run', type: 'nominal', title: 'run' } } : {};
  const seqAxis = { field: 'seq', type: 'quantitative', title: 'sequence length' };
  const pick = highlight('variant');
  const baseTip = [
    ...(multiRun ? [{ field: 'run' }] : []),
    { field: 'variant' },
    { field: 'batch' },
    { field: 'seq', title: 'sequence length' },
  ];
  const charts: Chart[] = [];

  // the seed's two plots: one per batch size
  for (const batch of [...new Set(points.map((p) => p.batch))].sort((a, b) => a - b)) {
    const data = points.filter((p) => p.batch === batch && p.variant !== BASELINE && p.speedup !== null);
    if (data.length === 0) continue;
    charts.push(chart({
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
            params: pick.params,
            mark: { type: 'line', point: { size: 50, filled: true } },
            encoding: {
              x: seqAxis,
              y: { field: 'speedup', type: 'quantitative', title: 'speedup over multi-head (×)', scale: { zero: false } },
              // same colours as elsewhere, but no legend entry for the baseline itself
              color: { ...variantColor, legend: { values: variantColor.scale.domain.filter((v) => v !== BASELINE) } },
              ...runDash,
              opacity: pick.opacity,
              tooltip: [...baseTip, { field: 'speedup', title: 'speedup (×)', format: '.2f' }, { field: 'ms', title: 'median ms', format: '.3f' }],
            },
          },
        ],
      },
    }));
  }

  charts.push(chart({
    id: 'total-time',
    title: 'Time per call',
    description:
      'Median time of one call of the layer against sequence length, one panel per batch size, on a log scale so that every variant stays readable. ' +
      'The vertical bars span the fastest and the slowest repetition.',
    subtitle: 'median over repetitions; bars: min to max; log scale',
    body: {
      data: { values: points },
      facet: { column: BATCH_COLUMN },
      spec: {
        width: 300,
        height: HEIGHT,
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: { x: seqAxis, y: { field: 'minMs', type: 'quantitative' }, y2: { field: 'maxMs' }, color: variantColor, opacity: pick.opacity },
          },
          {
            params: pick.params,
            mark: { type: 'line', point: { size: 40, filled: true } },
            encoding: {
              x: seqAxis,
              y: { field: 'ms', type: 'quantitative', title: 'time per call (ms, log scale)', scale: { type: 'log', nice: false } },
              color: variantColor,
              ...runDash,
              opacity: pick.opacity,
              tooltip: [
                ...baseTip,
                { field: 'ms', title: 'median ms', format: '.3f' },
                { field: 'minMs', title: 'min ms', format: '.3f' },
                { field: 'maxMs', title: 'max ms', format: '.3f' },
                { field: 'n', title: 'repetitions' },
              ],
            },
          },
        ],
      },
      resolve: { scale: { y: 'shared' } },
    },
  }));

  const variants = variantColor.scale.domain;
  const stageRows = lruns.flatMap((run, runIndex) =>
    run.results.flatMap((r) =>
      r.stages.map((s, order) => ({
        panel: `${r.variant} · ${multiRun ? `${run.label} · ` : ''}batch ${r.batch}`,
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
  if (stageRows.length > 0) {
    const stagePick = highlight('stage');
    charts.push(chart({
      id: 'stages',
      title: 'Where the time goes: stages',
      description:
        'Each bar is one call of the layer split into its stages (the seed\'s ranges: projection to q, k, v; splitting them into heads; ' +
        'attention weights q·kᵀ; output weights·v). One panel per variant and batch size. Times are medians of profiled runs.',
      subtitle: 'stacked stage times of one call (profiled runs), per variant and sequence length',
      body: {
        data: { values: stageRows },
        // one panel per variant and batch size (and run), wrapped so a row holds one variant
        facet: { field: 'panel', type: 'nominal', title: null, sort: { field: 'panelOrder' }, header: { labelFontWeight: 'bold' } },
        columns: new Set(stageRows.map((s) => `${s.run} ${s.batch}`)).size,
        spec: {
          // panels wide enough for their heading and the axis title
          width: { step: Math.max(16, Math.ceil(180 / new Set(stageRows.map((s) => s.seq)).size)) },
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
    }));
  }

  charts.push(chart({
    id: 'host-share',
    title: 'Host overhead share',
    description:
      'The share of a call spent outside the compute kernels (the seed\'s "cpu part": 1 − kernel time / wall time). ' +
      'High at short sequences, where launching and bookkeeping cost as much as the arithmetic.',
    subtitle: "1 − kernel time / wall time (the seed's \"cpu part\")",
    body: {
      data: { values: points },
      facet: { column: BATCH_COLUMN },
      spec: {
        width: 300,
        height: HEIGHT,
        params: pick.params,
        mark: { type: 'line', point: { size: 40, filled: true } },
        encoding: {
          x: seqAxis,
          y: { field: 'hostShare', type: 'quantitative', title: 'host share of the call', axis: { format: '.0%' }, scale: { domain: [0, 1] } },
          color: variantColor,
          ...runDash,
          opacity: pick.opacity,
          tooltip: [...baseTip, { field: 'hostShare', title: 'host share', format: '.1%' }],
        },
      },
    },
  }));

  const roofline = rooflineChart(runs, points, variantColor, runShape, pick, baseTip);
  if (roofline) charts.push(roofline);
  return charts;
}

/** Achieved GFLOP/s against FLOP per byte, under the roof min(matmul ceiling, intensity × copy bandwidth). */
function rooflineChart(runs: readonly Run[], allPoints: LayerPoint[], variantColor: Enc, runShape: Enc, pick: ReturnType<typeof highlight>, baseTip: unknown[]): Chart | null {
  const withCeilings = layerRuns(runs).filter((r) => r.environment?.ceilings);
  // log axes: a configuration without a cost (no bytes or no rate) has no place on them
  const points = allPoints.filter((p) => p.intensity > 0 && p.gflops > 0);
  if (points.length === 0) return null;
  const xs = points.map((p) => p.intensity);
  // the ridge point (matmul ceiling / bandwidth) of every roof, so its slope always shows
  const ridges = withCeilings.map((run) => run.environment!.ceilings!.matmulGflops.median / run.environment!.ceilings!.copyGBps.median);
  const lo = Math.min(Math.min(...xs) / 4, ...ridges.map((r) => r / 2));
  const hi = Math.max(Math.max(...xs) * 4, ...ridges.map((r) => r * 2));
  // min(peak, I × bandwidth) is two straight lines on log-log axes: the ends and the ridge point draw it exactly
  const roof = withCeilings.flatMap((run) => {
    const c = run.environment!.ceilings!;
    const peak = c.matmulGflops.median;
    const bw = c.copyGBps.median;
    const ridge = Math.min(Math.max(peak / bw, lo), hi);
    return [lo, ridge, hi].map((intensity) => ({ run: run.label, intensity, gflops: Math.min(peak, intensity * bw) }));
  });
  // each ceiling named where it is drawn: the flat part at the right end, the slope at the left
  const labels = (align: 'left' | 'right') =>
    withCeilings.map((run) => {
      const c = run.environment!.ceilings!;
      const prefix = withCeilings.length > 1 ? `${run.label}: ` : '';
      return align === 'right'
        ? { intensity: hi, gflops: c.matmulGflops.median, text: `${prefix}matmul ceiling ${c.matmulGflops.median.toFixed(0)} GFLOP/s` }
        : { intensity: lo, gflops: lo * c.copyGBps.median, text: `${prefix}copy ${c.copyGBps.median.toFixed(1)} GB/s` };
    });
  // with a roof, wide enough to show its slope and flat part; without one, just the points
  const xScale = withCeilings.length ? { type: 'log', domain: [lo, hi], nice: false } : { type: 'log', nice: false, padding: 12 };
  const x = { field: 'intensity', type: 'quantitative', title: 'arithmetic intensity (FLOP per byte, log scale)', scale: xScale };
  const y = { field: 'gflops', type: 'quantitative', title: 'achieved GFLOP/s (log scale)', scale: { type: 'log', nice: false, padding: 12 } };
  const roofDash: Enc = withCeilings.length > 1 ? { strokeDash: { field: 'run', type: 'nominal', title: 'ceilings of' } } : {};
  const layers: unknown[] = [];
  if (roof.length) {
    const label = (align: 'left' | 'right') => ({
      data: { values: labels(align) },
      mark: { type: 'text', fontSize: 11, color: '#444', baseline: 'bottom', align, dx: align === 'left' ? 4 : -4, dy: -4 },
      encoding: { x, y, text: { field: 'text' } },
    });
    layers.push({ data: { values: roof }, mark: { type: 'line', color: '#666', strokeWidth: 1.5 }, encoding: { x, y, ...roofDash } }, label('left'), label('right'));
  }
  layers.push({
    data: { values: points },
    params: pick.params,
    mark: { type: 'point', filled: true, size: 60 },
    encoding: {
      x,
      y,
      color: variantColor,
      ...runShape,
      opacity: pick.opacity,
      tooltip: [...baseTip, { field: 'gflops', title: 'GFLOP/s', format: '.1f' }, { field: 'intensity', title: 'FLOP/byte', format: '.2f' }],
    },
  });
  const subtitle = roof.length
    ? 'one point per configuration; grey: the roof set by the measured ceilings'
    : 'one point per configuration; no ceilings were measured for these results (imported), so no roof';
  return chart({
    id: 'roofline',
    title: 'Roofline',
    description:
      'Each configuration as achieved GFLOP/s against its arithmetic intensity (FLOPs per byte it must move). ' +
      'The grey roof is what this machine allows: the copy bandwidth on the left slope, the matmul ceiling on the flat part; the distance below it is what is left on the table.',
    subtitle,
    body: { width: WIDTH + 60, height: HEIGHT + 40, layer: layers },
  });
}

// ---------------------------------------------------------------------------
// Generation results

function generateCharts(runs: readonly Run[]): Chart[] {
  const gruns = generateRuns(runs);
  if (gruns.length === 0) return [];
  const multiRun = gruns.length > 1;
  const results = gruns.flatMap((run) => run.results.map((r) => ({ run: run.label, r })));
  const color = { field: 'attention', type: 'nominal', title: 'attention', scale: { domain: variantOrder(results.map((x) => x.r.attention)) } };
  const pick = highlight('attention');
  const runTip = multiRun ? [{ field: 'run' }] : [];
  // bar charts of several runs: one panel per run
  // (every chart here groups bars with xOffset, where the step is the width of one bar)
  const perRun = (body: Record<string, unknown>) => {
    const unit = { width: { step: 34 }, height: HEIGHT, ...body };
    return multiRun ? { facet: { column: { field: 'run', type: 'nominal', title: null } }, spec: unit } : unit;
  };
  const attentionX = { field: 'attention', type: 'nominal', title: null, sort: color.scale.domain, axis: { labelAngle: -25 } };
  /** Grouped bars: one bar per attention type and measure, the measures told apart by shade. */
  const bars = (measures: string[], y: Enc, tip: unknown[]) => {
    const measurePick = highlight('measure');
    return {
      params: measurePick.params,
      mark: { type: 'bar' },
      encoding: {
        x: attentionX,
        xOffset: { field: 'measure', type: 'nominal', sort: measures },
        y,
        color: { field: 'measure', type: 'nominal', title: null, sort: measures, scale: { domain: measures, range: ['#4c78a8', '#9ecae9', '#bab0ac'] } },
        opacity: measurePick.opacity,
        tooltip: [...runTip, { field: 'attention' }, { field: 'measure' }, ...tip],
      },
    };
  };
  const charts: Chart[] = [];

  const steps = results.flatMap(({ run, r }) => r.steps.map((s) => ({ run, attention: r.attention, context: s.context, ms: s.ms, floorMs: s.floorMs })));
  if (steps.length) {
    const dash: Enc = multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {};
    const x = { field: 'context', type: 'quantitative', title: 'context length (tokens)' };
    const floors = steps.filter((s) => s.floorMs !== null);
    const y = { field: 'ms', type: 'quantitative', title: 'ms per decode step' };
    const tooltip = [...runTip, { field: 'attention' }, { field: 'context', title: 'context' }, { field: 'ms', title: 'ms', format: '.3f' }, { field: 'floorMs', title: 'floor ms', format: '.3f' }];
    // a few steps read well as a line through them; hundreds of noisy steps need a trend: faint points and a loess curve
    const many = Math.max(...results.map(({ r }) => r.steps.length)) > 24;
    const measured = many
      ? [
          { data: { values: steps }, params: pick.params, mark: { type: 'point', filled: true, size: 12 }, encoding: { x, y, color, opacity: highlight('attention', 0.3, 0.04).opacity, tooltip } },
          {
            data: { values: steps },
            transform: [{ loess: 'ms', on: 'context', groupby: ['attention', 'run'], bandwidth: 0.4 }],
            mark: { type: 'line', strokeWidth: 2.5 },
            encoding: { x, y, color, ...dash, opacity: pick.opacity },
          },
        ]
      : [{ data: { values: steps }, params: pick.params, mark: { type: 'line', point: { size: 30, filled: true } }, encoding: { x, y, color, ...dash, opacity: pick.opacity, tooltip } }];
    charts.push(chart({
      id: 'decode-latency',
      title: 'Decode step latency',
      description:
        'Time of one decoding step (one new token for every row) against the context length it attends to' +
        (many ? ': every step as a faint point, and a smoothed (loess) curve per attention type. ' : '. ') +
        'Multi-query and grouped-query attention read a smaller KV cache, so their curves rise more slowly.' +
        (floors.length ? ' Thin dashed lines: the roofline floor of each step (weights and KV cache read once at the measured bandwidth).' : ''),
      subtitle: `median step time against context length${many ? '; curves: loess trend' : ''}${floors.length ? '; dashed: roofline floor' : ''}`,
      body: {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          ...(floors.length
            ? [{ data: { values: floors }, mark: { type: 'line', strokeDash: [3, 3], strokeWidth: 1 }, encoding: { x, y: { field: 'floorMs', type: 'quantitative' }, color, detail: { field: 'run' }, opacity: pick.opacity } }]
            : []),
          ...measured,
        ],
      },
    }));
  }

  const throughput = results.flatMap(({ run, r }) => [
    { run, attention: r.attention, measure: 'whole generation', tokensPerSecond: r.tokensPerSecond },
    { run, attention: r.attention, measure: 'decode steps', tokensPerSecond: r.decodeTokensPerSecond },
  ]);
  charts.push(chart({
    id: 'tokens-per-second',
    title: 'Generation throughput',
    description: 'Generated tokens per second, all rows together (higher is better): over the whole generation (prompt included), and at the steady rate of the decode steps alone.',
    subtitle: 'tokens per second, all rows',
    body: {
      data: { values: throughput },
      ...perRun(bars(['whole generation', 'decode steps'], { field: 'tokensPerSecond', type: 'quantitative', title: 'tokens per second' }, [{ field: 'tokensPerSecond', title: 'tokens/s', format: '.1f' }])),
    },
  }));

  const kv = results.flatMap(({ run, r }) => [
    { run, attention: r.attention, measure: 'measured', bytes: r.kvCacheBytes.measured, context: r.kvCacheBytes.context },
    { run, attention: r.attention, measure: 'predicted', bytes: r.kvCacheBytes.predicted, context: r.kvCacheBytes.context },
  ]);
  charts.push(chart({
    id: 'kv-cache',
    title: 'KV cache size',
    description:
      'Bytes held by the key/value cache at the end of generation, as measured and as predicted from the shapes (2 × layers × rows × K/V heads × head size × context × 4 bytes). ' +
      'Measured can be a little higher: the cache grows in chunks.',
    subtitle: 'measured against predicted, at the end of generation',
    body: {
      data: { values: kv },
      ...perRun(bars(['measured', 'predicted'], { field: 'bytes', type: 'quantitative', title: 'KV cache (bytes)', axis: { format: '.2~s' } }, [{ field: 'bytes', title: 'bytes', format: ',' }, { field: 'context' }])),
    },
  }));

  const speedups = results.flatMap(({ run, r }) =>
    (
      [
        ['decode step (median)', r.speedupVsMha],
        ['decode step at max context', r.speedupVsMhaAtMaxContext],
        ['whole generation', r.generateSpeedupVsMha],
      ] as const
    )
      // multi-head against itself is 1 by definition
      .filter(([, v]) => v !== null && r.attention !== BASELINE)
      .map(([measure, speedup]) => ({ run, attention: r.attention, measure, speedup })),
  );
  if (speedups.length) {
    const measures = ['decode step (median)', 'decode step at max context', 'whole generation'];
    charts.push(chart({
      id: 'decode-speedup',
      title: 'Speedup over multi-head',
      description: 'Time of multi-head divided by the time of each attention type in the same run: the median decode step, the decode step at the largest context, and the whole generation. Above the dashed line at 1 it is faster than multi-head.',
      subtitle: "multi-head time / this type's; above 1 = faster",
      body: {
        data: { values: speedups },
        ...perRun({
          layer: [
            bars(measures, { field: 'speedup', type: 'quantitative', title: 'speedup over multi-head (×)' }, [{ field: 'speedup', title: 'speedup (×)', format: '.2f' }]),
            { mark: { type: 'rule', strokeDash: [4, 4], color: '#333' }, encoding: { y: { datum: 1 } } },
          ],
        }),
      },
    }));
  }
  return charts;
}

/** Where a run was measured, in a few words: CPU, cores and threads, engine version, date. */
export function machine(env: Environment | null): string {
  if (!env) return 'environment not recorded';
  if (env.importedFrom) return `imported, device ${env.device}`;
  const cores = env.cores === undefined ? '' : `, ${env.cores} cores, ${env.threads ?? '?'} threads`;
  return `${env.cpu}${cores}, onnxruntime ${env.onnxruntime}, ${env.date.slice(0, 10)}`;
}

/** Subtitle lines saying where the plotted runs were measured, so a PNG explains itself on its own. */
function withSource(charts: Chart[], runs: readonly Run[]): Chart[] {
  const lines = runs.length === 1 ? [`measured on ${machine(runs[0]!.environment)}`] : runs.map((r) => `${r.label}: ${machine(r.environment)}`);
  for (const c of charts) {
    const title = (c.spec as { title: { subtitle: string | string[] } }).title;
    title.subtitle = [title.subtitle as string, ...lines];
  }
  return charts;
}

/** Every chart the runs support, layer charts first. */
export function buildCharts(runs: readonly Run[]): Chart[] {
  return [...withSource(layerCharts(runs), layerRuns(runs)), ...withSource(generateCharts(runs), generateRuns(runs))];
}
