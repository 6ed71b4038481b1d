/**
 * Where a generation's memory goes: the process's resident set after each phase of one
 * type's decoder (weights drawn, session created, a long prefill, a second one, decode
 * steps), for a long prompt at batch 8. The case: 4 layers, hidden 1024, a
 * 1000-token prompt at batch 8 peaked at 5.8 GB.
 *
 *   node bench/run.js memory [--attention multi-head] [--prompt 1000] [--batch 8] [--layers 4] [--hidden 1024] [--weights constant]
 *
 * RSS only grows here: the launcher's glibc settings keep freed memory for reuse, so a
 * phase's growth is what it needed beyond what earlier phases freed.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { parseVariant } from '../src/attention/spec.ts';
import { KvCache } from '../src/generate/kv-cache.ts';
import { leftPad, randomPrompts } from '../src/generate/prompts.ts';
import { gpt2Config, modelKvHeads, parameterCount } from '../src/model/config.ts';
import { DecoderModel } from '../src/model/model.ts';
import { pack, randomWeights } from '../src/model/weights.ts';
import { markdownTable } from '../src/table/table.ts';

const { values: a } = parseArgs({
  options: {
    attention: { type: 'string', default: 'multi-head' },
    prompt: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '8' },
    layers: { type: 'string', default: '4' },
    hidden: { type: 'string', default: '1024' },
    heads: { type: 'string', default: '16' },
    steps: { type: 'string', default: '16' },
    weights: { type: 'string', default: 'constant' },
  },
});
const rows = Number(a.batch);
const S = Number(a.prompt);
const c = gpt2Config({ layers: Number(a.layers), hidden: Number(a.hidden), heads: Number(a.heads), positions: Math.max(2048, S + Number(a.steps) + 1), vocab: 50257 });
const spec = parseVariant(a.attention!);
const g = modelKvHeads(c, spec);
const phases: { phase: string; rssGiB: number; peakGiB: number; ms: number | null }[] = [];
const GIB = 2 ** 30;
const mark = (phase: string, ms: number | null = null) =>
  phases.push({ phase, rssGiB: process.memoryUsage().rss / GIB, peakGiB: (process.resourceUsage().maxRSS * 1024) / GIB, ms });
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
};

mark('start');
const w = randomWeights(c, g, { seed: 1 });
mark(`weights drawn (${((4 * parameterCount(c, g)) / GIB).toFixed(2)} GiB of float32)`);
const m = new DecoderModel(pack(w, spec), { threads: os.cpus().length, weights: a.weights as 'constant' | 'input' });
const [, createMs] = await timed(() => m.prepare(rows));
mark('session created (the model serialised, the engine\'s copy, its pre-packed copies)', createMs);
const b = leftPad(randomPrompts(rows, S, c.vocab, 1), 0);
const batch = { rows, seq: S, tokens: b.tokens, positions: b.positions, selfMask: b.mask };
const [pre, preMs] = await timed(() => m.prefill(batch));
mark(`prefill of ${S} tokens × ${rows} rows`, preMs);
const [, pre2Ms] = await timed(() => m.prefill(batch));
mark('the same prefill again', pre2Ms);
const cache = new KvCache({ ...m.cacheShape, rows }, S + Number(a.steps) + 1, 256);
cache.writePrefill(pre.kv, S, b.live);
mark(`KV cache filled (${(cache.allocatedBytes() / GIB).toFixed(2)} GiB allocated)`);
const tokens = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i));
let stepMs = 0;
for (let i = 0; i < Number(a.steps); i++) {
  const positions = new BigInt64Array(rows).fill(BigInt(S + i));
  const [out, ms] = await timed(() => m.step(tokens, positions, cache));
  cache.append(out.kv);
  stepMs += ms;
}
mark(`${a.steps} decode steps`, stepMs / Number(a.steps));
await m.release();

process.stdout.write(
  `## memory of one generation: ${a.attention}, ${c.layers} layers, hidden ${c.hidden}, prompt ${S} × batch ${rows}, weights ${a.weights}\n\n` +
    `machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, node ${process.version}; malloc ${process.env.MALLOC_MMAP_MAX_ === undefined ? 'default' : 'keeps freed memory'}\n\n`,
);
process.stdout.write(
  markdownTable({
    title: 'memory by phase',
    columns: [
      { key: 'phase', label: 'phase' },
      { key: 'rssGiB', label: 'RSS GiB', numeric: true, digits: 2 },
      { key: 'peakGiB', label: 'peak GiB', numeric: true, digits: 2 },
      { key: 'ms', label: 'ms (a step: mean)', numeric: true, digits: 0 },
    ],
    rows: phases,
  }) + '\n',
);
