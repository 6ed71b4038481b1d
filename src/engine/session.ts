/**
 * The compute engine: ONNX Runtime sessions on the CPU execution provider.
 *
 * What the binding does matters for timing (see the README's "Method"): inputs are
 * wrapped without a copy, every output is copied into a fresh JS buffer, and a session
 * on 2 cores spins its thread pool between runs unless told not to.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export type GraphOpt = 'none' | 'basic' | 'extended' | 'all';
export const GRAPH_OPTS: readonly GraphOpt[] = ['none', 'basic', 'extended', 'all'];

const ORT_OPT: Record<GraphOpt, 'disabled' | 'basic' | 'extended' | 'all'> = {
  none: 'disabled',
  basic: 'basic',
  extended: 'extended',
  all: 'all',
};

export interface EngineOptions {
  threads: number;
  graphOpt: GraphOpt;
  /** Turn the engine's profiler on; events are read back with `Engine.endProfiling`. */
  profile?: boolean;
  /** Let idle pool threads spin (fast for one session; several sessions disturb each other). */
  spinning?: boolean;
}

export type Feeds = Record<string, ort.Tensor>;

export const ortVersion = (): string => ort.env.versions.node ?? 'unknown';

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

export class Engine {
  private profileDir?: string;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly options: EngineOptions,
    profileDir?: string,
  ) {
    this.profileDir = profileDir;
  }

  static async create(model: Uint8Array, options: EngineOptions): Promise<Engine> {
    const profileDir = options.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-prof-')) : undefined;
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: ORT_OPT[options.graphOpt],
      logSeverityLevel: 3,
      enableProfiling: options.profile ?? false,
      ...(profileDir ? { profileFilePrefix: path.join(profileDir, 'run') } : {}),
      extra: { session: { intra_op: { allow_spinning: options.spinning === false ? '0' : '1' } } },
    });
    return new Engine(session, options, profileDir);
  }

  run(feeds: Feeds, fetches?: readonly string[]): Promise<ort.InferenceSession.OnnxValueMapType> {
    return fetches ? this.session.run(feeds, fetches) : this.session.run(feeds);
  }

  /** Stop profiling and parse the engine's trace into one `ProfiledRun` per `model_run`. */
  endProfiling(): ProfiledRun[] {
    if (!this.profileDir) throw new Error('engine was created without profiling');
    this.session.endProfiling();
    const files = fs.readdirSync(this.profileDir).filter((f) => f.endsWith('.json'));
    const runs = files.flatMap((f) => parseTrace(fs.readFileSync(path.join(this.profileDir!, f), 'utf8')));
    fs.rmSync(this.profileDir, { recursive: true, force: true });
    this.profileDir = undefined;
    return runs;
  }

  async release(): Promise<void> {
    if (this.profileDir) fs.rmSync(this.profileDir, { recursive: true, force: true });
    await this.session.release();
  }
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

export const f32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims as number[]);
export { ort };
