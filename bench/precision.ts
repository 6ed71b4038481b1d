/**
 * Benchmark of the precision axes (issue 17): the decode-step comparison of `attnbench
 * decode` at the decoder — 4 layers, hidden 1024, 16 heads of 64, vocabulary 50257;
 * batch 8, context 1024 — for MHA, GQA:4 and MQA-1 at float32 and int4 weights × float32 and
 * int8 caches, every combination alternating in the same rounds (the command's own protocol:
 * interleaved rounds whose order rotates, paired bootstrap intervals, floors from the fastest
 * probe samples of the same process, each quantized type checked against the float64
 * reference of the same quantized computation). Prints the command's table, then the goals:
 *
 *  1. each type's step over its task floor (int4 weights: the weight products at the int4
 *     probe's own compute ceiling, the weights' and cache's bytes at their dtypes);
 *  2. MQA-1's speedup over MHA at float32 and at int4 weights, beside the roofline's
 *     prediction from the task floors, bracketed by two overlap models: perfect overlap
 *     (time = max(compute, bytes)) and none (time = compute + bytes);
 *  3. MHA with an int8 cache against MHA with a float32 cache at int4 weights (paired by round);
 *  4. where the time of those two goes, stage by stage (the profiled steps).
 *
 *   node bench/run.js precision [--attention multi-head,grouped-query:4,multi-query-1] [--context 1024] [--batch 8] [--weight-dtype float32,int4] [--kv-dtype float32,int8] [--repeats 30]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runDecode } from '../src/commands/run-decode.ts';
import { decodeModel } from '../src/measure/decode.ts';
import { decodeStepCost } from '../src/model/config.ts';
import { decodeTable, speedupText } from '../src/results/tables.ts';
import { computeMs, ceilingRates } from '../src/roofline/floor.ts';
import { markdownTable } from '../src/table/table.ts';
import { ratioInterval } from '../src/timing/interval.ts';
import type { DecodeResult } from '../src/results/schema.ts';
import type { Dtype } from '../src/precision/dtypes.ts';

const { values: a } = parseArgs({
  options: {
    attention: { type: 'string', default: 'multi-head,grouped-query:4,multi-query-1,fused-gqa:16' },
    context: { type: 'string', default: '1024' },
    batch: { type: 'string', default: '8' },
    'weight-dtype': { type: 'string', default: 'float32,int4' },
    'kv-dtype': { type: 'string', default: 'float32,int8' },
    repeats: { type: 'string', default: '30' },
    threads: { type: 'string', default: '2' },
  },
});
const list = (s: string) => s.split(',');
const config = {
  attention: list(a.attention!),
  layers: 4,
  hidden: 1024,
  heads: 16,
  vocab: 50257,
  context: list(a.context!).map(Number),
  batch: list(a.batch!).map(Number),
  weightDtype: list(a['weight-dtype']!) as Dtype[],
  kvDtype: list(a['kv-dtype']!) as Dtype[],
  repeats: Number(a.repeats),
  budgetMs: 60_000,
  threads: Number(a.threads),
  profileRuns: 2,
};
const started = new Date().toISOString();
const load0 = os.loadavg()[0]!;
const file = await runDecode(config, { progress: process.stderr.isTTY === true });
const load1 = os.loadavg()[0]!;
const c = file.environment.ceilings!;
const q = c.quantizedGflops ?? {};
const out = (s: string) => process.stdout.write(`${s}\n`);
out(`Machine: ${file.environment.cpu}, ${config.threads} thread(s), onnxruntime-node ${file.environment.onnxruntime}; ${started}; load average ${load0.toFixed(1)} → ${load1.toFixed(1)}`);
out(`Bounds (fastest probe samples of this process): float32 matmul ${c.matmulGflops.toFixed(0)} GFLOP/s, int8 weights ${q.int8?.toFixed(0) ?? '—'}, int4 weights ${q.int4?.toFixed(0) ?? '—'} GFLOP/s; read ${c.readGBps.toFixed(1)} GB/s`);
out(`Command: node bench/run.js precision ${process.argv.slice(2).join(' ')}`.trimEnd());
out('');
out(markdownTable(decodeTable(file.results)));
out('');

const model = decodeModel(config);
const find = (attention: string, w: string, kv: string, r: DecodeResult) => file.results.find((x) => x.attention === attention && x.weightDtype === w && x.kvDtype === kv && x.batch === r.batch && x.context === r.context);

// 1. against the task floor
out(markdownTable({
  title: 'step over task floor',
  columns: [
    { key: 'type', label: 'attention (weights, cache)' },
    { key: 'ms', label: 'median ms', numeric: true, digits: 2 },
    { key: 'floor', label: 'task floor ms', numeric: true, digits: 2 },
    { key: 'x', label: '× task floor', numeric: true, digits: 2 },
    { key: 'check', label: 'check' },
  ],
  rows: file.results.map((r) => ({
    type: `${r.attention} (${r.weightDtype}, ${r.kvDtype})`,
    ms: r.ms.median,
    floor: r.taskFloorMs,
    x: r.taskFloorMs ? r.ms.median / r.taskFloorMs : null,
    check: r.verify ? `${r.verify.ok ? 'ok' : 'WRONG'} ${r.verify.maxRelError.toExponential(1)}` : null,
  })),
}));
out('');

// 2. MQA-1 over MHA per weight dtype (float32 cache), with the roofline's predictions
const rates = ceilingRates(c);
const predicted = (r: DecodeResult, overlap: boolean) => {
  const cost = decodeStepCost(model, r.kvHeads, r.batch, r.context, { weightDtype: r.weightDtype, kvDtype: r.kvDtype });
  const compute = computeMs(cost, rates);
  const bytes = cost.bytes / (rates.readGBps * 1e6);
  return overlap ? Math.max(compute, bytes) : compute + bytes;
};
const pairs = file.results.filter((r) => r.attention === 'multi-query-1' && r.kvDtype === 'float32').map((r) => [find('multi-head', r.weightDtype, 'float32', r)!, r] as const).filter(([m]) => m);
out(markdownTable({
  title: 'MQA-1 over MHA',
  columns: [
    { key: 'w', label: 'weights' },
    { key: 'measured', label: 'measured × [95 % CI]' },
    { key: 'overlap', label: 'roofline, perfect overlap', numeric: true, digits: 2 },
    { key: 'none', label: 'roofline, no overlap', numeric: true, digits: 2 },
  ],
  rows: pairs.map(([m, r]) => ({ w: r.weightDtype, measured: speedupText(r.speedup), overlap: predicted(m, true) / predicted(r, true), none: predicted(m, false) / predicted(r, false) })),
}));
out('');

// 3. the int8 cache against the float32 cache, for MHA's layout (hand-built, and through the engine's fused kernel with g = heads), per weight dtype (same rounds: paired)
const mhaLike = (x: string) => x === 'multi-head' || x === `fused-gqa:${model.heads}`;
const caches = file.results.filter((r) => mhaLike(r.attention) && r.kvDtype === 'int8').map((r) => [find(r.attention, r.weightDtype, 'float32', r)!, r] as const).filter(([f]) => f);
out(markdownTable({
  title: 'MHA, int8 cache over float32 cache',
  columns: [
    { key: 'a', label: 'attention' },
    { key: 'w', label: 'weights' },
    { key: 'ratio', label: 'float32-cache ms / int8-cache ms [95 % CI]' },
    { key: 'predicted', label: 'roofline (perfect overlap)', numeric: true, digits: 2 },
  ],
  rows: caches.map(([f, r]) => {
    const i = ratioInterval(f.ms.samples, r.ms.samples, { paired: f.ms.samples.length === r.ms.samples.length, seed: 1 });
    return { a: r.attention, w: r.weightDtype, ratio: `${i.ratio.toFixed(2)} [${i.low.toFixed(2)}–${i.high.toFixed(2)}]`, predicted: predicted(f, true) / predicted(r, true) };
  }),
}));
out('');

// 4. where the time goes, stage by stage
for (const [f, r] of caches) {
  const names = [...new Set([...f.stages, ...r.stages].map((s) => s.name))];
  out(markdownTable({
    title: 'stages',
    columns: [{ key: 'stage', label: `stage (${r.attention}, ${r.weightDtype} weights)` }, { key: 'f', label: 'float32 cache ms', numeric: true, digits: 2 }, { key: 'i', label: 'int8 cache ms', numeric: true, digits: 2 }],
    rows: names.map((n) => ({ stage: n, f: f.stages.find((s) => s.name === n)?.wallMs ?? null, i: r.stages.find((s) => s.name === n)?.wallMs ?? null })),
  }));
  out('');
}
