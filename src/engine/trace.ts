/**
 * The engine's profiler trace (ONNX Runtime's chrome-trace JSON) as runs of kernels: each
 * `model_run` event closes the kernel events that ran inside it, with the sequential
 * executor's span around them (where a run's first stage slot begins).
 *
 * On the WebGPU provider the `Node` events only time the dispatch (tens of µs each); the
 * GPU's own times are separate events, one per GPU program: `cat: "Api"`, `pid: -1`,
 * `name: "<node>&<op>&<program>"`, `ts`/`dur` in µs on the same clock (the provider
 * converts its timestamp queries). `parseGpuTrace` turns them into the same runs of
 * kernels, one kernel per node with its programs summed, so the stage split works
 * unchanged; buffer copies (uploads, downloads, the copy a ScatterND makes of its input)
 * are no programs and appear in no event.
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
   * the trace does not say (GPU events do not).
   */
  activationBytes?: number;
  parameterBytes?: number;
  outputBytes?: number;
  /** GPU runs: the node's programs as `op:program` (one node can run several: a Softmax's max and normalise passes). */
  programs?: string[];
}

/** What a GPU run has beside its kernels. */
export interface GpuRunTimes {
  /** Σ GPU program durations (µs): the device time of the run. */
  programUs: number;
  /** First program start → last program end (µs); span − programUs is the GPU idle between programs. */
  spanUs: number;
  /** Programs dispatched. */
  programs: number;
  /** Kernel time of nodes the provider left on the CPU (shape arithmetic, int64 ops), µs. */
  cpuNodeUs: number;
}

/** The kernels of one profiled run, plus the executor's own span around them. */
export interface ProfiledRun {
  kernels: KernelEvent[];
  /** The sequential executor's span (µs); its start is where the first node's slot begins. */
  executeTs: number;
  executeUs: number;
  modelRunUs: number;
  /** Only for runs on the WebGPU provider (`parseGpuTrace`): there, kernels are GPU programs and the executor's span is the GPU's. */
  gpu?: GpuRunTimes;
}

interface TraceEvent {
  cat: string;
  pid?: number;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string; provider?: string; activation_size?: string; parameter_size?: string; output_size?: string };
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


/** Split `<node>&<op>&<program>`; a node name may itself hold '&', so the last two fields are op and program. */
export function splitGpuName(name: string): { node: string; op: string; program: string } {
  const parts = name.split('&');
  if (parts.length < 3) return { node: name, op: '?', program: '?' };
  const program = parts.pop()!;
  const op = parts.pop()!;
  return { node: parts.join('&'), op, program };
}

/**
 * The runs of a WebGPU session's trace. A GPU event belongs to the last `model_run` that
 * started before it: with outputs kept on the GPU, a run can return before its programs
 * end. Per run: one kernel per node (first program's start, Σ program durations, the
 * programs' names), the GPU span as the executor's span (so stage slots tile the GPU's
 * time line: a slot's wall − kernel is the GPU idle before it), and `gpu` with the totals.
 */
export function parseGpuTrace(text: string): ProfiledRun[] {
  const events = (JSON.parse(text) as TraceEvent[]).sort((a, b) => a.ts - b.ts);
  const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const owner = (ts: number) => {
    let i = -1;
    for (let j = 0; j < modelRuns.length && modelRuns[j]!.ts <= ts; j++) i = j;
    return i;
  };
  const programs = modelRuns.map(() => [] as TraceEvent[]);
  for (const e of events) if (e.cat === 'Api' && e.pid === -1 && owner(e.ts) >= 0) programs[owner(e.ts)]!.push(e);
  return modelRuns.map((mr, i) => {
    const byNode = new Map<string, KernelEvent>();
    for (const e of programs[i]!) {
      const { node, op, program } = splitGpuName(e.name);
      const k = byNode.get(node);
      if (k) {
        k.dur += e.dur;
        k.programs!.push(`${op}:${program}`);
      } else byNode.set(node, { node, op, ts: e.ts, dur: e.dur, programs: [`${op}:${program}`] });
    }
    const ps = programs[i]!;
    const start = ps.length ? ps[0]!.ts : mr.ts;
    const end = ps.reduce((m, e) => Math.max(m, e.ts + e.dur), start);
    const inRun = (e: TraceEvent) => e.ts >= mr.ts && e.ts + e.dur <= mr.ts + mr.dur;
    const cpuNodeUs = events.filter((e) => e.cat === 'Node' && e.args?.provider === 'CPUExecutionProvider' && inRun(e)).reduce((a, e) => a + e.dur, 0);
    return {
      kernels: [...byNode.values()],
      executeTs: start,
      executeUs: end - start,
      modelRunUs: mr.dur,
      gpu: { programUs: ps.reduce((a, e) => a + e.dur, 0), spanUs: end - start, programs: ps.length, cpuNodeUs },
    };
  });
}
