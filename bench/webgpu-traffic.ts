/**
 * Benchmark: what crosses between JS and the device in `attnbench generate --device webgpu`,
 * counted at the binding. Every `Engine.run` of a real generation (the command's own loop,
 * `generate()`, with the command's engine settings, `engineSettings` in src/generate/run.ts)
 * is wrapped: the bytes of the feeds that live in JS (the binding uploads each at every
 * call), of the feeds already on the device, and of the outputs it returns into JS
 * (downloads). Calls are told apart by what they run: the decoder's prefill (S > 1 tokens a
 * row), its decode steps (S = 1), the cache's own graphs (zeros, growth, reorder) and the
 * downloads. Prints a markdown table per design: the command's (the cache on the device),
 * and the CPU decoder's design run on WebGPU (`cacheUpdate: 'caller'`: the cache fed from JS).
 *
 *   node bench/run.js webgpu-traffic --device webgpu
 *   node bench/run.js webgpu-traffic --device webgpu --layers 24 --hidden 1024 --heads 16 --vocab 50257 --batch 8 --max-new-tokens 64
 */
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { parseVariant } from '../src/attention/spec.ts';
import { GenerateConfig } from '../src/config/generate.ts';
import { Engine, type ort } from '../src/engine/session.ts';
import { generate } from '../src/generate/generate.ts';
import { randomPrompts } from '../src/generate/prompts.ts';
import { engineSettings, generationOptions } from '../src/generate/run.ts';
import { planGenerate } from '../src/generate/plan.ts';
import { modelKvHeads, headDim } from '../src/model/config.ts';
import { DecoderModel } from '../src/model/model.ts';
import { pack, randomWeights } from '../src/model/weights.ts';
import { markdownTable } from '../src/table/table.ts';

const { values: a } = parseArgs({
  options: {
    device: { type: 'string', default: 'webgpu' },
    attention: { type: 'string', default: 'multi-head' },
    layers: { type: 'string', default: '2' },
    hidden: { type: 'string', default: '64' },
    heads: { type: 'string', default: '4' },
    vocab: { type: 'string', default: '256' },
    positions: { type: 'string', default: '1024' },
    batch: { type: 'string', default: '4' },
    'prompt-length': { type: 'string', default: '16' },
    'max-new-tokens': { type: 'string', default: '24' },
    'cache-chunk': { type: 'string', default: '16' },
  },
});

const config = GenerateConfig.parse({
  device: a.device,
  layers: Number(a.layers),
  hidden: Number(a.hidden),
  heads: Number(a.heads),
  vocab: Number(a.vocab),
  positions: Number(a.positions),
  batch: Number(a.batch),
  promptLength: Number(a['prompt-length']),
  maxNewTokens: Number(a['max-new-tokens']),
  minNewTokens: Number(a['max-new-tokens']),
  cacheChunk: Number(a['cache-chunk']),
  attention: [a.attention],
});
const plan = planGenerate(config);
const spec = parseVariant(a.attention!);
const g = modelKvHeads(plan.model, spec);

const ELEMENT: Record<string, number> = { float32: 4, int64: 8, int32: 4, bool: 1 };
const bytesOf = (t: ort.Tensor) => ELEMENT[t.type]! * t.dims.reduce((x, y) => x * y, 1);

interface Call {
  kind: string;
  up: number;
  onDevice: number;
  down: number;
}

let calls: Call[] = [];
const run = Engine.prototype.runTensors;
Engine.prototype.runTensors = async function (this: Engine, feeds, fetches) {
  const out = await run.call(this, feeds, fetches);
  const ins = Object.values(feeds);
  const tokens = feeds.tokens;
  const kind = tokens ? (tokens.dims.reduce((x, y) => x * y, 1) > plan.rows ? 'prefill' : 'decode step') : Object.keys(feeds).some((k) => k === 'shape') ? 'cache: zeros' : Object.keys(out).length > 2 ? 'cache: grow or reorder' : 'download';
  calls.push({
    kind,
    up: ins.filter((t) => t.location === 'cpu').reduce((x, t) => x + bytesOf(t), 0),
    onDevice: ins.filter((t) => t.location !== 'cpu').reduce((x, t) => x + bytesOf(t), 0),
    down: Object.values(out).filter((t) => t.location === 'cpu').reduce((x, t) => x + bytesOf(t), 0),
  });
  return out;
};

const KIB = 1024;
const rows: Record<string, string | number>[] = [];
for (const design of ['device cache (the command)', 'js cache (caller update)'] as const) {
  const settings = { ...engineSettings(config), ...(design.startsWith('js') ? { cacheUpdate: 'caller' as const } : {}) };
  const model = new DecoderModel(pack(randomWeights(plan.model, g, { seed: 1 }), spec), settings);
  const prompts = randomPrompts(plan.prompts.length, plan.promptLength, plan.model.vocab, 1);
  await generate(model, prompts, generationOptions(config, plan)); // warm-up: sessions and programs
  calls = [];
  const o = await generate(model, prompts, generationOptions(config, plan));
  await model.release();
  const finalCap = Math.ceil(o.timing.finalLength / config.cacheChunk) * config.cacheChunk;
  const cacheBytes = 2 * plan.model.layers * plan.rows * g * finalCap * headDim(plan.model) * 4;
  for (const kind of [...new Set(calls.map((c) => c.kind))]) {
    const cs = calls.filter((c) => c.kind === kind);
    const med = (f: (c: Call) => number) => median(cs.map(f)) / KIB;
    const max = (f: (c: Call) => number) => Math.max(...cs.map(f)) / KIB;
    rows.push({
      design,
      kind,
      n: cs.length,
      up: `${med((c) => c.up).toFixed(1)} (max ${max((c) => c.up).toFixed(1)})`,
      onDevice: `${med((c) => c.onDevice).toFixed(1)} (max ${max((c) => c.onDevice).toFixed(1)})`,
      down: `${med((c) => c.down).toFixed(2)} (max ${max((c) => c.down).toFixed(2)})`,
      cache: (cacheBytes / KIB).toFixed(1),
    });
  }
}

process.stdout.write(
  `${spec.kind} (${g} K/V heads), ${plan.model.layers} layers, hidden ${plan.model.hidden}, vocab ${plan.model.vocab}; ${plan.rows} rows, prompt ${plan.promptLength}, ${plan.maxNewTokens} new tokens (greedy), cache chunk ${config.cacheChunk}; one generation after a warm-up one\n\n`,
);
process.stdout.write(
  markdownTable({
    title: 'traffic',
    columns: [
      { key: 'design', label: 'design' },
      { key: 'kind', label: 'call' },
      { key: 'n', label: 'calls', numeric: true },
      { key: 'up', label: 'JS → device KiB/call, median (max)' },
      { key: 'onDevice', label: 'fed from the device KiB/call' },
      { key: 'down', label: 'device → JS KiB/call' },
      { key: 'cache', label: 'KV cache at the end, KiB' },
    ],
    rows,
  }) + '\n',
);
