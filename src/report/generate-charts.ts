/**
 * The charts of generation results, one function per chart: decode-step latency against
 * context (with each step's roofline floor), throughput, KV-cache size, and the speedups
 * over multi-head. A type generated at several dtype combinations is a series (a line, a
 * group of bars) per combination (dtype-series.ts).
 */
import type { GenerateRun } from '../results/io.ts';
import type { GenerateResult, Speedup } from '../results/schema.ts';
import { BASELINE } from '../results/tables.ts';
import { chart, HEIGHT, highlight, WIDTH, wrongMarks, type Chart, type Enc, type Highlight } from './chart-style.ts';
import { precisionFields, seriesStyle, type SeriesStyle } from './dtype-series.ts';

/** What the generation charts share. */
interface GenerateContext {
  results: { run: string; r: GenerateResult }[];
  multiRun: boolean;
  series: SeriesStyle;
  color: SeriesStyle['color'];
  pick: Highlight;
  /** The run's tooltip line (several runs), the type's and its named dtypes'. */
  runTip: unknown[];
  typeTip: unknown[];
  /** A bar's or point's run, type, series and the series' place in the project's order: bars are sorted by it (a field, never a list of names in the spec). */
  who: (run: string, r: GenerateResult) => Record<string, unknown>;
}

function context(runs: readonly GenerateRun[]): GenerateContext {
  const results = runs.flatMap((run) => run.results.map((r) => ({ run: run.label, r })));
  const multiRun = runs.length > 1;
  const series = seriesStyle(results.map((x) => x.r));
  const color = series.color;
  const who = (run: string, r: GenerateResult) => ({ run, attention: r.attention, ...precisionFields(r, series.named), order: color.scale.domain.indexOf(series.of(r)) });
  return { results, multiRun, series, color, pick: series.pick, runTip: multiRun ? [{ field: 'run' }] : [], typeTip: [{ field: 'attention' }, ...series.tips], who };
}

/** Bar charts of several runs get one panel per run (bars are grouped with xOffset: the step is one bar's width). */
function perRun(x: GenerateContext, body: Record<string, unknown>) {
  const unit = { width: { step: 34 }, height: HEIGHT, ...body };
  return x.multiRun ? { facet: { column: { field: 'run', type: 'nominal', title: null } }, spec: unit } : unit;
}

/** Grouped bars: one bar per attention type and measure, the measures told apart by shade. */
function bars(x: GenerateContext, measures: string[], y: Enc, tip: unknown[]) {
  const measurePick = highlight('measure');
  return {
    params: measurePick.params,
    mark: { type: 'bar' },
    encoding: {
      // sorted by a field: Vega-Lite writes a sort list into an expression, where some names cannot go (see render.ts)
      // a type's name with its dtypes gets the legend's room (dtype-series.ts): cut short, two series could read alike
      x: { field: x.series.field, type: 'nominal', title: null, sort: { field: 'order', op: 'min' }, axis: { labelAngle: -25, ...(x.color.legend ? { labelLimit: x.color.legend.labelLimit } : {}) } },
      xOffset: { field: 'measure', type: 'nominal', sort: measures },
      y,
      color: { field: 'measure', type: 'nominal', title: null, sort: measures, scale: { domain: measures, range: ['#4c78a8', '#9ecae9', '#bab0ac'] } },
      opacity: measurePick.opacity,
      tooltip: [...x.runTip, ...x.typeTip, { field: 'measure' }, ...tip],
    },
  };
}

/** One decode step's time against the context it attends to, with each step's floor dashed. */
function decodeLatencyChart(x: GenerateContext): Chart | null {
  const steps = x.results.flatMap(({ run, r }) => r.steps.map((s) => ({ run, attention: r.attention, ...precisionFields(r, x.series.named), context: s.context, ms: s.ms, floorMs: s.taskFloorMs })));
  if (steps.length === 0) return null;
  const dash: Enc = x.multiRun ? { strokeDash: { field: 'run', type: 'nominal', title: 'run' } } : {};
  const xEnc = { field: 'context', type: 'quantitative', title: 'context length (tokens)' };
  const yEnc = { field: 'ms', type: 'quantitative', title: 'ms per decode step' };
  const color = x.color;
  const floors = steps.filter((s) => s.floorMs !== null);
  const tooltip = [...x.runTip, ...x.typeTip, { field: 'context', title: 'context' }, { field: 'ms', title: 'ms', format: '.3f' }, { field: 'floorMs', title: 'task floor ms', format: '.3f' }];
  // a few steps read well as a line through them; hundreds of noisy steps need a trend: faint points and a loess curve
  const many = x.results.some(({ r }) => r.steps.length > 24);
  const measured = many
    ? [
        { data: { values: steps }, params: x.pick.params, mark: { type: 'point', filled: true, size: 12 }, encoding: { x: xEnc, y: yEnc, color, opacity: highlight(x.series.field, 0.3, 0.04).opacity, tooltip } },
        {
          data: { values: steps },
          transform: [{ loess: 'ms', on: 'context', groupby: [x.series.field, 'run'], bandwidth: 0.4 }],
          mark: { type: 'line', strokeWidth: 2.5 },
          encoding: { x: xEnc, y: yEnc, color, ...dash, opacity: x.pick.opacity },
        },
      ]
    : [{ data: { values: steps }, params: x.pick.params, mark: { type: 'line', point: { size: 30, filled: true } }, encoding: { x: xEnc, y: yEnc, color, ...dash, opacity: x.pick.opacity, tooltip } }];
  // a type whose first step verified wrong on its device keeps its curve, crossed out in red at its last step
  const wrong = x.results.filter(({ r }) => r.verify && !r.verify.ok && r.steps.length > 0).map(({ run, r }) => ({ run, attention: r.attention, ...precisionFields(r, x.series.named), context: r.steps.at(-1)!.context, ms: r.steps.at(-1)!.ms, wrong: true }));
  const crossed = wrongMarks(xEnc, yEnc).map((l) => ({ data: { values: wrong }, ...l }));
  return chart({
    id: 'decode-latency',
    title: 'Decode step latency',
    description:
      'Time of one decoding step (one new token for every row) against the context length it attends to' +
      (many ? ': every step as a faint point, and a smoothed (loess) curve per attention type. ' : '. ') +
      'Multi-query and grouped-query attention read a smaller KV cache, so their curves rise more slowly.' +
      (floors.length ? ' Thin dashed lines: the roofline floor of each step (weights and KV cache read once at the measured bandwidth).' : '') +
      (wrong.length ? ' A type whose first step on its device differed from the CPU provider\'s beyond the tolerance is crossed out in red and marked WRONG: its times are no speed.' : ''),
    subtitle: `median step time against context length${many ? '; curves: loess trend' : ''}${floors.length ? '; dashed: roofline floor' : ''}`,
    body: {
      width: WIDTH,
      height: HEIGHT,
      layer: [
        ...(floors.length
          ? [{ data: { values: floors }, mark: { type: 'line', strokeDash: [3, 3], strokeWidth: 1 }, encoding: { x: xEnc, y: { field: 'floorMs', type: 'quantitative' }, color, detail: { field: 'run' }, opacity: x.pick.opacity } }]
          : []),
        ...measured,
        ...(wrong.length ? crossed : []),
      ],
    },
  });
}

/** Tokens per second: over the whole generation and at the decode steps' rate. */
function tokensPerSecondChart(x: GenerateContext): Chart {
  const data = x.results.flatMap(({ run, r }) => [
    { ...x.who(run, r), measure: 'whole generation', tokensPerSecond: r.tokensPerSecond },
    { ...x.who(run, r), measure: 'decode steps', tokensPerSecond: r.decodeTokensPerSecond },
  ]);
  return chart({
    id: 'tokens-per-second',
    title: 'Generation throughput',
    description: 'Generated tokens per second, all rows together (higher is better): over the whole generation (prompt included), and at the steady rate of the decode steps alone.',
    subtitle: 'tokens per second, all rows',
    body: {
      data: { values: data },
      ...perRun(x, bars(x, ['whole generation', 'decode steps'], { field: 'tokensPerSecond', type: 'quantitative', title: 'tokens per second' }, [{ field: 'tokensPerSecond', title: 'tokens/s', format: '.1f' }])),
    },
  });
}

/** KV-cache bytes at the end of generation, measured against predicted. */
function kvCacheChart(x: GenerateContext): Chart {
  const data = x.results.flatMap(({ run, r }) => [
    { ...x.who(run, r), measure: 'measured', bytes: r.kvCacheBytes.measured, context: r.kvCacheBytes.context },
    { ...x.who(run, r), measure: 'predicted', bytes: r.kvCacheBytes.predicted, context: r.kvCacheBytes.context },
  ]);
  return chart({
    id: 'kv-cache',
    title: 'KV cache size',
    description:
      'Bytes held by the key/value cache at the end of generation, as measured and as predicted from the shapes (2 × layers × rows × K/V heads × head size × context × 4 bytes). ' +
      'Measured can be a little higher: the cache grows in chunks.',
    subtitle: 'measured against predicted, at the end of generation',
    body: {
      data: { values: data },
      ...perRun(x, bars(x, ['measured', 'predicted'], { field: 'bytes', type: 'quantitative', title: 'KV cache (bytes)', axis: { format: '.2~s' } }, [{ field: 'bytes', title: 'bytes', format: ',' }, { field: 'context' }])),
    },
  });
}

/** A speedup and its interval's ends (all null without one). */
const withInterval = (s: Speedup | null) => [s?.ratio ?? null, s?.low ?? null, s?.high ?? null] as const;

/** Speedup over multi-head of the median decode step, the step at the largest context, and the whole generation. */
function decodeSpeedupChart(x: GenerateContext): Chart | null {
  const measures = ['decode step (median)', 'decode step at max context', 'whole generation'];
  const data = x.results.flatMap(({ run, r }) =>
    (
      [
        [measures[0]!, ...withInterval(r.speedup)],
        [measures[1]!, r.speedupAtMaxContext, null, null],
        [measures[2]!, ...withInterval(r.generateSpeedup)],
      ] as const
    )
      // multi-head against itself is 1 by definition
      .filter(([, v]) => v !== null && r.attention !== BASELINE)
      .map(([measure, speedup, low, high]) => ({ ...x.who(run, r), measure, speedup, low, high })),
  );
  if (data.length === 0) return null;
  return chart({
    id: 'decode-speedup',
    title: 'Speedup over multi-head',
    description:
      'Time of multi-head divided by the time of each attention type, the types alternating round by round: the median decode step, the decode step at the largest context, and the whole generation. ' +
      'Black ticks: 95 % intervals (a bootstrap over the rounds). Above the dashed line at 1 it is faster than multi-head.',
    subtitle: "multi-head time / this type's, 95 % interval; above 1 = faster",
    body: {
      data: { values: data },
      ...perRun(x, {
        layer: [
          bars(x, measures, { field: 'speedup', type: 'quantitative', title: 'speedup over multi-head (×)' }, [
            { field: 'speedup', title: 'speedup (×)', format: '.2f' },
            { field: 'low', title: '95 % low', format: '.2f' },
            { field: 'high', title: '95 % high', format: '.2f' },
          ]),
          {
            transform: [{ filter: 'datum.low != null' }],
            mark: { type: 'rule', color: '#222', strokeWidth: 1.5 },
            encoding: { x: { field: x.series.field, type: 'nominal', title: null, sort: { field: 'order', op: 'min' } }, xOffset: { field: 'measure', type: 'nominal', sort: measures }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
          },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#333' }, encoding: { y: { datum: 1 } } },
        ],
      }),
    },
  });
}

/** Every chart of the generation runs. */
export function generateCharts(runs: readonly GenerateRun[]): Chart[] {
  if (runs.length === 0) return [];
  const x = context(runs);
  return [decodeLatencyChart(x), tokensPerSecondChart(x), kvCacheChart(x), decodeSpeedupChart(x)].filter((c): c is Chart => c !== null);
}
