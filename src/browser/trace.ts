/**
 * Per-kernel times from onnxruntime-web's profilers, as the `ProfiledRun`s that
 * src/engine/stages.ts maps to stages (the stage is a node name's part before '/').
 * Platform-neutral: the page runs it, tests run it in Node on recorded data.
 *
 * One source per build (backends.ts `profiler`):
 * - cpu-trace (wasm): `enableProfiling` + `endProfiling()` prints the same chrome-trace as
 *   onnxruntime-node, one JSON event per console.log line; joined, it is the trace file
 *   Node's `parseTrace` reads, sizes included. Kernel times are CPU times, as in Node.
 * - gpu-trace (the native WebGPU build): the chrome-trace again, where GPU programs are
 *   `cat: "Api"` events named `<node>&<op>&<program>` on the CPU events' clock; its
 *   `cat: "Node"` events time only the CPU-side dispatch, so the GPU events are the kernels.
 * - jsep (the JavaScript WebGPU provider): `env.webgpu.profiling = { mode: 'default', ondata }`
 *   hands over one record per GPU program with start and end in ns (the GPU's clock). No
 *   session events: the page counts its runs, and every run dispatches the same programs.
 */
import { parseTrace, type KernelEvent, type ProfiledRun } from '../engine/trace.ts';

/** One record of the JavaScript WebGPU provider's profiler (`ondata`). */
export interface JsepKernelRecord {
  kernelId: number;
  kernelType: string;
  kernelName: string;
  programName: string;
  /** ns since the provider's first timestamp. */
  startTime: number;
  endTime: number;
}

/** Lines printed by `endProfiling()` → the trace's text. Lines before '[' (other logging) are dropped. */
export function traceText(lines: readonly string[]): string {
  const start = lines.findIndex((l) => l.trim() === '[');
  let end = lines.length - 1;
  while (end >= 0 && lines[end]!.trim() !== ']') end--;
  if (start < 0 || end < start) throw new Error('no chrome-trace in the profiler output');
  return lines.slice(start, end + 1).join('\n');
}

/** The wasm build: CPU kernel events, exactly as in Node. */
export const cpuRunsFromTrace = (lines: readonly string[]): ProfiledRun[] => parseTrace(traceText(lines));

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
}

/** The native WebGPU build: GPU program events (`cat: "Api"`), each in the `model_run` it falls in (or before the next one starts). */
export function gpuRunsFromTrace(lines: readonly string[]): ProfiledRun[] {
  const events = (JSON.parse(traceText(lines)) as TraceEvent[]).sort((a, b) => a.ts - b.ts);
  const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const gpu = events.filter((e) => e.cat === 'Api' && e.name.includes('&'));
  return modelRuns.map((mr, i) => {
    const next = modelRuns[i + 1]?.ts ?? Infinity;
    const kernels: KernelEvent[] = gpu
      .filter((e) => e.ts >= mr.ts && e.ts < next)
      .map((e) => {
        const [node = '?', op = '?'] = e.name.split('&');
        return { node, op, ts: e.ts, dur: e.dur };
      });
    return { kernels, executeTs: kernels[0]?.ts ?? mr.ts, executeUs: 0, modelRunUs: mr.dur };
  });
}

/**
 * The JavaScript WebGPU provider: records in arrival order → `runs` runs. Every run of a
 * session dispatches the same programs in the same order, so the records split into `runs`
 * equal parts; when they do not divide evenly (records still missing, or lost), there is no
 * split ([]). Times become µs, as in the chrome-trace.
 */
export function gpuRunsFromJsep(records: readonly JsepKernelRecord[], runs: number): ProfiledRun[] {
  if (runs < 1 || records.length === 0 || records.length % runs !== 0) return [];
  const per = records.length / runs;
  return Array.from({ length: runs }, (_, i) => {
    const kernels = records.slice(i * per, (i + 1) * per).map((r) => ({ node: r.kernelName, op: r.kernelType, ts: r.startTime / 1000, dur: (r.endTime - r.startTime) / 1000 }));
    return { kernels, executeTs: kernels[0]!.ts, executeUs: 0, modelRunUs: 0 };
  });
}
