/**
 * WebGPU child of test/webgpu.test.ts: one layer profiled on the WebGPU provider (4 runs,
 * the first dropped), its GPU events split into stages by the CPU's own stage code; prints
 * { stages, gpu, programs } as one JSON line.
 */
import { buildLayer, layerInputs, layerShape } from '../../src/attention/layer.ts';
import { randomParams } from '../../src/attention/params.ts';
import { parseVariant } from '../../src/attention/spec.ts';
import { Engine } from '../../src/engine/session.ts';
import { stageTimes } from '../../src/engine/stages.ts';

const spec = parseVariant(process.argv[2] ?? 'multi-head');
const shape = layerShape(spec, { batch: 1, seq: 16, heads: 4, headDim: 16 });
const layer = buildLayer(spec, shape, 'full');
const e = await Engine.create(layer.model, { threads: 1, graphOpt: 'all', device: 'webgpu', profile: true });
const feeds = e.feeds(layerInputs(layer, randomParams(shape, 'full', 3)));
for (let i = 0; i < 4; i++) await e.run(feeds);
const runs = (await e.endProfiling()).slice(1);
await e.release();
console.log(
  JSON.stringify({
    stageNames: layer.stages,
    stages: stageTimes(runs, layer.stages).map((s) => ({ name: s.name, kernelMs: s.kernelMs, wallMs: s.wallMs, ops: s.ops })),
    gpu: runs.map((r) => r.gpu),
    programs: runs[0]!.kernels.map((k) => ({ node: k.node, programs: k.programs })),
  }),
);
