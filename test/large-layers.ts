/**
 * A large layer result file made from the small real one (test/fixtures/layers.json), for
 * the tests and measurements of `attnbench report` on big inputs: its results replicated
 * over more variants, batch sizes and sequence lengths, each a valid result (times scaled
 * with the work, speedups kept), so the file reads like a real sweep of that size.
 *
 * As a script: `node --import tsx test/large-layers.ts OUT.json N` writes N results.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LayerResult, LayerResultFile } from '../src/results/schema.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/layers.json');
const VARIANTS = ['multi-head', 'multi-query-1', 'grouped-query:2', 'grouped-query:4', 'grouped-query:8'];
const BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** The fixture's results by variant, the template of each new one. */
function templates(file: LayerResultFile): Map<string, LayerResult> {
  const byVariant = new Map<string, LayerResult>();
  for (const r of file.results) if (!byVariant.has(r.attention)) byVariant.set(r.attention, r);
  return byVariant;
}

/** A copy of `t` as the result of (variant, batch, seq): its times scaled by the work, every sample kept valid. */
function resultAt(t: LayerResult, variant: string, batch: number, seq: number): LayerResult {
  const k = (batch * seq) / (t.batch * t.seq);
  const scale = (x: number) => x * k;
  const s = t.ms;
  return {
    ...t,
    attention: variant,
    batch,
    seq,
    ms: { ...s, median: scale(s.median), min: scale(s.min), max: scale(s.max), p90: scale(s.p90), stddev: scale(s.stddev), samples: s.samples.map(scale) },
    stages: t.stages.map((st) => ({ ...st, wallMs: scale(st.wallMs), kernelMs: scale(st.kernelMs), hostMs: scale(st.hostMs) })),
    profiledMs: t.profiledMs === null ? null : scale(t.profiledMs),
    flops: t.flops * k,
    bytes: t.bytes * k,
    speedup: variant === 'multi-head' ? null : (t.speedup ?? { baseline: 'multi-head', ratio: 1.2, low: 1.1, high: 1.3, level: 0.95, n: s.n, method: 'paired-bootstrap' }),
    verify: t.verify ? { ...t.verify, batch, seq } : undefined,
  } as LayerResult;
}

/** The fixture's file with `n` results: variants × batch sizes × sequence lengths, as many lengths as it takes. */
export function largeLayerFile(n: number): LayerResultFile {
  const file = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as LayerResultFile;
  const byVariant = templates(file);
  const fallback = file.results[0]!;
  const perSeq = VARIANTS.length * BATCHES.length;
  const results: LayerResult[] = [];
  for (let i = 0; i < n; i++) {
    const seqIndex = Math.floor(i / perSeq);
    const batch = BATCHES[Math.floor(i / VARIANTS.length) % BATCHES.length]!;
    const variant = VARIANTS[i % VARIANTS.length]!;
    results.push(resultAt(byVariant.get(variant) ?? byVariant.get('grouped-query:4') ?? fallback, variant, batch, 16 * (seqIndex + 1)));
  }
  return { ...file, results, failures: [] };
}

/** Write the large file to `out` (one line, as compact as JSON gets); returns its size in bytes. */
export function writeLargeLayerFile(out: string, n: number): number {
  const text = JSON.stringify(largeLayerFile(n));
  fs.writeFileSync(out, text);
  return Buffer.byteLength(text);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const [out, n] = process.argv.slice(2);
  if (!out || !n) throw new Error('usage: node --import tsx test/large-layers.ts OUT.json N');
  const bytes = writeLargeLayerFile(out, Number(n));
  console.log(`${out}: ${n} results, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
}
