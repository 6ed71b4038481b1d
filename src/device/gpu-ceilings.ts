/**
 * How large the ceiling probes are on a WebGPU adapter: small on a software one (a 4096³
 * MatMul would take minutes on SwiftShader), large on a GPU, the read tensor within one
 * binding of the adapter. The probes themselves are the neutral ones of
 * src/roofline/probes.ts, run by src/roofline/node-ceilings.ts on the GPU.
 */
import type { AdapterRecord } from './adapter.ts';

/** The square product's size and the read probe's MiB for `adapter` (the small ones with `quick` or without a GPU). */
export function gpuCeilingSizes(adapter: AdapterRecord | null, quick = false): { matmulSize: number; readMiB: number } {
  if (quick || !adapter || adapter.software) return { matmulSize: 256, readMiB: 16 };
  const binding = adapter.limits?.maxStorageBufferBindingSize ?? 2 ** 27;
  return { matmulSize: 4096, readMiB: Math.min(1024, Math.floor(binding / 2 ** 20)) };
}
