/**
 * The engine's profiler trace (ONNX Runtime's chrome-trace JSON) as runs of kernels: each
 * `model_run` event closes the kernel events that ran inside it, with the sequential
 * executor's span around them (where a run's first stage slot begins).
 */

/** One profiler event of a node's kernel (ONNX Runtime's chrome-trace JSON, `cat: "Node"`). */
export interface KernelEvent {
  node: string;
  op: string;
  /** Start and duration in µs from the profiler's origin. */
  ts: number;
  dur: number;
}

/** The kernels of one profiled run, plus the executor's own span around them. */
export interface ProfiledRun {
  kernels: KernelEvent[];
  /** The sequential executor's span (µs); its start is where the first node's slot begins. */
  executeTs: number;
  executeUs: number;
  modelRunUs: number;
}

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

/** Split the trace into runs: each `model_run` event closes the kernels that started before it ended. */
export function parseTrace(text: string): ProfiledRun[] {
  const events = (JSON.parse(text) as TraceEvent[]).sort((a, b) => a.ts - b.ts);
  const runs: ProfiledRun[] = [];
  const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const executes = events.filter((e) => e.cat === 'Session' && e.name === 'SequentialExecutor::Execute');
  for (const mr of modelRuns) {
    const inRun = (e: TraceEvent) => e.ts >= mr.ts && e.ts + e.dur <= mr.ts + mr.dur;
    const kernels = events
      .filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && inRun(e))
      .map((e) => ({ node: e.name.slice(0, -'_kernel_time'.length), op: e.args?.op_name ?? '?', ts: e.ts, dur: e.dur }));
    const exec = executes.find(inRun);
    runs.push({ kernels, executeTs: exec?.ts ?? kernels[0]?.ts ?? mr.ts, executeUs: exec?.dur ?? 0, modelRunUs: mr.dur });
  }
  return runs;
}

