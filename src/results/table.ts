/**
 * The summary table of a layer sweep, as markdown, CSV or JSON (llama-bench style): one
 * row per configuration with its statistics, speedup against `multi-head` at the same
 * batch and sequence length, achieved rates and their fraction of the ceilings.
 */
import type { LayerResult } from './schema.ts';

export type TableFormat = 'md' | 'csv' | 'json';

export interface Row {
  variant: string;
  mode: string;
  batch: number;
  seq: number;
  kvHeads: number;
  medianMs: number;
  stddevMs: number;
  minMs: number;
  p90Ms: number;
  n: number;
  speedupVsMha: number | null;
  gflops: number;
  computePct: number | null;
  gbps: number;
  hostPct: number;
  stagesMs: string;
}

export function rows(results: readonly LayerResult[]): Row[] {
  return results.map((r) => {
    const mha = results.find((m) => m.variant === 'multi-head' && m.batch === r.batch && m.seq === r.seq && m.mode === r.mode);
    return {
      variant: r.variant,
      mode: r.mode,
      batch: r.batch,
      seq: r.seq,
      kvHeads: r.kvHeads,
      medianMs: r.totalMs.median,
      stddevMs: r.totalMs.stddev,
      minMs: r.totalMs.min,
      p90Ms: r.totalMs.p90,
      n: r.totalMs.n,
      speedupVsMha: mha ? mha.totalMs.median / r.totalMs.median : null,
      gflops: r.gflops,
      computePct: r.computeFraction === null ? null : 100 * r.computeFraction,
      gbps: r.gbps,
      hostPct: 100 * r.hostShare,
      stagesMs: r.stages.map((s) => `${s.name} ${s.wallMs.toFixed(2)}`).join(', '),
    };
  });
}

const fmt = (v: number | null, digits = 2) => (v === null ? '' : v.toFixed(digits));

export function formatTable(results: readonly LayerResult[], format: TableFormat): string {
  const rs = rows(results);
  if (format === 'json') return JSON.stringify(rs, null, 2) + '\n';
  if (format === 'csv') {
    const cols = Object.keys(rs[0] ?? {}) as (keyof Row)[];
    const cell = (v: unknown) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v ?? ''));
    return [cols.join(','), ...rs.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
  }
  const head = ['variant', 'batch', 'seq', 'kv', 'median ms', '± sd', 'min', 'p90', 'n', '× vs MHA', 'GFLOP/s', '% peak', 'GB/s', 'host %', 'stages (ms)'];
  const body = rs.map((r) => [
    r.variant,
    r.batch,
    r.seq,
    r.kvHeads,
    fmt(r.medianMs, 3),
    fmt(r.stddevMs, 3),
    fmt(r.minMs, 3),
    fmt(r.p90Ms, 3),
    r.n,
    fmt(r.speedupVsMha),
    fmt(r.gflops, 1),
    fmt(r.computePct, 0),
    fmt(r.gbps, 1),
    fmt(r.hostPct, 0),
    r.stagesMs,
  ]);
  const line = (cells: readonly unknown[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n') + '\n';
}
