/**
 * Benchmark: the same small layer sweep in Node (onnxruntime-node, CPU) and in headless
 * Chromium (onnxruntime-web WASM with 1 and 2 threads, optionally WebGPU on whatever adapter
 * the browser gets), through `runLayers` with each `--device`, in rounds whose arm order
 * rotates, so a drifting shared machine hits every arm alike. Prints a markdown table: per
 * configuration and arm, the median over rounds of each round's median, the range of those
 * medians, the share of runs slower than 3× their round's median (stalls), and n (rounds ×
 * timed runs); and the 1-minute load average before and after, which decides whether two
 * WASM threads can help on a shared 2-core machine.
 *
 *   node bench/run.js browser [--batch 1] [--seq 128,512] [--repeats 30] [--rounds 3] [--webgpu]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { LayersConfigInput } from '../src/config/layers.ts';
import { parseIntList, parseNameList } from '../src/config/lists.ts';
import { runLayers } from '../src/commands/run-layers.ts';
import type { LayerResult } from '../src/results/schema.ts';
import { markdownTable } from '../src/table/table.ts';
import { roundOrder } from '../src/timing/rounds.ts';
import { summarize } from '../src/timing/stats.ts';

const { values: a } = parseArgs({
  options: {
    batch: { type: 'string', default: '1' },
    seq: { type: 'string', default: '128,512' },
    variants: { type: 'string', default: 'multi-head,multi-query-1,grouped-query:4' },
    heads: { type: 'string', default: '16' },
    'head-dim': { type: 'string', default: '64' },
    repeats: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    webgpu: { type: 'boolean', default: false },
  },
});

const sweep: LayersConfigInput = {
  variants: parseNameList('--variants', a.variants!),
  batch: parseIntList('--batch', a.batch!),
  seq: parseIntList('--seq', a.seq!),
  heads: Number(a.heads),
  headDim: Number(a['head-dim']),
  repeats: Number(a.repeats),
  warmup: 3,
  profileRuns: 0,
};

interface Arm {
  name: string;
  config: LayersConfigInput;
}
const arms: Arm[] = [
  { name: 'node cpu 2t', config: { device: 'cpu', threads: 2 } },
  { name: 'wasm 1t', config: { device: 'browser-wasm', threads: 1 } },
  { name: 'wasm 2t', config: { device: 'browser-wasm', threads: 2 } },
];
if (a.webgpu) arms.push({ name: 'webgpu (JSEP)', config: { device: 'browser-webgpu', threads: 2 } });

const key = (r: LayerResult) => `${r.attention} b=${r.batch} s=${r.seq}`;
/** arm → configuration → per-round medians and every sample as a ratio to its round's median */
const data = new Map<string, Map<string, { medians: number[]; ratios: number[] }>>();
const rounds = Number(a.rounds);
const loadBefore = os.loadavg()[0]!;
for (let round = 0; round < rounds; round++) {
  for (const arm of roundOrder(arms, round)) {
    process.stderr.write(`round ${round + 1}/${rounds}: ${arm.name}\n`);
    // quick probes: the arms are compared by their times, not against ceilings
    const file = await runLayers({ ...sweep, ...arm.config }, { progress: false, quickCeilings: true, log: () => {} });
    const byConfig = data.get(arm.name) ?? new Map<string, { medians: number[]; ratios: number[] }>();
    for (const r of file.results) {
      const d = byConfig.get(key(r)) ?? { medians: [], ratios: [] };
      d.medians.push(r.ms.median);
      d.ratios.push(...r.ms.samples.map((s) => s / r.ms.median));
      byConfig.set(key(r), d);
    }
    data.set(arm.name, byConfig);
  }
}

console.log(`1-minute load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after, on ${os.cpus().length} cores; ${a.repeats} timed runs per configuration per round\n`);
const configs = [...(data.values().next().value?.keys() ?? [])];
const cell = (arm: Arm, c: string) => {
  const d = data.get(arm.name)?.get(c);
  if (!d) return '—';
  const s = summarize(d.medians);
  const stalls = d.ratios.filter((x) => x > 3).length / d.ratios.length;
  return `${s.median.toFixed(3)} [${s.min.toFixed(3)}–${s.max.toFixed(3)}] · ${(100 * stalls).toFixed(1)}% · ${d.ratios.length}`;
};
console.log(
  markdownTable({
    title: 'Node against the browser',
    columns: [{ key: 'config', label: 'configuration' }, ...arms.map((arm, i) => ({ key: `a${i}`, label: `${arm.name}: median ms [range] · stalls · n` }))],
    rows: configs.map((c) => ({ config: c, ...Object.fromEntries(arms.map((arm, i) => [`a${i}`, cell(arm, c)])) })),
  }),
);
