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
  /**
   * Bytes the kernel read and wrote, as the profiler reports them: its non-constant inputs
   * (`activation_size`), its constant inputs the engine did not pre-pack (`parameter_size`;
   * a pre-packed weight is no input any more) and its outputs (`output_size`). Absent when
   * the trace does not say.
   */
  activationBytes?: number;
  parameterBytes?: number;
  outputBytes?: number;
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
  args?: { op_name?: string; activation_size?: string; parameter_size?: string; output_size?: string };
}

const size = (v: string | undefined): number | undefined => (v === undefined || !Number.isFinite(Number(v)) ? undefined : Number(v));

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
      .map((e) => {
        const k: KernelEvent = { node: e.name.slice(0, -'_kernel_time'.length), op: e.args?.op_name ?? '?', ts: e.ts, dur: e.dur };
        const [a, p, o] = [size(e.args?.activation_size), size(e.args?.parameter_size), size(e.args?.output_size)];
        if (a !== undefined) k.activationBytes = a;
        if (p !== undefined) k.parameterBytes = p;
        if (o !== undefined) k.outputBytes = o;
        return k;
      });
    const exec = executes.find(inRun);
    runs.push({ kernels, executeTs: exec?.ts ?? kernels[0]?.ts ?? mr.ts, executeUs: exec?.dur ?? 0, modelRunUs: mr.dur });
  }
  return runs;
}

