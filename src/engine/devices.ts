/**
 * Where a run can compute, named once: onnxruntime-node's CPU or WebGPU provider, or
 * onnxruntime-web in a browser — WASM on the CPU, the JavaScript WebGPU provider (JSEP), or
 * the native WebGPU provider compiled to WASM (whose fused attention kernels are known
 * wrong: kept so that it can be seen). The configurations' `--device` choices, the result
 * schema's device kinds, the page's menu and the browser builds (src/browser/backends.ts)
 * are all these lists, so a device added here is a device everywhere. Platform-neutral.
 */

/** The providers of onnxruntime-node that a session in this process can run on. */
export const NODE_DEVICES = ['cpu', 'webgpu'] as const;
export type NodeDevice = (typeof NODE_DEVICES)[number];

/** The onnxruntime-web builds a browser page loads, one per device. */
export const BROWSER_DEVICES = ['browser-wasm', 'browser-webgpu', 'browser-webgpu-native'] as const;
export type BrowserDevice = (typeof BROWSER_DEVICES)[number];

export const isBrowserDevice = (d: string): d is BrowserDevice => (BROWSER_DEVICES as readonly string[]).includes(d);

/** Every device a layer sweep or a decode comparison can run on. */
export const DEVICES = [...NODE_DEVICES, ...BROWSER_DEVICES] as const;
export type DeviceName = (typeof DEVICES)[number];
