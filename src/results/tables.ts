/**
 * The result files as tables (one column set each, used by the CLI, the report, compare
 * and the benches): a layer sweep as llama-bench prints one, a generation comparison per
 * attention type, a decode-step comparison per type and configuration. What the three share
 * (comparison.ts: the timed samples, the speedup with its interval, the floors, the check,
 * the broken bounds, the stages) is one column group each, written once.
 */
import type { Cell, Column, Row, Table } from '../table/table.ts';
import type { Compared, Comparison, Speedup } from './comparison.ts';
import type { DecodeResult, GenerateResultFile, LayerResult } from './schema.ts';

/** The variant every speedup is taken against: defined with the speedups, in bounds.ts. */
export { BASELINE } from './bounds.ts';

/** A speedup with its interval as people read it: "1.52 [1.47–1.58]". */
export const speedupText = (s: Speedup | null): string | null => (s ? `${s.ratio.toFixed(2)} [${s.low.toFixed(2)}–${s.high.toFixed(2)}]` : null);

/** A float64 check as people read it: "ok 2.1e-7", or "WRONG 0.13" beyond the tolerance. */
export const verifyText = (v: Compared['verify']): string | null => (v ? `${v.ok ? 'ok' : 'WRONG'} ${v.maxRelError.toExponential(1)}` : null);

const pct = (f: number | null) => (f === null ? null : 100 * f);

/** Some columns of a table and the cells a result gives them. */
interface Columns<R> {
  columns: Column[];
  cells: (r: R) => Row;
}

/** The table of `results` whose columns are `groups`, in order. */
const rowsOf = <R>(groups: readonly Columns<R>[], results: readonly R[]): Pick<Table, 'columns' | 'rows'> => ({
  columns: groups.flatMap((g) => g.columns),
  rows: results.map((r) => Object.assign({}, ...groups.map((g) => g.cells(r))) as Row),
});

const cellsOf = <R>(columns: Column[], cells: (r: R) => Record<string, Cell>): Columns<R> => ({ columns, cells });

/** The record's timed samples: median (`median` names it), spread, and optionally the slowest and p90 runs. */
const timing = (median: string, tail: boolean): Columns<Comparison> =>
  cellsOf(
    [
      { key: 'medianMs', label: median, numeric: true, digits: 3 },
      { key: 'stddevMs', label: '± sd', numeric: true, digits: 3 },
      { key: 'minMs', label: 'min', numeric: true, digits: 3 },
      ...(tail ? [{ key: 'maxMs', label: 'max', numeric: true, digits: 3 }, { key: 'p90Ms', label: 'p90', numeric: true, digits: 3 }] : []),
      { key: 'n', label: 'n', numeric: true },
    ],
    (r) => ({ medianMs: r.ms.median, stddevMs: r.ms.stddev, minMs: r.ms.min, ...(tail ? { maxMs: r.ms.max, p90Ms: r.ms.p90 } : {}), n: r.ms.n }),
  );

/** A speedup over multi-head with its interval, as people read it (`label` [95 % CI]) and as numbers for machines. */
const speedup = <R>(label: string, of: (r: R) => Speedup | null): Columns<R> =>
  cellsOf(
    [
      { key: 'speedup', label: `${label} [95 % CI]` },
      { key: 'speedupVsMha', label, numeric: true, machineOnly: true },
      { key: 'speedupLow', label: 'CI low', numeric: true, machineOnly: true },
      { key: 'speedupHigh', label: 'CI high', numeric: true, machineOnly: true },
    ],
    (r) => {
      const s = of(r);
      return { speedup: speedupText(s), speedupVsMha: s?.ratio ?? null, speedupLow: s?.low ?? null, speedupHigh: s?.high ?? null };
    },
  );

/** The record's task and implementation floors. */
const floors: Columns<Comparison> = cellsOf(
  [
    { key: 'taskFloorMs', label: 'task floor ms', numeric: true, digits: 3 },
    { key: 'implementationFloorMs', label: 'impl. floor ms', numeric: true, digits: 3 },
  ],
  (r) => ({ taskFloorMs: r.taskFloorMs, implementationFloorMs: r.implementationFloorMs }),
);

/** The record's check against its reference (`label`: what it was checked against) and the bounds it broke. */
const checked = (label: string): Columns<Compared> =>
  cellsOf(
    [
      { key: 'check', label },
      { key: 'flags', label: 'bounds broken' },
    ],
    (r) => ({ check: verifyText(r.verify), flags: r.flags.length ? r.flags.join('; ') : null }),
  );

/** What a precision costs as people read it: "1.4e-2", and for a generation "97 % tokens (first diff 12)". */
export function qualityText(q: Compared['quality']): string | null {
  if (!q) return null;
  const tokens = q.agreement === undefined ? '' : `; ${Math.round(100 * q.agreement)} % tokens as float32${q.firstDifference === null || q.firstDifference === undefined ? '' : ` (first diff at ${q.firstDifference})`}`;
  return `${q.maxRelError.toExponential(1)}${tokens}`;
}

/** The dtypes a record ran at (the weights'; the cache's where there is one) and its error against float32. */
const precision = <R extends Compared & { kvDtype?: string }>(cache: boolean): Columns<R> =>
  cellsOf(
    [
      { key: 'weightDtype', label: 'weights' },
      ...(cache ? [{ key: 'kvDtype', label: 'KV cache' }] : []),
      { key: 'quality', label: 'error vs float32' },
    ],
    (r) => ({ weightDtype: r.weightDtype, ...(cache ? { kvDtype: r.kvDtype ?? 'float32' } : {}), quality: qualityText(r.quality) }),
  );

/** The record's stage split. */
const stages: Columns<Comparison> = cellsOf([{ key: 'stagesMs', label: 'stages (ms)' }], (r) => ({
  stagesMs: r.stages.length ? r.stages.map((s) => `${s.name} ${s.wallMs.toFixed(2)}`).join(', ') : null,
}));

const LAYER_GROUPS: Columns<LayerResult>[] = [
  cellsOf(
    [
      { key: 'variant', label: 'variant' },
      { key: 'mode', label: 'mode', machineOnly: true },
      { key: 'batch', label: 'batch', numeric: true },
      { key: 'seq', label: 'seq', numeric: true },
      { key: 'kvHeads', label: 'kv heads', numeric: true },
    ],
    (r) => ({ variant: r.attention, mode: r.mode, batch: r.batch, seq: r.seq, kvHeads: r.kvHeads }),
  ),
  precision(false),
  timing('median ms', true),
  speedup('× vs MHA', (r) => r.speedup),
  cellsOf(
    [
      { key: 'gflops', label: 'GFLOP/s', numeric: true, digits: 1 },
      { key: 'computePct', label: '% matmul ceiling', numeric: true, digits: 0 },
    ],
    (r) => ({ gflops: r.gflops, computePct: pct(r.computeFraction) }),
  ),
  floors,
  cellsOf([{ key: 'outsideKernelsPct', label: '% outside kernels', numeric: true, digits: 0 }], (r) => ({ outsideKernelsPct: pct(r.outsideKernelsShare) })),
  checked('float64 check'),
  stages,
];

/** One row per configuration: its statistics, speedup over multi-head with its interval, rates, floors and the share of time outside the kernels. */
export function layerTable(results: readonly LayerResult[], title = 'Layer results'): Table {
  return {
    title,
    note:
      'Per configuration: median time per call with its spread over the timed runs (the variants of a batch and length alternated, round by round), ' +
      'the weights\' dtype and what it costs against float32 (the output\'s error), speedup over multi-head at the same dtype with its 95 % interval from the same rounds, the matmul rate as a share of the measured ceiling, the task and implementation floors, ' +
      'the share of a call outside the compute kernels, the float64 check, and any bound the measurement broke (a wrong bound, never a speed).',
    ...rowsOf(LAYER_GROUPS, results),
  };
}

const MIB = 2 ** 20;

type GenerateResult = GenerateResultFile['results'][number];

/** A generation comparison's own columns, before its speedups: the run's shape, its prefill and decode steps, throughput, cache and memory. */
function generationColumns({ config, resolved }: Pick<GenerateResultFile, 'config' | 'resolved'>): Columns<GenerateResult> {
  return cellsOf(
    [
      { key: 'attention', label: 'attention' },
      { key: 'kvHeads', label: 'kv heads', numeric: true },
      { key: 'parametersM', label: 'params (M)', numeric: true, digits: 2 },
      { key: 'batch', label: 'batch', numeric: true },
      { key: 'prompt', label: 'prompt', numeric: true },
      { key: 'maxLength', label: 'max length', numeric: true },
      { key: 'beams', label: 'beams', numeric: true },
      { key: 'prefillMs', label: 'prefill ms', numeric: true, digits: 2 },
      { key: 'decodeMs', label: 'decode ms/step', numeric: true, digits: 3 },
      { key: 'decodeSd', label: '± sd', numeric: true, digits: 3 },
      { key: 'decodeN', label: 'n', numeric: true },
      { key: 'taskFloorMs', label: 'task floor ms', numeric: true, digits: 3 },
      { key: 'vsTaskFloor', label: '× task floor', numeric: true, digits: 2 },
      { key: 'implementationFloorMs', label: 'impl. floor ms @ max context', numeric: true, digits: 3 },
      { key: 'maxContext', label: 'max context', numeric: true },
      { key: 'msAtMaxContext', label: 'ms @ max context', numeric: true, digits: 3 },
      { key: 'tokensPerSecond', label: 'tokens/s', numeric: true, digits: 1 },
      { key: 'decodeTokensPerSecond', label: 'decode tokens/s', numeric: true, digits: 1 },
      { key: 'kvCacheMiB', label: 'KV MiB', numeric: true, digits: 2 },
      { key: 'kvPredictedMiB', label: 'KV MiB predicted', numeric: true, digits: 2 },
      { key: 'peakRssMiB', label: 'peak RSS MiB', numeric: true, digits: 0 },
      { key: 'beamReorderMs', label: 'beam reorder ms', numeric: true, digits: 1 },
    ],
    (r) => ({
      attention: r.attention,
      kvHeads: r.kvHeads,
      parametersM: r.parameters / 1e6,
      batch: resolved.batch,
      prompt: resolved.promptLength,
      maxLength: resolved.promptLength + resolved.maxNewTokens,
      beams: config.numBeams,
      prefillMs: r.prefillMs.median,
      decodeMs: r.decodeMsPerToken.median,
      decodeSd: r.decodeMsPerToken.stddev,
      decodeN: r.decodeMsPerToken.n,
      taskFloorMs: r.taskFloorMs,
      vsTaskFloor: r.vsTaskFloor,
      implementationFloorMs: r.profiledStep?.floorMs ?? null,
      maxContext: r.atMaxContext?.context ?? null,
      msAtMaxContext: r.atMaxContext?.ms ?? null,
      tokensPerSecond: r.tokensPerSecond,
      decodeTokensPerSecond: r.decodeTokensPerSecond,
      kvCacheMiB: r.kvCacheBytes.measured / MIB,
      kvPredictedMiB: r.kvCacheBytes.predicted / MIB,
      peakRssMiB: r.peakRssBytes / MIB,
      beamReorderMs: config.numBeams > 1 ? r.beamReorderMs : null,
    }),
  );
}

/** The speedups of a whole generation beside the decode step's: at the largest context (a point estimate) and of the generation. */
const generationSpeedups: Columns<GenerateResult> = cellsOf(
  [
    { key: 'speedupVsMhaAtMaxContext', label: '× @ max context', numeric: true, digits: 2 },
    { key: 'generateSpeedup', label: '× generate [95 % CI]' },
  ],
  (r) => ({ speedupVsMhaAtMaxContext: r.speedupAtMaxContext, generateSpeedup: speedupText(r.generateSpeedup) }),
);

/** One row per attention type of a generation comparison. */
export function generationTable(file: Pick<GenerateResultFile, 'config' | 'resolved' | 'results'>, title = 'Generation results'): Table {
  const { columns, rows } = rowsOf([generationColumns(file), precision<GenerateResult>(true), speedup<GenerateResult>('× vs MHA step', (r) => r.speedup), generationSpeedups, checked('first step vs CPU')], file.results);
  return {
    title,
    note:
      'Per attention type (the types alternated, one generation each per round): prompt processing (prefill), one decoding step (median ± sd over every step of every timed generation, ' +
      'its task floor — weights and the live KV cache read once — and how far above it; the implementation floor of a step profiled at the largest context), ' +
      'the step at the largest context, throughput, KV cache at the end (measured, predicted), peak memory, and the speedups over multi-head with their 95 % intervals.',
    // the device check's column only where a type was checked (a run on a device): a CPU run's table is as it was
    columns: columns.filter((c) => c.key !== 'check' || file.results.some((r) => r.verify)),
    rows,
  };
}

const DECODE_GROUPS: Columns<DecodeResult>[] = [
  cellsOf(
    [
      { key: 'attention', label: 'attention' },
      { key: 'kvHeads', label: 'kv heads', numeric: true },
      { key: 'batch', label: 'batch', numeric: true },
      { key: 'context', label: 'context', numeric: true },
    ],
    (r) => ({ attention: r.attention, kvHeads: r.kvHeads, batch: r.batch, context: r.context }),
  ),
  precision(true),
  timing('ms/step', false),
  speedup('× vs MHA', (r) => r.speedup),
  cellsOf(
    [
      { key: 'tokensPerSecond', label: 'tokens/s', numeric: true, digits: 1 },
      { key: 'kvCacheMiB', label: 'live KV MiB', numeric: true, digits: 2 },
    ],
    (r) => ({ tokensPerSecond: r.tokensPerSecond, kvCacheMiB: r.kvCacheBytes / MIB }),
  ),
  floors,
  cellsOf([{ key: 'memoryPct', label: '% read ceiling', numeric: true, digits: 0 }], (r) => ({ memoryPct: pct(r.memoryFraction) })),
  checked('float64 check'),
  stages,
];

/** One row per attention type and configuration of a decode-step comparison. */
export function decodeTable(results: readonly DecodeResult[], title = 'Decode-step results'): Table {
  return {
    title,
    note:
      'Per attention type, batch and context (the types alternated, one step each per round): one decode step against a KV cache of context − 1 positions, ' +
      'the weights\' and the cache\'s dtypes and what they cost against float32 (the logits\' error), median with its spread, the speedup over multi-head at the same dtypes with its 95 % interval from the same rounds, tokens per second, the live cache it reads, ' +
      'its task and implementation floors and the task bytes as a share of the read ceiling, the float64 check of its logits, and any bound it broke.',
    ...rowsOf(DECODE_GROUPS, results),
  };
}
