/**
 * The result files as tables (one column set each, used by the CLI, the report, compare
 * and the benches): a layer sweep as llama-bench prints one, a generation comparison per
 * attention type, a decode-step comparison per type and configuration.
 */
import type { Column, Table } from '../table/table.ts';
import type { DecodeResult, GenerateResultFile, LayerResult } from './schema.ts';

/** The variant every speedup is taken against: defined with the speedups, in bounds.ts. */
export { BASELINE } from './bounds.ts';

type Speedup = NonNullable<LayerResult['speedup']>;

/** A speedup with its interval as people read it: "1.52 [1.47–1.58]". */
export const speedupText = (s: Speedup | null): string | null => (s ? `${s.ratio.toFixed(2)} [${s.low.toFixed(2)}–${s.high.toFixed(2)}]` : null);

/** A float64 check as people read it: "ok 2.1e-7", or "WRONG 0.13" beyond the tolerance. */
export const verifyText = (v: LayerResult['verify']): string | null => (v ? `${v.ok ? 'ok' : 'WRONG'} ${v.maxRelError.toExponential(1)}` : null);

const pct = (f: number | null) => (f === null ? null : 100 * f);

const LAYER_COLUMNS: Column[] = [
  { key: 'variant', label: 'variant' },
  { key: 'mode', label: 'mode', machineOnly: true },
  { key: 'batch', label: 'batch', numeric: true },
  { key: 'seq', label: 'seq', numeric: true },
  { key: 'kvHeads', label: 'kv heads', numeric: true },
  { key: 'medianMs', label: 'median ms', numeric: true, digits: 3 },
  { key: 'stddevMs', label: '± sd', numeric: true, digits: 3 },
  { key: 'minMs', label: 'min', numeric: true, digits: 3 },
  { key: 'maxMs', label: 'max', numeric: true, digits: 3 },
  { key: 'p90Ms', label: 'p90', numeric: true, digits: 3 },
  { key: 'n', label: 'n', numeric: true },
  { key: 'speedup', label: '× vs MHA [95 % CI]' },
  { key: 'speedupVsMha', label: '× vs MHA', numeric: true, machineOnly: true },
  { key: 'speedupLow', label: 'CI low', numeric: true, machineOnly: true },
  { key: 'speedupHigh', label: 'CI high', numeric: true, machineOnly: true },
  { key: 'gflops', label: 'GFLOP/s', numeric: true, digits: 1 },
  { key: 'computePct', label: '% matmul ceiling', numeric: true, digits: 0 },
  { key: 'taskFloorMs', label: 'task floor ms', numeric: true, digits: 3 },
  { key: 'implementationFloorMs', label: 'impl. floor ms', numeric: true, digits: 3 },
  { key: 'outsideKernelsPct', label: '% outside kernels', numeric: true, digits: 0 },
  { key: 'check', label: 'float64 check' },
  { key: 'flags', label: 'bounds broken' },
  { key: 'stagesMs', label: 'stages (ms)' },
];

/** One row per configuration: its statistics, speedup over multi-head with its interval, rates, floors and the share of time outside the kernels. */
export function layerTable(results: readonly LayerResult[], title = 'Layer results'): Table {
  return {
    title,
    note:
      'Per configuration: median time per call with its spread over the timed runs (the variants of a batch and length alternated, round by round), ' +
      'speedup over multi-head with its 95 % interval from the same rounds, the matmul rate as a share of the measured ceiling, the task and implementation floors, ' +
      'the share of a call outside the compute kernels, the float64 check, and any bound the measurement broke (a wrong bound, never a speed).',
    columns: LAYER_COLUMNS,
    rows: results.map((r) => ({
      variant: r.variant,
      mode: r.mode,
      batch: r.batch,
      seq: r.seq,
      kvHeads: r.kvHeads,
      medianMs: r.totalMs.median,
      stddevMs: r.totalMs.stddev,
      minMs: r.totalMs.min,
      maxMs: r.totalMs.max,
      p90Ms: r.totalMs.p90,
      n: r.totalMs.n,
      speedup: speedupText(r.speedup),
      speedupVsMha: r.speedup?.ratio ?? null,
      speedupLow: r.speedup?.low ?? null,
      speedupHigh: r.speedup?.high ?? null,
      gflops: r.gflops,
      computePct: pct(r.computeFraction),
      taskFloorMs: r.taskFloorMs,
      implementationFloorMs: r.implementationFloorMs,
      outsideKernelsPct: pct(r.outsideKernelsShare),
      check: verifyText(r.verify),
      flags: r.flags.length ? r.flags.join('; ') : null,
      stagesMs: r.stages.length ? r.stages.map((s) => `${s.name} ${s.wallMs.toFixed(2)}`).join(', ') : null,
    })),
  };
}

const MIB = 2 ** 20;

const GENERATION_COLUMNS: Column[] = [
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
  { key: 'speedup', label: '× vs MHA step [95 % CI]' },
  { key: 'speedupVsMha', label: '× vs MHA step', numeric: true, machineOnly: true },
  { key: 'speedupLow', label: 'CI low', numeric: true, machineOnly: true },
  { key: 'speedupHigh', label: 'CI high', numeric: true, machineOnly: true },
  { key: 'speedupVsMhaAtMaxContext', label: '× @ max context', numeric: true, digits: 2 },
  { key: 'generateSpeedup', label: '× generate [95 % CI]' },
  { key: 'check', label: 'first step vs CPU' },
  { key: 'flags', label: 'bounds broken' },
];

/** One row per attention type of a generation comparison. */
export function generationTable(file: Pick<GenerateResultFile, 'config' | 'resolved' | 'results'>, title = 'Generation results'): Table {
  const { config, resolved } = file;
  return {
    title,
    note:
      'Per attention type (the types alternated, one generation each per round): prompt processing (prefill), one decoding step (median ± sd over every step of every timed generation, ' +
      'its task floor — weights and the live KV cache read once — and how far above it; the implementation floor of a step profiled at the largest context), ' +
      'the step at the largest context, throughput, KV cache at the end (measured, predicted), peak memory, and the speedups over multi-head with their 95 % intervals.',
    // the device check's column only where a type was checked (a run on a device): a CPU run's table is as it was
    columns: GENERATION_COLUMNS.filter((c) => c.key !== 'check' || file.results.some((r) => r.verify)),
    rows: file.results.map((r) => ({
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
      speedup: speedupText(r.speedupVsMha),
      speedupVsMha: r.speedupVsMha?.ratio ?? null,
      speedupLow: r.speedupVsMha?.low ?? null,
      speedupHigh: r.speedupVsMha?.high ?? null,
      speedupVsMhaAtMaxContext: r.speedupVsMhaAtMaxContext,
      generateSpeedup: speedupText(r.generateSpeedupVsMha),
      check: verifyText(r.verify),
      flags: r.flags.length ? r.flags.join('; ') : null,
    })),
  };
}

const DECODE_COLUMNS: Column[] = [
  { key: 'attention', label: 'attention' },
  { key: 'kvHeads', label: 'kv heads', numeric: true },
  { key: 'batch', label: 'batch', numeric: true },
  { key: 'context', label: 'context', numeric: true },
  { key: 'medianMs', label: 'ms/step', numeric: true, digits: 3 },
  { key: 'stddevMs', label: '± sd', numeric: true, digits: 3 },
  { key: 'minMs', label: 'min', numeric: true, digits: 3 },
  { key: 'n', label: 'n', numeric: true },
  { key: 'speedup', label: '× vs MHA [95 % CI]' },
  { key: 'speedupVsMha', label: '× vs MHA', numeric: true, machineOnly: true },
  { key: 'speedupLow', label: 'CI low', numeric: true, machineOnly: true },
  { key: 'speedupHigh', label: 'CI high', numeric: true, machineOnly: true },
  { key: 'tokensPerSecond', label: 'tokens/s', numeric: true, digits: 1 },
  { key: 'kvCacheMiB', label: 'live KV MiB', numeric: true, digits: 2 },
  { key: 'taskFloorMs', label: 'task floor ms', numeric: true, digits: 3 },
  { key: 'implementationFloorMs', label: 'impl. floor ms', numeric: true, digits: 3 },
  { key: 'memoryPct', label: '% read ceiling', numeric: true, digits: 0 },
  { key: 'check', label: 'float64 check' },
  { key: 'flags', label: 'bounds broken' },
  { key: 'stagesMs', label: 'stages (ms)' },
];

/** One row per attention type and configuration of a decode-step comparison. */
export function decodeTable(results: readonly DecodeResult[], title = 'Decode-step results'): Table {
  return {
    title,
    note:
      'Per attention type, batch and context (the types alternated, one step each per round): one decode step against a KV cache of context − 1 positions, ' +
      'median with its spread, the speedup over multi-head with its 95 % interval from the same rounds, tokens per second, the live cache it reads, ' +
      'its task and implementation floors and the task bytes as a share of the read ceiling, the float64 check of its logits, and any bound it broke.',
    columns: DECODE_COLUMNS,
    rows: results.map((r) => ({
      attention: r.attention,
      kvHeads: r.kvHeads,
      batch: r.batch,
      context: r.context,
      medianMs: r.stepMs.median,
      stddevMs: r.stepMs.stddev,
      minMs: r.stepMs.min,
      n: r.stepMs.n,
      speedup: speedupText(r.speedup),
      speedupVsMha: r.speedup?.ratio ?? null,
      speedupLow: r.speedup?.low ?? null,
      speedupHigh: r.speedup?.high ?? null,
      tokensPerSecond: r.tokensPerSecond,
      kvCacheMiB: r.kvCacheBytes / MIB,
      taskFloorMs: r.taskFloorMs,
      implementationFloorMs: r.implementationFloorMs,
      memoryPct: pct(r.memoryFraction),
      check: verifyText(r.verify),
      flags: r.flags.length ? r.flags.join('; ') : null,
      stagesMs: r.stages.length ? r.stages.map((s) => `${s.name} ${s.wallMs.toFixed(2)}`).join(', ') : null,
    })),
  };
}
