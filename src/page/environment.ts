/**
 * The result file's `environment` block as a page can fill it: what the browser says about
 * itself, the device record (its provider, the adapter, whether that adapter is software),
 * threads, the timer's resolution and where kernel times come from. The headless driver fills
 * in the processor and platform of the machine, which a page cannot read.
 */
import { ORT_BUILDS, type BrowserDevice } from '../browser/backends.ts';
import type { GraphOpt } from '../engine/runtime.ts';
import type { DeviceRecord, Environment } from '../results/schema.ts';
import type { Ceilings } from '../roofline/probes.ts';
import type { Ort } from './ort-runtime.ts';

/** Injected by the bundle step (src/browser/bundle.ts): the commit the page was built from. */
declare const ATTNBENCH_GIT_COMMIT: string | null;

/** The smallest positive step of performance.now(): the clock's resolution as this page gets it. */
export function timerStepMs(samples = 200_000): number {
  let min = Infinity;
  let prev = performance.now();
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    if (t > prev) min = Math.min(min, t - prev);
    prev = t;
  }
  // the clock reports multiples of its step; rounding drops the float noise (0.004999… → 0.005)
  return Number(min.toPrecision(3));
}

export type Adapter = NonNullable<DeviceRecord['adapter']> & { software: boolean; timestamps: boolean };

/** Implementations of WebGPU on the CPU: their timings say nothing about a GPU. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|warp|basic render/i;

/** The adapter a WebGPU session would get, or null (no navigator.gpu, or no adapter). */
export async function webgpuAdapter(): Promise<Adapter | null> {
  const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter() : null;
  if (!adapter) return null;
  const info = adapter.info;
  // Chromium moved isFallbackAdapter from the adapter to its info
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description || info.device,
    fallback,
    driver: null,
    software: fallback || SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.description} ${info.device}`),
    timestamps: adapter.features.has('timestamp-query'),
  };
}

export const adapterName = (a: Adapter) => [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'an unnamed adapter';

/** Where the stage split comes from on a device, or why there is none. */
export function profilerText(device: BrowserDevice, adapter: Adapter | null): string {
  const p = ORT_BUILDS[device].profiler;
  if (p === 'cpu-trace') return "CPU kernel times from onnxruntime-web's profiler (its chrome-trace, read from the console), mapped to stages as in Node";
  if (!adapter?.timestamps) return 'none: the adapter has no timestamp-query, so the build reports no GPU kernel times';
  if (p === 'jsep') return "GPU program times from timestamp queries (the JavaScript provider's profiler, ondata), per node; it reports no bytes, so no implementation floor";
  return "GPU program times from the native provider's chrome-trace ('Api' events), per node; it reports no bytes, so no implementation floor";
}

export interface PageEnvironmentInput {
  ort: Ort;
  device: BrowserDevice;
  threads: number;
  graphOpt: GraphOpt;
  adapter: Adapter | null;
  timerStepMs: number;
  headless: boolean;
  ceilings: Ceilings | null;
}

const browserName = () => /(HeadlessChrome|Chrome|Firefox|Safari)\/[\d.]+/.exec(navigator.userAgent)?.[0] ?? 'a browser';

function pageDevice(o: PageEnvironmentInput): DeviceRecord {
  const build = ORT_BUILDS[o.device];
  const a = o.adapter;
  // short: charts show it under their titles (deviceLine in src/report/chart-style.ts says SOFTWARE where it is)
  const where = build.provider === 'wasm' ? `${o.threads} thread(s)` : `on ${a ? adapterName(a) : 'no adapter'}`;
  const description = `onnxruntime-web ${build.label} ${where}, ${browserName()}`;
  return {
    kind: o.device,
    provider: o.device === 'browser-webgpu-native' ? 'webgpu (native, compiled to WASM)' : build.provider === 'webgpu' ? 'webgpu (JSEP)' : 'wasm',
    description,
    software: a?.software ?? false,
    adapter: a ? { vendor: a.vendor, architecture: a.architecture, description: a.description, fallback: a.fallback, driver: a.driver } : null,
    browser: {
      userAgent: navigator.userAgent,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      build: build.module,
      timerStepMs: o.timerStepMs,
      headless: o.headless,
    },
    profiler: profilerText(o.device, a),
  };
}

export function pageEnvironment(o: PageEnvironmentInput): Environment {
  return {
    cpu: 'unknown (a browser does not name it)',
    ...(navigator.hardwareConcurrency ? { cores: navigator.hardwareConcurrency } : {}),
    threads: o.threads,
    platform: navigator.platform || 'unknown',
    node: 'none (a browser page)',
    onnxruntime: `web ${o.ort.env.versions.web ?? 'unknown'}`,
    graphOpt: o.graphOpt,
    malloc: {},
    gitCommit: ATTNBENCH_GIT_COMMIT,
    date: new Date().toISOString(),
    device: pageDevice(o),
    ceilings: o.ceilings,
  };
}
