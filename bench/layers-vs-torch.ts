/**
 * Benchmark: attnbench's layers (ONNX Runtime) against PyTorch eager running the same op
 * sequences (bench/torch_seed.py), side by side on this machine, same threads and shapes.
 * Prints a markdown table: totals with spread and n, the ratio of medians over all rounds
 * and the best round's (the frameworks alternate round by round), and each matmul stage's
 * achieved GFLOP/s as a share of the engine's matmul ceiling (the fastest probe sample).
 *
 *   node bench/run.js layers-vs-torch [--batch 8] [--seq 512] [--repeats 20] [--rounds 2]
 *
 * PyTorch comes from Debian (`apt-get install python3-torch libopenblas0-pthread`) and runs
 * under /usr/bin/python3. Its float32 matmuls go through OpenBLAS, whose kernel choice decides
 * its speed: Debian's OpenBLAS 0.3.21 does not know this CPU and falls back to its oldest
 * kernel when OPENBLAS_CORETYPE is unset, so the fair run names the newest kernel the CPU
 * supports (SkylakeX, AVX-512) and drops OPENBLAS_L2_SIZE; the table records the kernel used.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LayersConfigInput } from '../src/config/layers.ts';
import { ortVersion } from '../src/engine/session.ts';
import { runLayers } from '../src/commands/run-layers.ts';
import type { LayerResult } from '../src/results/schema.ts';
import { ceilingsOf, probe } from '../src/roofline/node-ceilings.ts';
import { runShapes } from '../src/measure/sweep.ts';
import { sweepJobs } from '../src/measure/sweep.ts';
import { parseVariant } from '../src/attention/spec.ts';
import { markdownTable, type Table } from '../src/table/table.ts';
import { summarize, type Summary } from '../src/timing/stats.ts';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '512' },
    variants: { type: 'string', default: 'multi-head,multi-query,multi-query-1,grouped-query:4,multi-query-separate' },
    repeats: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: String(os.cpus().length) },
    coretype: { type: 'string', default: 'SkylakeX' },
  },
});
const batch = Number(a.batch);
const seq = Number(a.seq);
const threads = Number(a.threads);
const repeats = Number(a.repeats);
const variants = a.variants!.split(',');

interface TorchOut {
  blas: string;
  version: string;
  results: { variant: string; totalMs: Summary & { samples?: number[] } }[];
}

function runTorch(): TorchOut | string {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_CORETYPE: a.coretype! };
  delete env.OPENBLAS_L2_SIZE;
  const script = path.join(import.meta.dirname, 'torch_seed.py');
  const args = [script, '--variants', a.variants!, '--batch', String(batch), '--seq', String(seq), '--threads', String(threads), '--repeats', String(repeats), '--samples'];
  const r = spawnSync('/usr/bin/python3', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) return `PyTorch not run (${r.error?.message ?? `exit ${r.status}`}); install python3-torch and libopenblas0-pthread`;
  return JSON.parse(r.stdout) as TorchOut;
}

const shapes = runShapes(sweepJobs({ variants: variants.map(parseVariant), batch: [batch], seq: [seq], heads: 16, headDim: 64, mode: 'seed' }));
const before = await probe({ threads, graphOpt: 'all', shapes, label: 'before' });
let ceilings = ceilingsOf([before], threads);
/** The seed's layer (16 heads of 64, seed mode: the config's defaults) at one shape, fixed repeats, 5 profiled runs for the stage rates. */
const config: LayersConfigInput = { variants, batch: [batch], seq: [seq], repeats, budgetMs: 0, threads, profileRuns: 5 };
const runOptions = { progress: false, ceilings, log: (l: string) => process.stderr.write(`ort: ${l}\n`) };

// alternate the two frameworks in rounds so that drift of a shared host hits both alike
const ort: Map<string, { samples: number[][]; last: LayerResult }> = new Map();
const torch: Map<string, number[][]> = new Map();
let torchInfo: TorchOut | string = 'not run';
for (let round = 0; round < Number(a.rounds); round++) {
  for (const r of (await runLayers(config, runOptions)).results) {
    const e = ort.get(r.attention) ?? { samples: [], last: r };
    e.samples.push(r.ms.samples);
    e.last = r;
    ort.set(r.attention, e);
  }
  torchInfo = runTorch();
  if (typeof torchInfo !== 'string')
    for (const r of torchInfo.results) torch.set(r.variant, [...(torch.get(r.variant) ?? []), r.totalMs.samples ?? [r.totalMs.median]]);
}
ceilings = ceilingsOf([before, await probe({ threads, graphOpt: 'all', label: 'after' })], threads);

const ms = (s: Summary) => `${s.median.toFixed(1)} ± ${s.stddev.toFixed(1)} (n=${s.n})`;
const peak = ceilings.matmulGflops;
const stageRate = (r: LayerResult, name: string) => {
  const st = r.stages.find((s) => s.name === name);
  return st?.gflops ? `${st.gflops.toFixed(0)} (${((100 * st.gflops) / peak).toFixed(0)}%)` : null;
};
const header = [
  `Machine: ${os.cpus()[0]?.model} × ${os.cpus().length}, ${threads} threads; onnxruntime-node ${ortVersion()}; ` +
    `engine matmul ceiling ${peak.toFixed(0)} GFLOP/s (the fastest sample of the probes before and after; theoretical peak ${ceilings.peak?.gflops.toFixed(0) ?? 'unknown'}), streaming read ${ceilings.readGBps.toFixed(1)} GB/s.`,
  typeof torchInfo === 'string' ? torchInfo : `PyTorch ${torchInfo.version}, ${torchInfo.blas}.`,
  `Seed mode, batch ${batch}, seq ${seq}, 16 heads × 64; ${a.rounds} rounds × ${repeats} timed runs each, frameworks alternating. Stage rates: analytic FLOPs / median kernel time from 5 profiled runs.`,
];
const table: Table = {
  title: 'attnbench against PyTorch eager',
  columns: [
    { key: 'variant', label: 'variant' },
    { key: 'attnbenchMs', label: 'attnbench ms', numeric: true },
    { key: 'torchMs', label: 'PyTorch ms', numeric: true },
    { key: 'ratio', label: 'attnbench / PyTorch (all rounds)', numeric: true, digits: 2 },
    { key: 'best', label: 'best round', numeric: true, digits: 2 },
    { key: 'qkv', label: 'qkv GFLOP/s (% matmul ceiling)', numeric: true },
    { key: 'weights', label: 'weights', numeric: true },
    { key: 'output', label: 'output', numeric: true },
  ],
  rows: variants.flatMap((v) => {
    const o = ort.get(v);
    if (!o) return [];
    const os_ = summarize(o.samples.flat());
    const t = torch.get(v);
    const ts = t ? summarize(t.flat()) : undefined;
    // the ratio of each round's medians, the two frameworks measured minutes apart at most
    const perRound = t ? o.samples.map((xs, i) => summarize(xs).median / summarize(t[i]!).median) : [];
    return [{ variant: v, attnbenchMs: ms(os_), torchMs: ts ? ms(ts) : null, ratio: ts ? os_.median / ts.median : null, best: perRound.length ? Math.min(...perRound) : null, qkv: stageRate(o.last, 'qkv'), weights: stageRate(o.last, 'weights'), output: stageRate(o.last, 'output') }];
  }),
};
process.stdout.write(header.join('\n') + '\n\n' + markdownTable(table) + '\n');
