/**
 * The browser devices and the onnxruntime-web build each one loads. Platform-neutral: the
 * page picks its module from here, the server serves exactly these files and nothing else
 * from the package's folder (143 MB: four WASM builds of 14–28 MB each).
 *
 * Why three: `browser-wasm` is the CPU (the smallest build, 14 MB); `browser-webgpu` is the
 * default bundle's JavaScript WebGPU provider (JSEP), which computes attention correctly;
 * `browser-webgpu-native` is the native WebGPU provider compiled to WASM
 * (`onnxruntime-web/webgpu`), kept so that its wrong fused attention (docs/browser.md) is
 * seen, as a result marked WRONG, never trusted.
 */

import type { BrowserDevice } from '../engine/devices.ts';

/** The browser devices are named in src/engine/devices.ts, with every other device. */
export { BROWSER_DEVICES, isBrowserDevice, type BrowserDevice } from '../engine/devices.ts';

export interface OrtBuild {
  /** The onnxruntime-web ES module the page imports (it fetches its glue and binary itself). */
  module: string;
  /** The Emscripten glue it imports at run time (also the worker script of its threads). */
  glue: string;
  /** The WebAssembly binary. */
  wasm: string;
  /** The execution provider a session asks for. */
  provider: 'wasm' | 'webgpu';
  /** How the build reports per-kernel times: its chrome-trace on the console (CPU kernels, or GPU programs), or the JSEP profiler's records. */
  profiler: 'cpu-trace' | 'gpu-trace' | 'jsep';
  /** The provider in a few words, for the result's device record. */
  describe: string;
  /** The provider in two or three words, for a chart's subtitle. */
  label: string;
}

export const ORT_BUILDS: Readonly<Record<BrowserDevice, OrtBuild>> = {
  'browser-wasm': {
    module: 'ort.wasm.min.mjs',
    glue: 'ort-wasm-simd-threaded.mjs',
    wasm: 'ort-wasm-simd-threaded.wasm',
    provider: 'wasm',
    profiler: 'cpu-trace',
    describe: 'onnxruntime-web WASM (CPU, SIMD, threads)',
    label: 'WASM',
  },
  'browser-webgpu': {
    module: 'ort.min.mjs',
    glue: 'ort-wasm-simd-threaded.jsep.mjs',
    wasm: 'ort-wasm-simd-threaded.jsep.wasm',
    provider: 'webgpu',
    profiler: 'jsep',
    describe: 'onnxruntime-web WebGPU, JavaScript provider (JSEP)',
    label: 'WebGPU (JSEP)',
  },
  'browser-webgpu-native': {
    module: 'ort.webgpu.min.mjs',
    glue: 'ort-wasm-simd-threaded.asyncify.mjs',
    wasm: 'ort-wasm-simd-threaded.asyncify.wasm',
    provider: 'webgpu',
    profiler: 'gpu-trace',
    describe: 'onnxruntime-web/webgpu, the native WebGPU provider compiled to WASM (its fused attention is known wrong)',
    label: 'WebGPU (native build)',
  },
};

/** Every file of the package the server may serve: the three builds' modules, glue and binaries. */
export const ORT_FILES: ReadonlySet<string> = new Set(Object.values(ORT_BUILDS).flatMap((b) => [b.module, b.glue, b.wasm]));

/** The URL folder the server serves them under. */
export const ORT_URL_PREFIX = '/ort/';

/** The charting runtime the page draws the report's charts with (served from the vega packages' builds). */
export const CHART_FILES = { 'vega.min.js': 'vega', 'vega-lite.min.js': 'vega-lite' } as const;
export const LIB_URL_PREFIX = '/lib/';
