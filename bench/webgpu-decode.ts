/**
 * Benchmark: a decode step on a device with its KV cache fed from JS every step (the CPU
 * decoder's design: `cacheUpdate: 'caller'`, the whole capacity uploaded, the new rows
 * downloaded) against the cache kept on the device (`cacheUpdate: 'graph'`: the graph
 * writes the new rows, the written caches stay there and are fed back; only the logits, or
 * with `argmax` only the ids, come back). Prints a markdown table: wall ms per step (median
 * [min–max], n), Σ GPU program ms per step from a profiled pass, and the bytes each step
 * moves between JS and the device (analytic), plus the device-side copy ScatterND makes.
 *
 *   node bench/run.js webgpu-decode --device webgpu            # SwiftShader here: tiny defaults
 *   node bench/run.js webgpu-decode --device webgpu --layers 24 --hidden 1024 --heads 16 --vocab 50257 --rows 8 --contexts 128,1024
 *
 * Designs run interleaved, round by round, from the same cache content, so that a shared
 * machine's drift hits them alike. Capacities leave room for every step: no growth is timed.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { parseVariant, variantLabel } from '../src/attention/spec.ts';
import { F32 } from '../src/core/constants.ts';
import { Rng } from '../src/core/rng.ts';
import { providerChoice } from '../src/device/choice.ts';
import type { NodeDevice } from '../src/engine/session.ts';
import { DeviceKvCache } from '../src/generate/device-kv-cache.ts';
import { KvCache, roundUp } from '../src/generate/kv-cache.ts';
import { gpt2Config, headDim, modelKvHeads } from '../src/model/config.ts';
import { DecoderModel, type TokenBatch } from '../src/model/model.ts';
import { pack, randomWeights, type PackedModel } from '../src/model/weights.ts';
import { markdownTable } from '../src/table/table.ts';
import { summarize } from '../src/timing/stats.ts';

const { values: a } = parseArgs({
  options: {
    device: { type: 'string', default: 'webgpu' },
    attention: { type: 'string', default: 'multi-head,multi-query-1' },
    layers: { type: 'string', default: '2' },
    hidden: { type: 'string', default: '64' },
    heads: { type: 'string', default: '4' },
    vocab: { type: 'string', default: '256' },
    rows: { type: 'string', default: '4' },
    contexts: { type: 'string', default: '64,1024' },
    steps: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    'profiled-steps': { type: 'string', default: '3' },
  },
});
const device = a.device as NodeDevice;
const config = gpt2Config({ layers: Number(a.layers), hidden: Number(a.hidden), heads: Number(a.heads), positions: 8192, vocab: Number(a.vocab) });
const rows = Number(a.rows);
const steps = Number(a.steps);
const rounds = Number(a.rounds);
const D = headDim(config);

type Design = 'js cache' | 'device cache' | 'device cache + argmax';
const DESIGNS: Design[] = ['js cache', 'device cache', 'device cache + argmax'];
const settings = (d: Design) => ({ threads: 1, device, cacheUpdate: d === 'js cache' ? ('caller' as const) : ('graph' as const), argmax: d === 'device cache + argmax' });

/** Bytes a step moves between JS and the device, and copies on the device, for a cache of `cap` positions. */
function traffic(d: Design, g: number, cap: number) {
  const cache = 2 * config.layers * rows * g * cap * D * F32;
  const small = 2 * rows * 8 + rows * 4 + 4 + rows * 4; // tokens, positions, lengths, self mask
  const mask = rows * cap * F32;
  const logits = rows * config.vocab * F32;
  if (d === 'js cache') return { up: cache + mask + small, down: logits + config.layers * rows * 2 * g * D * F32, onDevice: 0 };
  return { up: mask + small + rows * g * 3 * 8, down: d === 'device cache' ? logits : rows * 8, onDevice: cache };
}

/** A host cache of `length` random positions in `cap`. */
function hostCache(g: number, cap: number, length: number): KvCache {
  const c = new KvCache({ layers: config.layers, rows, kvHeads: g, headDim: D }, cap, cap);
  const rng = new Rng(3);
  c.fillRandom(rng, 1);
  for (let r = 0; r < rows; r++) c.mask.fill(0, r * cap, r * cap + length);
  c.length = length;
  return c;
}

/** One design's decoder and cache, stepping one token per row. */
class Runner {
  private position: number;
  private constructor(
    readonly design: Design,
    readonly model: DecoderModel,
    private readonly js: KvCache | null,
    private readonly dev: DeviceKvCache | null,
    start: number,
  ) {
    this.position = start;
  }

  static async create(design: Design, pm: PackedModel, host: KvCache, profile: boolean): Promise<Runner> {
    const model = new DecoderModel(pm, { ...settings(design), profile });
    await model.prepare(rows);
    if (design === 'js cache') {
      const js = new KvCache(host.shape, host.capacity, host.chunk);
      js.k.forEach((b, i) => b.set(host.k[i]!));
      js.v.forEach((b, i) => b.set(host.v[i]!));
      js.mask.set(host.mask);
      js.length = host.length;
      return new Runner(design, model, js, null, host.length);
    }
    return new Runner(design, model, null, await DeviceKvCache.fromHost(host, { device }), host.length);
  }

  /** One step; its wall ms (the step, the cache update and the read-back of what the search needs). */
  async step(): Promise<number> {
    const batch: TokenBatch = { rows, seq: 1, tokens: BigInt64Array.from({ length: rows }, (_, r) => BigInt((this.position * 7 + r) % config.vocab)), positions: new BigInt64Array(rows).fill(BigInt(this.position)), selfMask: new Float32Array(rows) };
    this.position += 1;
    const t0 = performance.now();
    if (this.js) this.js.append((await this.model.forward(batch, this.js)).kv);
    else {
      const out = await this.model.forwardResident(batch, this.dev!);
      this.dev!.adopt(out.present, 1);
      out.logitsOnDevice?.dispose();
    }
    return performance.now() - t0;
  }

  async release(): Promise<void> {
    await this.dev?.release();
    await this.model.release();
  }
}

const rec = providerChoice(device);
const adapter = rec.provider === 'webgpu' ? rec.adapter : null;
const machine = `${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at start`;
process.stdout.write(`## Decode step: KV cache fed from JS vs kept on the device\n\n`);
process.stdout.write(`device: ${device}${adapter ? ` — ${adapter.description} (${adapter.vendor || adapter.driver})${rec.provider === 'webgpu' && rec.software ? ', a software adapter: not a GPU speed' : ''}` : ''}; machine: ${machine}; node ${process.version}\n\n`);
process.stdout.write(`model: ${config.layers} layers, hidden ${config.hidden}, ${config.heads} heads, vocab ${config.vocab}, float32; ${rows} rows; ${rounds} rounds × ${steps} steps per design, interleaved, after one warm-up step each\n\n`);

const table = { title: 'decode step', columns: [
  { key: 'type', label: 'type' },
  { key: 'context', label: 'context', numeric: true },
  { key: 'capacity', label: 'capacity', numeric: true },
  { key: 'design', label: 'cache' },
  { key: 'ms', label: 'wall ms/step, median [min–max] n' },
  { key: 'gpu', label: 'Σ GPU ms/step (profiled)', numeric: true, digits: 2 },
  { key: 'up', label: 'JS → device KiB/step', numeric: true, digits: 1 },
  { key: 'down', label: 'device → JS KiB/step', numeric: true, digits: 2 },
  { key: 'copy', label: 'device copy KiB/step', numeric: true, digits: 1 },
], rows: [] as Record<string, string | number | null>[] };

for (const name of a.attention!.split(',')) {
  const spec = parseVariant(name);
  const g = modelKvHeads(config, spec);
  const pm = pack(randomWeights(config, g, { seed: 1 }), spec);
  for (const context of a.contexts!.split(',').map(Number)) {
    const cap = roundUp(context + rounds * steps + 1 + Number(a['profiled-steps']) + 1, 256);
    const host = hostCache(g, cap, context - 1);
    const runners = await Promise.all(DESIGNS.map((d) => Runner.create(d, pm, host, false)));
    for (const r of runners) await r.step(); // compiles the programs of this capacity
    const ms = new Map<Design, number[]>(DESIGNS.map((d) => [d, []]));
    for (let round = 0; round < rounds; round++) for (const r of runners) for (let s = 0; s < steps; s++) ms.get(r.design)!.push(await r.step());
    for (const r of runners) await r.release();
    // the profiled pass: its own sessions, Σ GPU program time of each step after a warm-up one
    const gpuMs = new Map<Design, number | null>();
    for (const d of DESIGNS) {
      if (device !== 'webgpu') {
        gpuMs.set(d, null);
        continue;
      }
      const r = await Runner.create(d, pm, host, true);
      for (let s = 0; s <= Number(a['profiled-steps']); s++) await r.step();
      const runs = (await r.model.engine(rows)!.endProfiling()).slice(1);
      gpuMs.set(d, median(runs.map((x) => (x.gpu?.programUs ?? 0) / 1000)));
      await r.release();
    }
    for (const d of DESIGNS) {
      const s = summarize(ms.get(d)!);
      const t = traffic(d, g, cap);
      table.rows.push({ type: variantLabel(spec), context, capacity: cap, design: d, ms: `${s.median.toFixed(2)} [${s.min.toFixed(2)}–${s.max.toFixed(2)}] n=${s.n}`, gpu: gpuMs.get(d)!, up: t.up / 1024, down: t.down / 1024, copy: t.onDevice / 1024 });
    }
    process.stderr.write(`${variantLabel(spec)} context ${context}: done\n`);
  }
}
process.stdout.write(`${markdownTable(table)}\n\n`);
process.stdout.write(
  '\nWall: performance.now() around the step and its cache update (js cache: the kv rows appended in JS; device cache: the written caches adopted); the logits the search reads come back inside the step, except with argmax (ids only). Σ GPU: the GPU programs of a profiled session (uploads, downloads and buffer copies are no programs). Traffic is analytic: float32 caches, the additive mask, ScatterND indices, tokens.\n',
);
process.exit(0);
