/**
 * Does a layer compute the right thing on a device? (The WebGPU tests' check: the runs
 * themselves verify through src/measure/layer.ts.) It runs once on fresh random inputs,
 * and its output is compared with the float64 reference, or (for shapes whose reference
 * would take too long in JS) with the CPU provider's output for the same inputs, at the
 * same shape: a reduced shape could hide a kernel that goes wrong only at larger sequences
 * (the fused kernel on WebGPU, from 32). The rule it is judged by is src/device/verify.ts's.
 */
import { float64Fits, judge, type DeviceCheck } from '../../src/device/verify.ts';
import type { GraphOpt } from '../../src/engine/runtime.ts';
import { nodeRuntime, type NodeDevice } from '../../src/engine/session.ts';
import { buildLayer, runLayer } from '../../src/attention/layer.ts';
import { randomParams, type LayerShape } from '../../src/attention/params.ts';
import { maxRelError, referenceAttention, referenceMacs } from '../../src/attention/reference.ts';
import type { Mode, VariantSpec } from '../../src/attention/spec.ts';

export interface LayerCheckOptions {
  device: NodeDevice;
  graphOpt: GraphOpt;
  /** Seed of the random inputs (use another than the timed runs'). */
  seed: number;
  /** CPU threads for the CPU-provider reference. */
  threads?: number;
  /** Force the reference; by default float64 up to FLOAT64_MAX_MACS, else the CPU provider. */
  against?: DeviceCheck['against'];
}

/** The layer's error on `o.device` and whether it is beyond VERIFY_TOLERANCE. */
export async function checkLayerOnDevice(spec: VariantSpec, shape: LayerShape, mode: Mode, o: LayerCheckOptions): Promise<DeviceCheck> {
  const layer = buildLayer(spec, shape, mode);
  const params = randomParams(shape, mode, o.seed);
  const on = (device: NodeDevice) => nodeRuntime({ threads: o.threads ?? 1, graphOpt: o.graphOpt, device });
  const got = await runLayer(on(o.device), layer, params);
  const against = o.against ?? (float64Fits(referenceMacs(shape)) ? 'float64' : 'cpu');
  const ref = against === 'float64' ? referenceAttention(params, shape, mode) : await runLayer(on('cpu'), layer, params);
  return judge(maxRelError(got, ref), against);
}
