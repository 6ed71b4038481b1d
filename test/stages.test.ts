/** The profiler trace → stage times mapping, on a hand-made trace and on a real profiled run. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildLayer, layerInputs, layerShape } from '../src/attention/layer.ts';
import { randomParams } from '../src/attention/params.ts';
import { parseVariant } from '../src/attention/spec.ts';
import { Engine } from '../src/engine/session.ts';
import { parseTrace } from '../src/engine/trace.ts';
import { runCoverage, stageOf, stageTimes } from '../src/engine/stages.ts';

const ev = (cat: string, name: string, ts: number, dur: number, op?: string) => ({ cat, name, ts, dur, ph: 'X', args: op ? { op_name: op } : {} });

test('slots tile the executor span: gaps go to the next kernel, stages keep their order', () => {
  const trace = JSON.stringify([
    ev('Session', 'model_run', 0, 200),
    ev('Session', 'SequentialExecutor::Execute', 10, 180),
    ev('Node', 'qkv/MatMul#1_kernel_time', 12, 50, 'MatMul'),
    ev('Node', 'weights/MatMul#5/MatmulTransposeFusion/_kernel_time', 70, 30, 'FusedMatMul'),
    ev('Node', 'output/MatMul#6_kernel_time', 100, 40, 'MatMul'),
    ev('Node', 'Reshape_token_3_kernel_time', 150, 5, 'Reshape'),
  ]);
  const [run] = parseTrace(trace);
  assert.ok(run);
  assert.equal(run.kernels.length, 4);
  const st = stageTimes([run], ['qkv', 'split', 'weights', 'output']);
  assert.deepEqual(st.map((s) => s.name), ['qkv', 'split', 'weights', 'output', 'other']);
  const by = Object.fromEntries(st.map((s) => [s.name, s]));
  assert.equal(by.qkv!.wallMs, 0.052); // from the executor's start (10) to the kernel's end (62)
  assert.equal(by.qkv!.kernelMs, 0.05);
  assert.equal(by.split!.wallMs, 0); // fused away: no kernel of its own
  assert.equal(by.weights!.wallMs, 0.038); // 62 → 100
  assert.deepEqual(by.weights!.ops, ['FusedMatMul']);
  assert.equal(by.other!.wallMs, 0.015); // 140 → 155
  const cover = runCoverage(run);
  assert.equal(cover.coveredUs, 145);
  assert.equal(cover.kernelUs, 125);
  assert.equal(stageOf('proj/Gemm#3'), 'proj');
});

test('a real profiled run: every kernel maps to a stage and the stages cover the executor span', async () => {
  const spec = parseVariant('multi-head');
  const shape = layerShape(spec, { batch: 2, seq: 16, heads: 4, headDim: 8 });
  const layer = buildLayer(spec, shape, 'full');
  const engine = await Engine.create(layer.model, { threads: 1, graphOpt: 'none', profile: true });
  const feeds = engine.feeds(layerInputs(layer, randomParams(shape, 'full', 1)));
  for (let i = 0; i < 3; i++) await engine.run(feeds);
  const runs = await engine.endProfiling();
  await engine.release();
  assert.equal(runs.length, 3);
  const st = stageTimes(runs, layer.stages);
  assert.deepEqual(st.map((s) => s.name), ['qkv', 'split', 'weights', 'softmax', 'output', 'merge', 'proj'], 'no unattributed kernels without optimisation');
  for (const s of st) {
    assert.ok(s.kernelMs > 0, `${s.name} ran kernels`);
    assert.ok(s.wallMs >= s.kernelMs);
  }
  assert.deepEqual(st.find((s) => s.name === 'softmax')!.ops, ['Add', 'Reshape', 'Softmax']);
  for (const run of runs) assert.ok(runCoverage(run).coveredUs <= run.modelRunUs + 1);
});
