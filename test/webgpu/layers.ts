/**
 * WebGPU child of test/webgpu.test.ts: each argument `variant/mode/batch/seq/heads/headDim`
 * is one layer checked on the WebGPU provider against the float64 reference; prints
 * [{ variant, mode, seq, error, wrong, against }] as one JSON line.
 */
import { layerShape } from '../../src/attention/layer.ts';
import { parseVariant, type Mode } from '../../src/attention/spec.ts';
import { checkLayerOnDevice } from './check-layer.ts';

const rows = [];
for (const arg of process.argv.slice(2)) {
  const [variant, mode, batch, seq, heads, headDim] = arg.split('/');
  const spec = parseVariant(variant!);
  const shape = layerShape(spec, { batch: Number(batch), seq: Number(seq), heads: Number(heads), headDim: Number(headDim) });
  const check = await checkLayerOnDevice(spec, shape, mode as Mode, { device: 'webgpu', graphOpt: 'all', seed: 11, against: 'float64' });
  rows.push({ variant, mode, seq: shape.seq, ...check });
}
console.log(JSON.stringify(rows));
