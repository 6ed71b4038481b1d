/** GPU events of the WebGPU provider's trace → the CPU's run and kernel shape, and the stage split on it (hand-made trace). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGpuTrace, splitGpuName } from '../src/engine/trace.ts';
import { stageTimes } from '../src/engine/stages.ts';

const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);
const session = (name: string, ts: number, dur: number) => ({ cat: 'Session', pid: 7, tid: 7, name, ts, dur, ph: 'X', args: {} });
const node = (name: string, ts: number, dur: number, provider = 'WebGpuExecutionProvider') => ({ cat: 'Node', pid: 7, tid: 7, name: `${name}_kernel_time`, ts, dur, ph: 'X', args: { op_name: 'X', provider } });
const gpu = (name: string, ts: number, dur: number) => ({ cat: 'Api', pid: -1, tid: -1, name, ts, dur, ph: 'X', args: { shapes: 'inputs[0] = {4,4} ', cache_key: 'k' } });

// two runs; a Softmax runs two programs; the second run's last program ends after its model_run (outputs left on the GPU)
const TRACE = JSON.stringify([
  session('model_run', 0, 1000),
  node('qkv/MatMul#1', 10, 40),
  node('shape/Shape#2', 60, 5, 'CPUExecutionProvider'),
  gpu('qkv/MatMul#1&MatMul&MatMul', 100, 300),
  gpu('softmax/Softmax#4&Softmax&SoftmaxMax', 420, 50),
  gpu('softmax/Softmax#4&Softmax&SoftmaxNormalize', 480, 70),
  gpu('Reshape_token_2&Reshape&Reshape', 560, 10),
  session('model_run', 2000, 500),
  gpu('qkv/MatMul#1&MatMul&MatMul', 2100, 280),
  gpu('softmax/Softmax#4&Softmax&SoftmaxMax', 2400, 60),
  gpu('softmax/Softmax#4&Softmax&SoftmaxNormalize', 2470, 90),
  gpu('a&b/Add#9&Add&Add', 2600, 20),
]);

test('GPU events are split into runs by model_run (the late ones included), one kernel per node with its programs summed', () => {
  const runs = parseGpuTrace(TRACE);
  assert.equal(runs.length, 2);
  assert.deepEqual(runs.map((r) => r.kernels.map((k) => k.node)), [
    ['qkv/MatMul#1', 'softmax/Softmax#4', 'Reshape_token_2'],
    ['qkv/MatMul#1', 'softmax/Softmax#4', 'a&b/Add#9'],
  ]);
  const soft = runs[0]!.kernels[1]!;
  assert.deepEqual(soft, { node: 'softmax/Softmax#4', op: 'Softmax', ts: 420, dur: 120, programs: ['Softmax:SoftmaxMax', 'Softmax:SoftmaxNormalize'] });
  assert.deepEqual(runs[0]!.gpu, { programUs: 430, spanUs: 470, programs: 4, cpuNodeUs: 5 });
  assert.equal(runs[0]!.executeTs, 100, 'the GPU span is the executor span: stage slots tile the GPU time line');
  assert.equal(runs[0]!.modelRunUs, 1000);
  assert.deepEqual(runs[1]!.gpu, { programUs: 450, spanUs: 520, programs: 4, cpuNodeUs: 0 });
});

test('names split into node, op and program; a node name with & keeps it', () => {
  assert.deepEqual(splitGpuName('qkv/MatMul#0/MatMulAddFusion&Gemm&Gemm'), { node: 'qkv/MatMul#0/MatMulAddFusion', op: 'Gemm', program: 'Gemm' });
  assert.deepEqual(splitGpuName('a&b/Add#9&Add&Add'), { node: 'a&b/Add#9', op: 'Add', program: 'Add' });
  assert.equal(splitGpuName('plain').op, '?');
});

test('the CPU\'s stage split works unchanged on GPU runs: kernel = Σ program time, wall − kernel = GPU idle before', () => {
  const st = stageTimes(parseGpuTrace(TRACE), ['qkv', 'split', 'softmax']);
  assert.deepEqual(st.map((s) => s.name), ['qkv', 'split', 'softmax', 'other', 'a&b']);
  const by = Object.fromEntries(st.map((s) => [s.name, s]));
  near(by.qkv!.kernelMs, 0.29); // median of 300 and 280 µs
  near(by.qkv!.wallMs, 0.29); // each run's first program starts its span
  near(by.split!.kernelMs, 0);
  near(by.softmax!.kernelMs, 0.135); // (120 + 150) / 2
  // run 1: 400 → 420 idle, then 120 of programs; run 2: 380 → 400, then 150
  near(by.softmax!.wallMs, (140 + 170) / 2 / 1000);
  assert.deepEqual(by.softmax!.ops, ['Softmax']);
});
