/**
 * Which device runs which precision, decided once and before any work: a pair a device cannot
 * run is refused in one line that says why and what would run it. An engine would otherwise
 * run an unsupported node on its CPU provider behind the device's back, and the result would
 * time a mixture.
 */
import { UsageError } from '../core/errors.ts';
import { isInt, type Dtype } from './dtypes.ts';

export interface PrecisionRequest {
  device: string;
  weightDtype: readonly Dtype[];
  /** Absent where there is no cache (a layer sweep). */
  kvDtype?: readonly Dtype[];
  weights: 'constant' | 'input';
}

const FLOAT16_CPU =
  "the CPU provider has no float16 products: it runs them through casts to float32, no faster (../shared/notes/precision.md); WebGPU on an adapter with the 'shader-f16' feature has them";

function noDuplicates(flag: string, dtypes: readonly Dtype[]): void {
  if (dtypes.length === 0) throw new UsageError(`${flag}: no dtype given`);
  const dup = dtypes.find((d, i) => dtypes.indexOf(d) !== i);
  if (dup) throw new UsageError(`${flag}: ${dup} is given twice`);
}

/** Refuse what `r.device` cannot run (UsageError, one line); `shaderF16`: the WebGPU adapter has float16 shaders. */
export function checkPrecision(r: PrecisionRequest, shaderF16 = false): void {
  const axes: [string, readonly Dtype[]][] = [['--weight-dtype', r.weightDtype], ...(r.kvDtype ? [['--kv-dtype', r.kvDtype] as [string, readonly Dtype[]]] : [])];
  for (const [flag, dtypes] of axes) {
    noDuplicates(flag, dtypes);
    if (!dtypes.includes('float16')) continue;
    if (r.device !== 'webgpu') throw new UsageError(`${flag} float16 on ${r.device}: ${FLOAT16_CPU}`);
    if (!shaderF16) throw new UsageError(`${flag} float16 on webgpu: this adapter lacks the 'shader-f16' feature (SwiftShader and lavapipe have none); a GPU whose driver offers it would run float16`);
    throw new UsageError(`${flag} float16 on webgpu: attnbench builds no float16 graphs yet (the adapter has 'shader-f16'); int8 and int4 run`);
  }
  const quantized = r.weightDtype.some(isInt);
  if (quantized && r.weights === 'input') {
    throw new UsageError('--weight-dtype int8/int4 needs --weights constant: a quantized weight is a constant the engine pre-packs (fed as an input it would be quantized again every run)');
  }
  if (r.device === 'webgpu' && r.weightDtype.includes('int8')) {
    throw new UsageError("--weight-dtype int8 on webgpu: the int8 route (DynamicQuantizeMatMul) has no WebGPU kernel, so the engine would run it on the CPU; int4 (MatMulNBits) runs on the GPU");
  }
  if (r.device === 'webgpu' && r.kvDtype?.some(isInt)) {
    throw new UsageError('--kv-dtype int8/int4 on webgpu: the GPU-resident cache is float32 only so far; run the quantized cache on --device cpu');
  }
  if (r.device.startsWith('browser-') && (quantized || r.kvDtype?.some(isInt))) {
    throw new UsageError(`--weight-dtype/--kv-dtype int8/int4 on ${r.device}: the page runs float32 only so far; run quantized weights and caches on --device cpu (or int4 weights on webgpu)`);
  }
}
