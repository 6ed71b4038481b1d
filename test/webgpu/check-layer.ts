/**
 * Does a layer compute the right thing on a device? (The WebGPU tests' check: the runs
 * themselves verify through src/measure/layer.ts.) It runs once on fresh random inputs,
 * and its output is compared with the float64 reference, or (for shapes whose reference
 * would take too long in JS) with the CPU provider's output for the same inputs, at the
 * same shape: a reduced shape could hide a kernel that goes wrong only at larger sequences
 * (the fused kernel on WebGPU, from 32).
 */
import { judge, type DeviceCheck } from '../../src/device/verify.ts';
import { Engine, type Device, type Feeds, type GraphOpt } from '../../src/engine/session.ts';
import { layerCost } from '../../src/attention/cost.ts';
import { toFeeds } from '../../src/engine/session.ts';
import { buildLayer, layerInputs, outputToLogical, type LayerModel } from '../../src/attention/layer.ts';
import { randomParams, type LayerShape } from '../../src/attention/params.ts';
import { maxRelError, referenceAttention } from '../../src/attention/reference.ts';
import type { Mode, VariantSpec } from '../../src/attention/spec.ts';

/** Largest float64 reference (multiply-adds) computed in JS; above it the CPU provider is the reference. */
export const FLOAT64_MAX_MACS = 3e8;

export interface LayerCheckOptions {
  device: Device;
  graphOpt: GraphOpt;
  /** Seed of the random inputs (use another than the timed runs'). */
  seed: number;
  /** CPU threads for the CPU-provider reference. */
  threads?: number;
  /** Force the reference; by default float64 up to FLOAT64_MAX_MACS, else the CPU provider. */
  against?: DeviceCheck['against'];
}

async function runOnce(layer: LayerModel, feeds: Feeds, device: Device, graphOpt: GraphOpt, threads: number): Promise<Float32Array> {
  const engine = await Engine.create(layer.model, { threads, graphOpt, device });
  try {
    return outputToLogical(layer, (await engine.run(feeds)).out!.data as Float32Array);
  } finally {
    await engine.release();
  }
}

/** The layer's error on `o.device` and whether it is beyond DEVICE_TOLERANCE. */
export async function checkLayerOnDevice(spec: VariantSpec, shape: LayerShape, mode: Mode, o: LayerCheckOptions): Promise<DeviceCheck> {
  const layer = buildLayer(spec, shape, mode);
  const params = randomParams(shape, mode, o.seed);
  const feeds = toFeeds(layerInputs(layer, params));
  const got = await runOnce(layer, feeds, o.device, o.graphOpt, o.threads ?? 1);
  const against = o.against ?? (layerCost(shape, 'seed').flops / 2 <= FLOAT64_MAX_MACS ? 'float64' : 'cpu');
  const ref = against === 'float64' ? referenceAttention(params, shape, mode) : await runOnce(layer, feeds, 'cpu', o.graphOpt, o.threads ?? 1);
  return judge(maxRelError(got, ref), against);
}
