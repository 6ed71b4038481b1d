/**
 * Run in a child process by `probe.ts`: one small MatMul on the WebGPU provider, checked
 * against its exact answer, or (`adapter ICDS_JSON`) the adapter's record through the
 * optional `webgpu` package. Prints one JSON line on stdout; Dawn's own warnings go to
 * stderr, which the parent reads to name what is missing.
 */
import * as ort from 'onnxruntime-node';
import { engineTmpdir } from '../core/temp.ts';
import { GraphBuilder } from '../engine/graph.ts';
import { readAdapter } from './adapter.ts';
import type { Icd } from './vulkan.ts';

async function matmul(): Promise<object> {
  const n = 64;
  const g = new GraphBuilder('probe');
  g.output(g.node('MatMul', [g.input('a', [n, n]), g.input('b', [n, n])]), 'out');
  const t0 = performance.now();
  // the engine's first session writes its telemetry files into TMPDIR: into this process's own folder, gone when it exits
  const s = await engineTmpdir(() => ort.InferenceSession.create(g.toBytes(), { executionProviders: ['webgpu'], logSeverityLevel: 3 }));
  // small integers: every product and sum is exact in float32, so any difference is a wrong result
  const a = new Float32Array(n * n).map((_, i) => (i % 7) - 3);
  const b = new Float32Array(n * n).map((_, i) => (i % 5) - 2);
  const out = (await s.run({ a: new ort.Tensor('float32', a, [n, n]), b: new ort.Tensor('float32', b, [n, n]) })).out!.data as Float32Array;
  let maxErr = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let ref = 0;
      for (let k = 0; k < n; k++) ref += a[i * n + k]! * b[k * n + j]!;
      maxErr = Math.max(maxErr, Math.abs(ref - out[i * n + j]!));
    }
  await s.release();
  return { ok: maxErr === 0, maxErr, ms: performance.now() - t0 };
}

const what = process.argv[2] ?? 'matmul';
try {
  const r = what === 'adapter' ? { ok: true, adapter: await readAdapter(JSON.parse(process.argv[3] ?? '[]') as Icd[]) } : await matmul();
  process.stdout.write(`${JSON.stringify(r)}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: (e as Error).message })}\n`);
}
process.exit(0);
