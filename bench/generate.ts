/**
 * Benchmark of `attnbench generate`'s decode step (performance is measured here, never in
 * timed tests). Prints markdown tables with the machine they ran on:
 *
 *  A. decode-step latency at fixed contexts: a KV cache filled to context C, the step
 *     timed `--steps` times per type, types interleaved round by round so that drift on a
 *     shared machine hits them alike; floor = max(bytes / copy GB/s, FLOPs / matmul
 *     GFLOP/s) measured in the same process (bytes: the weights once + the cache once).
 *  B. whole generations through the real command path (`runGenerate`), unless --no-generate.
 *
 *   node --import tsx bench/generate.ts                      # the issue's target shape
 *   node --import tsx bench/generate.ts --contexts 256,1024 --layers 4 --rounds 7
 *
 * Run it through bin/attnbench.js's malloc settings for numbers comparable with the
 * command's: MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 (set below if absent).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { parseVariant, variantLabel } from '../src/attention/spec.ts';
import { GenerateConfig, type GenerateConfigInput } from '../src/config/generate.ts';
import { parseConfig } from '../src/config/parse.ts';
import { Rng } from '../src/core/rng.ts';
import { KvCache, roundUp } from '../src/generate/kv-cache.ts';
import { runGenerate } from '../src/generate/run.ts';
import { decodeStepCost, gpt2Config, headDim, modelKvHeads } from '../src/model/config.ts';
import { DecoderModel } from '../src/model/model.ts';
import { pack, randomWeights } from '../src/model/weights.ts';
import { generationTable } from '../src/results/tables.ts';
import { ceilingRates, floorMs } from '../src/roofline/floor.ts';
import { CopyProbe, measureCeilings } from '../src/roofline/probes.ts';
import { markdownTable, type Table } from '../src/table/table.ts';
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
    /** Compare the decode session with and without spinning pool threads (part A). */
    spinning: { type: 'string', default: 'false' },
  },
});
const num = (s: string | undefined) => Number(s);
const given = (k: string, v: string | undefined, f: (s: string) => unknown = num) => (v === undefined ? {} : { [k]: f(v) });

/** The target shape: the seed's model cut to 4 layers, batch 8, one timed generation of 1024 tokens. */
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

const ceilings = await measureCeilings({ threads, graphOpt: 'all' });
process.stdout.write(
  `ceilings (same process, before): matmul ${ceilings.matmulGflops.median.toFixed(0)} GFLOP/s, copy ${ceilings.copyGBps.median.toFixed(1)} GB/s (sd ${ceilings.copyGBps.stddev.toFixed(1)})\n\n`,
);

// ---------- A: step latency at fixed contexts ----------
interface Entry {
  label: string;
  g: number;
  model: DecoderModel;
  caches: Map<number, KvCache>;
  ms: Map<number, number[]>;
}
const entries: Entry[] = [];
const spinSettings = a.spinning!.split(',').map((x) => x === 'true');
for (const spec of specs) for (const spinning of spinSettings) {
  const g = modelKvHeads(config, spec);
  const model = new DecoderModel(pack(randomWeights(config, g, { seed: 1 }), spec), { threads });
  const caches = new Map<number, KvCache>();
  const rng = new Rng(7);
  for (const ctx of contexts) {
    const cache = new KvCache({ layers: config.layers, rows, kvHeads: g, headDim: D }, roundUp(ctx, base.cacheChunk), base.cacheChunk);
    for (const buf of [...cache.k, ...cache.v]) rng.fill(buf, 0.5);
    for (let r = 0; r < rows; r++) cache.mask.fill(0, r * cache.capacity, r * cache.capacity + ctx - 1);
    cache.length = ctx - 1; // the step attends to ctx − 1 cached positions and itself
    caches.set(ctx, cache);
  }
  await model.prepare(rows);
  entries.push({ label: variantLabel(spec) + (spinSettings.length > 1 ? (spinning ? ' (spin)' : ' (no spin)') : ''), g, model, caches, ms: new Map() });
}
const tokens = BigInt64Array.from({ length: rows }, (_, i) => BigInt(100 + i));
const copyProbe: number[] = [];
const probe = new CopyProbe();
for (let round = 0; round < num(a.rounds); round++) {
  for (const ctx of contexts) {
    for (const e of entries) {
      const cache = e.caches.get(ctx)!;
      const positions = new BigInt64Array(rows).fill(BigInt(ctx - 1));
      await e.model.step(tokens, positions, cache); // warm
      const xs = e.ms.get(ctx) ?? [];
      for (let i = 0; i < num(a.steps); i++) {
        const t0 = performance.now();
        await e.model.step(tokens, positions, cache);
        xs.push(performance.now() - t0);
      }
      e.ms.set(ctx, xs);
    }
  }
  copyProbe.push(...probe.run(1));
}
const copyGBps = median([ceilings.copyGBps.median, ...copyProbe]);
const floor = (g: number, ctx: number) => floorMs(decodeStepCost(config, g, rows, ctx), { ...ceilingRates(ceilings), copyGBps });
process.stdout.write(
  `### A. decode step at fixed contexts (median ms over ${num(a.rounds)} rounds × ${num(a.steps)} steps; copy bandwidth for the floor: ${copyGBps.toFixed(1)} GB/s, median of the ceiling and ${copyProbe.length} probes between rounds: ${copyProbe.map((x) => x.toFixed(0)).join(', ')})\n\n`,
);
const stepTable: Table = {
  title: 'decode step at fixed contexts',
  columns: [
    { key: 'attention', label: 'attention' },
    { key: 'kvHeads', label: 'kv heads', numeric: true },
    { key: 'context', label: 'context', numeric: true },
    { key: 'medianMs', label: 'median ms', numeric: true, digits: 2 },
    { key: 'sd', label: 'sd', numeric: true, digits: 2 },
    { key: 'p90', label: 'p90', numeric: true, digits: 2 },
    { key: 'n', label: 'n', numeric: true },
    { key: 'floorMs', label: 'floor ms', numeric: true, digits: 2 },
    { key: 'vsFloor', label: '× floor', numeric: true, digits: 2 },
    { key: 'speedupVsMha', label: '× vs MHA', numeric: true, digits: 2 },
  ],
  rows: contexts.flatMap((ctx) => {
    const mha = entries.find((e) => e.label === 'multi-head');
    return entries.map((e) => {
      const s = summarize(e.ms.get(ctx)!);
      const f = floor(e.g, ctx);
      return { attention: e.label, kvHeads: e.g, context: ctx, medianMs: s.median, sd: s.stddev, p90: s.p90, n: s.n, floorMs: f, vsFloor: s.median / f, speedupVsMha: mha ? median(mha.ms.get(ctx)!) / s.median : null };
    });
  }),
};
process.stdout.write(markdownTable(stepTable) + '\n\n');
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
  const probes = file.results.at(-1)?.roofline?.copyProbesGBps ?? [];
  process.stdout.write(
    `floors: copy ${file.results.map((r) => r.roofline?.copyGBps.toFixed(1)).join(' / ')} GB/s per type (median of the ceiling and the probes around each type's runs: ${probes.map((x) => x.toFixed(0)).join(', ')})\n\n`,
  );
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
