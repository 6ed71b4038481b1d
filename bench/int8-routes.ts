/**
 * Benchmark: which int8 route the quantized weight products take. At each shape a decoder
 * multiplies ([rows, k] × [k, n], the weight a constant), the routes are timed interleaved in
 * rounds whose order rotates: float32 MatMul; MatMulNBits 8- and 4-bit, block 32, at
 * accuracy levels 4 (int8 activations) and 0 (float activations, 8-bit only where asked);
 * and DynamicQuantizeMatMul (int8 weights per column, the input quantized per tensor to
 * uint8). Prints a markdown table: median ms, interquartile range, n, speedup over float32,
 * and the weight's bytes. Used to choose the route (docs/performance.md, "Precision").
 *
 *   node bench/run.js int8-routes [--rounds 40] [--threads 2] [--rows 8]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { quantile } from 'simple-statistics';
import { GraphBuilder, MS_DOMAIN } from '../src/engine/graph.ts';
import { Engine, f32, ortVersion } from '../src/engine/session.ts';
import { Rng } from '../src/core/rng.ts';
import { packWeight } from '../src/precision/blocks.ts';
import { markdownTable } from '../src/table/table.ts';
import { roundOrder } from '../src/timing/rounds.ts';
import { hrtimeMs } from '../src/timing/measure.ts';


const { values: a } = parseArgs({ options: { rounds: { type: 'string', default: '40' }, threads: { type: 'string', default: '2' }, rows: { type: 'string', default: '8' }, shapes: { type: 'string' } } });
const rounds = Number(a.rounds);
const threads = Number(a.threads);
const rows = Number(a.rows);
// the decoder of the issue (hidden 1024, GPT-2's vocabulary): fused q/k/v, output projection, MLP in and out, LM head
const SHAPES: [number, number][] = a.shapes ? a.shapes.split(',').map((s) => s.split('x').map(Number) as [number, number]) : [[1024, 3072], [1024, 1024], [1024, 4096], [4096, 1024], [1024, 50257]];

type Route = { name: string; build: (g: GraphBuilder, x: string, w: Float32Array, k: number, n: number) => string; bytes: (k: number, n: number) => number };
const nbits = (bits: 4 | 8, level: number): Route => ({
  name: `MatMulNBits ${bits}-bit, level ${level}`,
  build(g, x, w, k, n) {
    const q = packWeight(w, k, n, bits === 8 ? 'int8' : 'int4', 32);
    const b = g.rawInitializer('b', 'uint8', q.codes, [n, k / 32, (32 * bits) / 8]);
    const s = g.rawInitializer('s', 'float', new Uint8Array(q.scales.buffer), [n * (k / 32)]);
    return g.node('MatMulNBits', [x, b, s], { K: k, N: n, bits, block_size: 32, accuracy_level: level }, { domain: MS_DOMAIN });
  },
  bytes: (k, n) => n * (k / 32) * (4 + (32 * bits) / 8),
});
const ROUTES: Route[] = [
  { name: 'float32 MatMul', build: (g, x, w, k, n) => g.node('MatMul', [x, g.initializer('w', w, [k, n])]), bytes: (k, n) => 4 * k * n },
  nbits(8, 4),
  nbits(4, 4),
  {
    name: 'DynamicQuantizeMatMul int8',
    build(g, x, w, k, n) {
      // int8 per output column, symmetric
      const codes = new Int8Array(k * n);
      const scales = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        let m = 0;
        for (let i = 0; i < k; i++) m = Math.max(m, Math.abs(w[i * n + j]!));
        scales[j] = m / 127 || 1;
        for (let i = 0; i < k; i++) codes[i * n + j] = Math.round(w[i * n + j]! / scales[j]!);
      }
      const b = g.rawInitializer('b', 'int8', new Uint8Array(codes.buffer), [k, n]);
      return g.node('DynamicQuantizeMatMul', [x, b, g.floats([...scales], [n])], {}, { domain: MS_DOMAIN });
    },
    bytes: (k, n) => k * n + 4 * n,
  },
];

const rng = new Rng(1);
const table: Record<string, number | string>[] = [];
for (const [k, n] of SHAPES) {
  const w = rng.normals(k * n, 0.02);
  const x = rng.normals(rows * k);
  const engines = [];
  for (const r of ROUTES) {
    const g = new GraphBuilder(r.name);
    g.output(r.build(g, g.input('x', [rows, k]), w, k, n), 'y');
    engines.push(await Engine.create(g.toBytes(), { threads, graphOpt: 'all', device: 'cpu', arena: false, spinning: false }));
  }
  const feeds = { x: f32(x, [rows, k]) };
  const samples: number[][] = ROUTES.map(() => []);
  for (let i = 0; i < 3; i++) for (const e of engines) await e.runTensors(feeds);
  for (let round = 0; round < rounds; round++)
    for (const i of roundOrder(ROUTES.map((_, j) => j), round)) {
      const t0 = hrtimeMs();
      await engines[i]!.runTensors(feeds);
      samples[i]!.push(hrtimeMs() - t0);
    }
  const med = samples.map((s) => quantile(s, 0.5));
  ROUTES.forEach((r, i) =>
    (table as Record<string, number | string>[]).push({ shape: `[${rows},${k}]×[${k},${n}]`, route: r.name, median: med[i]!, iqr: quantile(samples[i]!, 0.75) - quantile(samples[i]!, 0.25), n: samples[i]!.length, speedup: med[0]! / med[i]!, mib: r.bytes(k, n) / 2 ** 20 }),
  );
  for (const e of engines) await e.release();
}
process.stdout.write(`Machine: ${os.cpus()[0]?.model}, ${threads} thread(s), onnxruntime-node ${ortVersion()}, ${rounds} interleaved rounds\n\n`);
process.stdout.write(
  markdownTable({
    title: 'int8 routes',
    columns: [
      { key: 'shape', label: 'product' },
      { key: 'route', label: 'route' },
      { key: 'median', numeric: true, label: 'median ms', digits: 3 },
      { key: 'iqr', numeric: true, label: 'IQR ms', digits: 3 },
      { key: 'n', label: 'n', numeric: true },
      { key: 'speedup', numeric: true, label: 'vs float32', digits: 2 },
      { key: 'mib', numeric: true, label: 'weight MiB', digits: 2 },
    ],
    rows: table,
  }) + '\n',
);

