/**
 * Benchmark of `attnbench generate`'s decode step (performance is measured here, never in
 * timed tests). Prints markdown tables with the machine they ran on:
 *
 *  A. decode-step latency at fixed contexts: a KV cache filled to context C, the step
 *     timed `--steps` times per type and weight placement in every round, the entries in an
 *     order that rotates round by round so drift hits them alike. Floors from ceilings
 *     probed in the same process (before and after; the fastest sample bounds): the task
 *     floor (weights and the live cache read once) and the implementation floor (what a
 *     profiled step's kernels really move). Speedups over multi-head with 95 % intervals
 *     (a bootstrap over rounds). `--ops` adds where each step's time goes, op by op.
 *  B. whole generations through the real command path (`runGenerate`), unless --no-generate.
 *  C. beam search and its KV-cache reorder per type.
 *
 *   node bench/run.js generate                      # the issue's target shape
 *   node bench/run.js generate --contexts 1024 --attention multi-head,multi-query-1 --weights constant,input --ops --no-generate --beams 0
 *
 * Run it through bin/attnbench.js's malloc settings for numbers comparable with the
 * command's: MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 (set below if absent).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { parseVariant, variantLabel } from '../src/attention/spec.ts';
import type { ProfiledRun } from '../src/engine/trace.ts';
import { GenerateConfig, type GenerateConfigInput } from '../src/config/generate.ts';
import { parseConfig } from '../src/config/parse.ts';
import { Rng } from '../src/core/rng.ts';
import { KvCache, roundUp } from '../src/generate/kv-cache.ts';
import { runGenerate } from '../src/generate/run.ts';
import { decodeStepCost, gpt2Config, headDim, modelKvHeads } from '../src/model/config.ts';
import { DecoderModel } from '../src/model/model.ts';
import { pack, randomWeights } from '../src/model/weights.ts';
import { generationTable, speedupText } from '../src/results/tables.ts';
import { ceilingRates, floorMs } from '../src/roofline/floor.ts';
import { ceilingsOf, probe } from '../src/roofline/node-ceilings.ts';
import { kernelBytes, movedBytes } from '../src/roofline/traffic.ts';
import { markdownTable, type Table } from '../src/table/table.ts';
import { roundsRatioInterval } from '../src/timing/interval.ts';
import { roundOrder } from '../src/timing/rounds.ts';
import { summarize } from '../src/timing/stats.ts';

if (process.env.MALLOC_MMAP_MAX_ === undefined) {
  process.stderr.write('note: run with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 as bin/attnbench.js does\n');
}

const { values: a } = parseArgs({
  options: {
    // generation settings (fields of the generation config; what is not given takes TARGET's value or the config's default)
    attention: { type: 'string' },
    layers: { type: 'string' },
    hidden: { type: 'string' },
    heads: { type: 'string' },
    vocab: { type: 'string' },
    batch: { type: 'string' },
    threads: { type: 'string' },
    'max-length': { type: 'string' },
    repeats: { type: 'string' },
    // the benchmark's own
    contexts: { type: 'string', default: '256,512,1024' },
    steps: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    generate: { type: 'boolean', default: true },
    'no-generate': { type: 'boolean', default: false },
    /** Part C: beam search with this many beams over batch / beams prompts (0: skip). */
    beams: { type: 'string', default: '4' },
    'beam-max-length': { type: 'string', default: '512' },
    /** Part A: weight placements to compare (constant: initializers the engine pre-packs; input: fed every step). */
    weights: { type: 'string', default: 'constant' },
    /** Part A: where each step's time goes, op by op (a profiled session per entry). */
    ops: { type: 'boolean', default: false },
  },
});
const num = (s: string | undefined) => Number(s);
const given = (k: string, v: string | undefined, f: (s: string) => unknown = num) => (v === undefined ? {} : { [k]: f(v) });

/** The issue's target shape: the seed's model cut to 4 layers, batch 8, one timed generation of 1024 tokens. */
const TARGET: GenerateConfigInput = {
  attention: ['multi-head', 'multi-query', 'multi-query-1', 'grouped-query:4', 'fused-gqa:4'],
  layers: 4,
  hidden: 1024,
  heads: 16,
  vocab: 50257,
  positions: 2048,
  batch: 8,
  maxLength: 1024,
  repeats: 1,
};
const base = parseConfig(GenerateConfig, {
  ...TARGET,
  ...given('attention', a.attention, (t) => t.split(',')),
  ...given('layers', a.layers),
  ...given('hidden', a.hidden),
  ...given('heads', a.heads),
  ...given('vocab', a.vocab),
  ...given('batch', a.batch),
  ...given('threads', a.threads),
  ...given('maxLength', a['max-length']),
  ...given('repeats', a.repeats),
});
const threads = base.threads;
const config = gpt2Config({ layers: base.layers!, hidden: base.hidden!, heads: base.heads!, positions: base.positions!, vocab: base.vocab! });
const rows = base.batch!;
const contexts = a.contexts!.split(',').map(Number);
const specs = base.attention!.map(parseVariant);
const D = headDim(config);

const machine = `${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${threads} engine thread(s), node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at start`;
process.stdout.write(`## attnbench generate benchmark\n\nmachine: ${machine}\n\n`);
process.stdout.write(`model: ${config.layers} layers, hidden ${config.hidden}, ${config.heads} heads, vocab ${config.vocab}, float32; batch ${rows}\n\n`);

const probeShapes = [
  { batch: 1, m: rows, k: config.hidden, n: 3 * config.hidden, constantB: true },
  { batch: 1, m: rows, k: config.hidden, n: config.vocab, constantB: true },
];
const before = await probe({ threads, graphOpt: 'all', shapes: probeShapes, label: 'before' });

// ---------- A: step latency at fixed contexts ----------
interface Entry {
  label: string;
  g: number;
  weights: 'constant' | 'input';
  model: DecoderModel;
  caches: Map<number, KvCache>;
  /** Per context, per round: the timed steps. */
  ms: Map<number, number[][]>;
  weightBytes: number;
}
const entries: Entry[] = [];
const placements = a.weights!.split(',') as ('constant' | 'input')[];
for (const spec of specs) {
  const g = modelKvHeads(config, spec);
  const packed = pack(randomWeights(config, g, { seed: 1 }), spec);
  for (const weights of placements) {
    const model = new DecoderModel(packed, { threads, weights });
    const caches = new Map<number, KvCache>();
    const rng = new Rng(7);
    for (const ctx of contexts) {
      const cache = new KvCache({ layers: config.layers, rows, kvHeads: g, headDim: D }, roundUp(ctx, base.cacheChunk), base.cacheChunk);
      cache.fillRandom(rng, 0.5);
      for (let r = 0; r < rows; r++) cache.mask.fill(0, r * cache.capacity, r * cache.capacity + ctx - 1);
      cache.length = ctx - 1; // the step attends to ctx − 1 cached positions and itself
      caches.set(ctx, cache);
    }
    const t0 = performance.now();
    await model.prepare(rows);
    const sessionMs = performance.now() - t0;
    const label = variantLabel(spec) + (placements.length > 1 ? ` (${weights})` : '');
    const weightBytes = Object.values(packed.tensors).reduce((x, t) => x + t.data.byteLength, 0);
    process.stdout.write(`${label}: session created in ${sessionMs.toFixed(0)} ms; RSS ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB\n`);
    entries.push({ label, g, weights, model, caches, ms: new Map(), weightBytes });
  }
}
const tokens = BigInt64Array.from({ length: rows }, (_, i) => BigInt(100 + i));
const rounds = num(a.rounds);
for (let round = 0; round < rounds; round++) {
  for (const ctx of contexts) {
    for (const e of roundOrder(entries, round)) {
      const cache = e.caches.get(ctx)!;
      const positions = new BigInt64Array(rows).fill(BigInt(ctx - 1));
      await e.model.step(tokens, positions, cache); // warm
      const xs: number[] = [];
      for (let i = 0; i < num(a.steps); i++) {
        const t0 = performance.now();
        await e.model.step(tokens, positions, cache);
        xs.push(performance.now() - t0);
      }
      e.ms.set(ctx, [...(e.ms.get(ctx) ?? []), xs]);
    }
  }
}
const after = await probe({ threads, graphOpt: 'all', label: 'after' });
const ceilings = ceilingsOf([before, after], threads);
const rates = ceilingRates(ceilings);
process.stdout.write(
  `\nceilings (fastest sample of the probes before and after part A): matmul ${ceilings.matmulGflops.toFixed(0)} GFLOP/s` +
    (ceilings.peak ? ` (theoretical peak ${ceilings.peak.gflops.toFixed(0)}: ${ceilings.peak.method})` : '') +
    `, streaming read ${ceilings.readGBps.toFixed(1)} GB/s, JS copy ${ceilings.copyGBps.toFixed(1)} GB/s; ` +
    `medians before / after: read ${before.readGBps.median.toFixed(1)} / ${after.readGBps.median.toFixed(1)} GB/s\n\n`,
);

// one profiled step per entry and context: the implementation floor, and (--ops) where the time goes
const profiled = new Map<string, { bytes: number | null; runs: ProfiledRun[] }>();
for (const e of entries) {
  const model = new DecoderModel(e.model.packed, { threads, weights: e.weights, profile: true });
  const engine = await model.prepare(rows);
  for (const ctx of contexts) {
    const cache = e.caches.get(ctx)!;
    const positions = new BigInt64Array(rows).fill(BigInt(ctx - 1));
    for (let i = 0; i < 4; i++) await model.step(tokens, positions, cache);
    const runs = (await engine.endProfiling()).slice(1);
    const bytes = runs.map((r) => movedBytes(r, e.weights === 'constant' ? e.weightBytes : 0));
    profiled.set(`${e.label}@${ctx}`, { bytes: bytes.every((b) => b !== null) ? Math.min(...(bytes as number[])) : null, runs });
    // the profiler stays on for the next context's steps: a fresh session per context
    if (ctx !== contexts.at(-1)) {
      await model.release();
      await model.prepare(rows);
    }
  }
  await model.release();
}

const taskFloor = (g: number, ctx: number) => floorMs(decodeStepCost(config, g, rows, ctx), rates);
process.stdout.write(
  `### A. decode step at fixed contexts (${rounds} rounds × ${num(a.steps)} steps per entry, entries rotating; median ms, sd and n over every step; ` +
    `speedup: median of multi-head over median of the type, 95 % interval from a bootstrap over rounds)\n\n`,
);
const stepTable: Table = {
  title: 'decode step at fixed contexts',
  columns: [
    { key: 'attention', label: 'attention' },
    { key: 'kvHeads', label: 'kv heads', numeric: true },
    { key: 'context', label: 'context', numeric: true },
    { key: 'medianMs', label: 'median ms', numeric: true, digits: 2 },
    { key: 'sd', label: 'sd', numeric: true, digits: 2 },
    { key: 'min', label: 'min', numeric: true, digits: 2 },
    { key: 'n', label: 'n', numeric: true },
    { key: 'taskFloorMs', label: 'task floor ms', numeric: true, digits: 2 },
    { key: 'vsTask', label: '× task floor', numeric: true, digits: 2 },
    { key: 'implFloorMs', label: 'impl. floor ms', numeric: true, digits: 2 },
    { key: 'vsImpl', label: '× impl. floor', numeric: true, digits: 2 },
    { key: 'speedup', label: '× vs MHA [95 % CI]' },
  ],
  rows: contexts.flatMap((ctx) => {
    return entries.map((e) => {
      const all = e.ms.get(ctx)!.flat();
      const s = summarize(all);
      const tf = taskFloor(e.g, ctx);
      const bytes = profiled.get(`${e.label}@${ctx}`)!.bytes;
      const impl = bytes === null ? null : floorMs({ flops: decodeStepCost(config, e.g, rows, ctx).flops, bytes }, rates);
      const mha = entries.find((x) => x.label.startsWith('multi-head') && x.weights === e.weights);
      const speedup = mha && mha !== e ? { baseline: 'multi-head', ...roundsRatioInterval(mha.ms.get(ctx)!, e.ms.get(ctx)!, {}) } : null;
      return { attention: e.label, kvHeads: e.g, context: ctx, medianMs: s.median, sd: s.stddev, min: s.min, n: s.n, taskFloorMs: tf, vsTask: s.median / tf, implFloorMs: impl, vsImpl: impl ? s.median / impl : null, speedup: speedupText(speedup) };
    });
  }),
};
process.stdout.write(markdownTable(stepTable) + '\n\n');
const below = stepTable.rows.filter((r) => (r.min as number) < (r.taskFloorMs as number));
if (below.length) process.stdout.write(`BOUND BROKEN: ${below.map((r) => `${r.attention} @ ${r.context}`).join(', ')} ran faster than the task floor: a ceiling is wrong\n\n`);

if (a.ops) {
  for (const ctx of contexts) {
    process.stdout.write(`#### where a step's time goes at context ${ctx}, op by op (median over the profiled steps; kernel time, and the bytes the kernels read and wrote)\n\n`);
    const ops = new Map<string, Map<string, { ms: number[]; bytes: number[]; count: number }>>();
    for (const e of entries) {
      const runs = profiled.get(`${e.label}@${ctx}`)!.runs;
      const per = new Map<string, { ms: number[]; bytes: number[]; count: number }>();
      for (const run of runs) {
        const acc = new Map<string, { ms: number; bytes: number; count: number }>();
        for (const k of run.kernels) {
          const x = acc.get(k.op) ?? { ms: 0, bytes: 0, count: 0 };
          x.ms += k.dur / 1000;
          x.bytes += kernelBytes(k) ?? 0;
          x.count++;
          acc.set(k.op, x);
        }
        for (const [op, x] of acc) {
          const y = per.get(op) ?? { ms: [], bytes: [], count: x.count };
          y.ms.push(x.ms);
          y.bytes.push(x.bytes);
          per.set(op, y);
        }
      }
      ops.set(e.label, per);
    }
    const names = [...new Set([...ops.values()].flatMap((m) => [...m.keys()]))];
    const total = (label: string, op: string) => {
      const x = ops.get(label)!.get(op);
      return x ? median(x.ms) : 0;
    };
    names.sort((p, q) => Math.max(...entries.map((e) => total(e.label, q))) - Math.max(...entries.map((e) => total(e.label, p))));
    const opTable: Table = {
      title: `ops at context ${ctx}`,
      columns: [{ key: 'op', label: 'op' }, ...entries.flatMap((e, i) => [
        { key: `n${i}`, label: `${e.label} kernels`, numeric: true },
        { key: `ms${i}`, label: `${e.label} ms`, numeric: true, digits: 3 },
        { key: `mb${i}`, label: `${e.label} MB moved`, numeric: true, digits: 1 },
      ])],
      rows: [
        ...names.map((op) => ({
          op,
          ...Object.fromEntries(entries.flatMap((e, i) => {
            const x = ops.get(e.label)!.get(op);
            return [[`n${i}`, x?.count ?? 0], [`ms${i}`, x ? median(x.ms) : null], [`mb${i}`, x ? median(x.bytes) / 1e6 : null]];
          })),
        })),
        {
          op: 'executor span − Σ kernels (gaps between kernels)',
          ...Object.fromEntries(entries.flatMap((e, i) => {
            const runs = profiled.get(`${e.label}@${ctx}`)!.runs;
            const gaps = runs.map((r) => (r.kernels.reduce((m, k) => Math.max(m, k.ts + k.dur), r.executeTs) - r.executeTs - r.kernels.reduce((t, k) => t + k.dur, 0)) / 1000);
            return [[`n${i}`, null], [`ms${i}`, median(gaps)], [`mb${i}`, null]];
          })),
        },
        {
          op: 'run wall − executor span (binding: inputs, output copies)',
          ...Object.fromEntries(entries.flatMap((e, i) => {
            const runs = profiled.get(`${e.label}@${ctx}`)!.runs;
            return [[`n${i}`, null], [`ms${i}`, median(runs.map((r) => (r.modelRunUs - r.executeUs) / 1000))], [`mb${i}`, null]];
          })),
        },
      ],
    };
    process.stdout.write(markdownTable(opTable) + '\n\n');
  }
}
for (const e of entries) await e.model.release();
entries.length = 0;

// ---------- B and C run the command's own path, differing only in length, rows, beams and repeats ----------
const generateRun = (maxLength: number, batch: number, numBeams: number, repeats: number) =>
  runGenerate({ ...base, positions: Math.max(2048, maxLength), maxLength, batch, numBeams, repeats }, { progress: false, ceilings, log: () => {} });

// ---------- B: whole generations ----------
if (a.generate && !a['no-generate']) {
  const file = await generateRun(base.maxLength!, rows, 1, base.repeats!);
  process.stdout.write(
    `### B. whole generations: batch ${rows}, prompt 16, max_length ${base.maxLength}, greedy, ${base.repeats} timed generation(s) after a warm-up\n\n`,
  );
  process.stdout.write(markdownTable(generationTable(file)) + '\n\n');
  process.stdout.write(`floors: task floor over the streaming-read bound ${file.environment.ceilings?.readGBps.toFixed(1)} GB/s (fastest probe sample)\n\n`);
}
// ---------- C: beam search, the KV-cache reorder per type ----------
if (num(a.beams) > 1) {
  const nb = num(a.beams);
  const file = await generateRun(num(a['beam-max-length']), Math.max(1, Math.floor(rows / nb)), nb, 1);
  process.stdout.write(
    `### C. beam search: ${Math.max(1, Math.floor(rows / nb))} prompt(s) × ${nb} beams, prompt 16, max_length ${a['beam-max-length']}; the KV-cache reorder between steps\n\n`,
  );
  const reorderTable: Table = {
    title: 'beam search: the KV-cache reorder',
    columns: [
      { key: 'attention', label: 'attention' },
      { key: 'kvHeads', label: 'kv heads', numeric: true },
      { key: 'decodeMs', label: 'decode ms/step', numeric: true, digits: 2 },
      { key: 'reorders', label: 'reorders', numeric: true },
      { key: 'medianMs', label: 'reorder ms median', numeric: true, digits: 3 },
      { key: 'p90', label: 'p90', numeric: true, digits: 3 },
      { key: 'max', label: 'max', numeric: true, digits: 3 },
      { key: 'perGeneration', label: 'reorder ms per generation', numeric: true, digits: 1 },
      { key: 'sharePct', label: '% of decode', numeric: true, digits: 1 },
    ],
    rows: file.results.map((r) => {
      const p = r.beamReorderMsPerStep;
      const decodeTotal = r.decodeMsPerToken.median * r.decodeMsPerToken.n;
      return { attention: r.attention, kvHeads: r.kvHeads, decodeMs: r.decodeMsPerToken.median, reorders: p?.n ?? 0, medianMs: p?.median ?? null, p90: p?.p90 ?? null, max: p?.max ?? null, perGeneration: r.beamReorderMs, sharePct: (100 * r.beamReorderMs) / decodeTotal };
    }),
  };
  process.stdout.write(markdownTable(reorderTable) + '\n\n');
}
process.stdout.write(`load average at end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
