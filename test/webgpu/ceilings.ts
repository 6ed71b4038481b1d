/** WebGPU child of test/webgpu.test.ts: the GPU ceilings at tiny sizes; prints { matmul, read } (samples) as one JSON line. */
import { gpuMatmulGflops, gpuReadGBps } from './gpu-ceilings.ts';
import { currentWebGpu } from '../../src/device/choice.ts';

console.log(JSON.stringify({ matmul: await gpuMatmulGflops(64, 3), read: await gpuReadGBps(1, 3), choice: currentWebGpu() }));
