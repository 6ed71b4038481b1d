/**
 * The result files as tables (one column set each, used by the CLI, the report, compare
 * and the benches): a layer sweep as llama-bench prints one, a generation comparison per
 * attention type.
 */
import type { Column, Table } from '../table/table.ts';
import type { GenerateResultFile, LayerResult } from './schema.ts';

/** The variant every speedup is taken against. */
export const BASELINE = 'multi-head';

/** Time of multi-head at the same batch, sequence length and mode / time of `r` (null without that multi-head result). */
export function speedupVsBaseline(results: readonly LayerResult[], r: LayerResult): number | null {
  const base = results.find((m) => m.variant === BASELINE && m.batch === r.batch && m.seq === r.seq && m.mode === r.mode && m.heads === r.heads && m.headDim === r.headDim);
  return base ? base.totalMs.median / r.totalMs.median : null;
}

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
  { key: 'speedupVsMha', label: '× vs MHA', numeric: true, digits: 2 },
  { key: 'gflops', label: 'GFLOP/s', numeric: true, digits: 1 },
  { key: 'computePct', label: '% matmul ceiling', numeric: true, digits: 0 },
  { key: 'gbps', label: 'GB/s', numeric: true, digits: 1 },
  { key: 'hostPct', label: 'host %', numeric: true, digits: 0 },
  { key: 'stagesMs', label: 'stages (ms)' },
];

/** One row per configuration: its statistics, speedup over multi-head, rates and their share of the ceilings. */
export function layerTable(results: readonly LayerResult[], title = 'Layer results'): Table {
  return {
    title,
    note: 'Per configuration: median time per call with its spread over the repetitions, speedup over multi-head, achieved rates, and the share of time outside the kernels.',
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
      speedupVsMha: speedupVsBaseline(results, r),
      gflops: r.gflops,
      computePct: r.computeFraction === null ? null : 100 * r.computeFraction,
      gbps: r.gbps,
      hostPct: 100 * r.hostShare,
      stagesMs: r.stages.map((s) => `${s.name} ${s.wallMs.toFixed(2)}`).join(', '),
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
  { key: 'floorMs', label: 'floor ms', numeric: true, digits: 3 },
  { key: 'vsFloor', label: '× floor', numeric: true, digits: 2 },
  { key: 'maxContext', label: 'max context', numeric: true },
  { key: 'msAtMaxContext', label: 'ms @ max context', numeric: true, digits: 3 },
  { key: 'tokensPerSecond', label: 'tokens/s', numeric: true, digits: 1 },
  { key: 'decodeTokensPerSecond', label: 'decode tokens/s', numeric: true, digits: 1 },
  { key: 'kvCacheMiB', label: 'KV MiB', numeric: true, digits: 2 },
  { key: 'kvPredictedMiB', label: 'KV MiB predicted', numeric: true, digits: 2 },
  { key: 'peakRssMiB', label: 'peak RSS MiB', numeric: true, digits: 0 },
  { key: 'beamReorderMs', label: 'beam reorder ms', numeric: true, digits: 1 },
  { key: 'speedupVsMha', label: '× vs MHA step', numeric: true, digits: 2 },
  { key: 'speedupVsMhaAtMaxContext', label: '× @ max context', numeric: true, digits: 2 },
  { key: 'generateSpeedupVsMha', label: '× generate', numeric: true, digits: 2 },
];

/** One row per attention type of a generation comparison. */
export function generationTable(file: Pick<GenerateResultFile, 'config' | 'resolved' | 'results'>, title = 'Generation results'): Table {
  const { config, resolved } = file;
  return {
    title,
    note:
      'Per attention type: prompt processing (prefill), one decoding step (median ± sd over every step of every timed generation, its roofline floor and how far above it), ' +
      'the step at the largest context, throughput over the whole generation and of the decode steps alone, KV cache at the end (measured, predicted), peak memory, and the speedups over multi-head.',
    columns: GENERATION_COLUMNS,
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
      floorMs: r.floorMs,
      vsFloor: r.vsFloor,
      maxContext: r.atMaxContext?.context ?? null,
      msAtMaxContext: r.atMaxContext?.ms ?? null,
      tokensPerSecond: r.tokensPerSecond,
      decodeTokensPerSecond: r.decodeTokensPerSecond,
      kvCacheMiB: r.kvCacheBytes.measured / MIB,
      kvPredictedMiB: r.kvCacheBytes.predicted / MIB,
      peakRssMiB: r.peakRssBytes / MIB,
      beamReorderMs: config.numBeams > 1 ? r.beamReorderMs : null,
      speedupVsMha: r.speedupVsMha,
      speedupVsMhaAtMaxContext: r.speedupVsMhaAtMaxContext,
      generateSpeedupVsMha: r.generateSpeedupVsMha,
    })),
  };
}
