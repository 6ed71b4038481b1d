/**
 * `--dump DIR`: the inputs, weights and output of a configuration as NumPy `.npy` files
 * (written with npyjs) plus a `manifest.json`, so anyone can recompute the output with
 * another framework and compare.
 */
import path from 'node:path';
import { dump } from 'npyjs';
import type { LayerModel } from '../attention/layer.ts';
import type { PhysicalTensors } from '../attention/layouts.ts';
import { variantLabel } from '../attention/spec.ts';
import { writeFileAtomic } from '../core/files.ts';
import type { LayerResult } from '../results/schema.ts';

export const dumpFolderName = (r: Pick<LayerResult, 'attention' | 'mode' | 'batch' | 'seq'>) =>
  `${r.attention.replace(':', '-g')}_${r.mode}_b${r.batch}_s${r.seq}`;

export function dumpLayer(root: string, layer: LayerModel, inputs: PhysicalTensors, output: Float32Array, r: LayerResult): string {
  const dir = path.join(root, dumpFolderName(r));
  const files: Record<string, { file: string; shape: number[]; dtype: 'float32' }> = {};
  const write = (name: string, data: Float32Array, shape: number[]) => {
    const file = `${name}.npy`;
    writeFileAtomic(path.join(dir, file), new Uint8Array(dump(data, shape)));
    files[name] = { file, shape, dtype: 'float32' };
  };
  for (const [name, t] of Object.entries(inputs)) write(name, t.data, t.dims);
  write('out', output, outputDims(layer));
  const manifest = {
    variant: variantLabel(layer.spec),
    mode: layer.mode,
    shape: layer.shape,
    hiddenOrder: layer.layout.hiddenOrder === 'bsm' ? '[batch, seq, nm]' : '[seq, batch, nm]',
    stages: layer.stages,
    tensors: files,
    note:
      layer.mode === 'seed'
        ? 'out = (q @ k) @ v with no scale, mask or softmax, in this variant\'s own layout (see attnbench\'s docs/method.md, "The layer variants")'
        : 'out = causal self-attention (scale 1/sqrt(headDim), softmax, heads merged, output projection), in the hidden order above',
    totalMsMedian: r.ms.median,
  };
  writeFileAtomic(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return dir;
}

/** The physical output shape of a layer (what the graph returns). */
function outputDims(layer: LayerModel): number[] {
  const { batch: B, seq: S, heads: H, headDim: D } = layer.shape;
  if (layer.mode === 'seed') return layer.layout.seedOutputDims(layer.shape);
  return layer.layout.hiddenOrder === 'bsm' ? [B, S, H * D] : [S, B, H * D];
}
