/**
 * onnxruntime-web as the measurement protocol's runtime (src/engine/runtime.ts), so the page
 * runs the very protocol Node runs. The chosen build is imported at run time from the
 * server's /ort/ folder (not bundled): a page loads one of the three (14–28 MB), and
 * switching device is a new page load.
 *
 * The clock is performance.now() (5 µs steps when the page is cross-origin isolated, 100 µs
 * when not). Sessions run on the page's own thread (`proxy: false`), so the clock brackets the
 * call itself; outputs come back as host arrays, downloaded from the GPU inside `run`.
 */
import type * as OrtTypes from 'onnxruntime-web';
import { ORT_BUILDS, ORT_URL_PREFIX, type BrowserDevice, type OrtBuild } from '../browser/backends.ts';
import { cpuRunsFromTrace, gpuRunsFromJsep, gpuRunsFromTrace, type JsepKernelRecord } from '../browser/trace.ts';
import type { GraphOpt, HostOutputs, HostTensors, Runtime, RuntimeFeeds, RuntimeSession } from '../engine/runtime.ts';
import type { ProfiledRun } from '../engine/trace.ts';

export type Ort = typeof OrtTypes;

/** Load the build of `device` with `threads` WASM threads (more than 1 needs a cross-origin isolated page). */
export async function loadOrt(device: BrowserDevice, threads: number): Promise<Ort> {
  installConsoleCapture();
  const url = `${ORT_URL_PREFIX}${ORT_BUILDS[device].module}`;
  const ort = (await import(/* served from node_modules, not bundled */ url)) as Ort;
  ort.env.wasm.wasmPaths = ORT_URL_PREFIX;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  return ort;
}

const OPT: Record<GraphOpt, 'disabled' | 'basic' | 'extended' | 'all'> = { none: 'disabled', basic: 'basic', extended: 'extended', all: 'all' };

interface WebFeeds extends RuntimeFeeds {
  feeds: Record<string, OrtTypes.Tensor>;
}

export interface WebRuntimeOptions {
  device: BrowserDevice;
  graphOpt: GraphOpt;
  /** Words for the runtime's name (threads, adapter). */
  name: string;
  /** Run on the build's WASM (CPU) provider instead of the device's: the reference a GPU is checked against at large shapes. */
  cpu?: boolean;
}

/** The build's sessions as a Runtime: on its provider, or on its WASM CPU provider (`cpu`). */
export function webRuntime(ort: Ort, o: WebRuntimeOptions): Runtime {
  const build = ORT_BUILDS[o.device];
  const provider = o.cpu ? 'wasm' : build.provider;
  const profiler: OrtBuild['profiler'] = o.cpu ? 'cpu-trace' : build.profiler;
  return {
    name: o.name,
    now: () => performance.now(),
    pause: breathe,
    async createSession(model, request = {}): Promise<RuntimeSession> {
      const profile = request.profile ?? false;
      const records: JsepKernelRecord[] = [];
      if (profile && profiler === 'jsep') ort.env.webgpu.profiling = { mode: 'default', ondata: (d) => void records.push(d as JsepKernelRecord) };
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: OPT[o.graphOpt],
        enableProfiling: profile && profiler !== 'jsep',
        ...(request.sideBySide && provider === 'wasm' ? { enableCpuMemArena: false } : {}),
        logSeverityLevel: 3,
      });
      let runs = 0;
      const profilingOff = () => {
        if (profile && profiler === 'jsep') ort.env.webgpu.profiling = { mode: 'off' };
      };
      return {
        feeds: (inputs: HostTensors): WebFeeds => ({ runtimeFeeds: true, feeds: Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor(t.data, t.dims as number[])])) }),
        async run(feeds): Promise<HostOutputs> {
          runs++;
          const out = await session.run((feeds as WebFeeds).feeds);
          return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
        },
        async endProfiling(): Promise<ProfiledRun[]> {
          if (profiler === 'jsep') {
            await settle(() => records.length, runs);
            profilingOff();
            return gpuRunsFromJsep(records, runs);
          }
          const { lines } = await captureConsole(async () => session.endProfiling());
          return profiler === 'gpu-trace' ? gpuRunsFromTrace(lines) : cpuRunsFromTrace(lines);
        },
        async release() {
          profilingOff();
          await session.release();
        },
      };
    },
  };
}

/** Every 200 ms of work, one animation frame for the page: it paints its progress and hears its buttons (clicks need frames). */
let lastBreath = 0;
async function breathe(): Promise<void> {
  if (performance.now() - lastBreath < 200) return;
  await new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  lastBreath = performance.now();
}

/**
 * Wait until the GPU's records stop coming and divide evenly among the runs (they arrive
 * after a run, when the timestamp query's buffer maps), for at most a few seconds.
 */
async function settle(count: () => number, runs: number): Promise<void> {
  let last = -1;
  for (let i = 0; i < 250; i++) {
    const n = count();
    if (n === last && n > 0 && n % runs === 0) return;
    last = n;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Console capture for the profilers: the wasm and native WebGPU builds print their trace with
 * console.log on `endProfiling()`, one event per line. Emscripten binds console.log when the
 * build loads, so the wrapper must be in place before `loadOrt` imports it, and stays; it
 * passes everything through except while a capture is active.
 */
let capturing: string[] | undefined;
let installed = false;

function installConsoleCapture(): void {
  if (installed) return;
  installed = true;
  const original = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    if (capturing) capturing.push(args.map(String).join(' '));
    else original(...args);
  };
}

async function captureConsole<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  capturing = lines;
  try {
    return { value: await fn(), lines };
  } finally {
    capturing = undefined;
  }
}
