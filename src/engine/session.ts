/**
 * onnxruntime-node's sessions, on the CPU execution provider or on the WebGPU provider
 * (`device: 'webgpu'`): `Engine` is this engine's implementation of the one session interface
 * (`RuntimeSession`, src/engine/runtime.ts, which the page's onnxruntime-web implements too),
 * and `nodeRuntime` creates them for the measurement protocol. What only Node's engine does
 * is an extension of the same session, not a second abstraction: `runTensors` takes and
 * returns the engine's own tensors, GPU-resident ones included, which the decoder and its
 * device cache pass from one run to the next.
 *
 * What the binding does matters for timing (see the README's "Method"): inputs are
 * wrapped without a copy, every output is copied into a fresh JS buffer, and a session
 * on 2 cores spins its thread pool between runs unless told not to.
 *
 * On WebGPU (docs/webgpu.md): every CPU input is uploaded at every run and every output
 * left at its default location ('cpu') is downloaded inside `run`, which therefore waits
 * for the GPU; `preferredOutputLocation: 'gpu-buffer'` keeps an output on the GPU, where it
 * can be fed to the next run (of this session or another: they share the provider's one
 * device) and read only through `Downloader` (`download.ts`). The first run compiles every
 * program's pipeline (seconds on a software adapter): always warm up.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../core/errors.ts';
import { engineTmpdir, tempSubdir, truncatedByFullTemp } from '../core/temp.ts';
import { hrtimeMs } from '../timing/measure.ts';
import type { NodeDevice } from './devices.ts';
import { GraphBuilder } from './graph.ts';
import { GRAPH_OPTS, type GraphOpt, type HostOutputs, type HostTensor, type HostTensors, type Runtime, type RuntimeFeeds, type RuntimeSession, type SessionRequest } from './runtime.ts';
import { parseGpuTrace, parseTrace, type ProfiledRun } from './trace.ts';

/** Where a session computes: ONNX Runtime's CPU provider or its WebGPU provider (the list is devices.ts's). */
export type { NodeDevice } from './devices.ts';

/** Where an output is left: copied to JS ('cpu', the default) or kept on the GPU ('gpu-buffer'). */
export type OutputLocation = 'cpu' | 'gpu-buffer';

export { GRAPH_OPTS, type GraphOpt };

const ORT_OPT: Record<GraphOpt, 'disabled' | 'basic' | 'extended' | 'all'> = {
  none: 'disabled',
  basic: 'basic',
  extended: 'extended',
  all: 'all',
};

export interface EngineOptions {
  /** CPU threads of the session's pool (ignored on WebGPU, whose CPU side only dispatches). */
  threads: number;
  graphOpt: GraphOpt;
  /** Turn the engine's profiler on; its runs are read back with `Engine.endProfiling`. */
  profile?: boolean;
  /** Let idle pool threads spin (fast for one session; several sessions disturb each other). */
  spinning?: boolean;
  /**
   * The engine's own memory arena (default on). Sessions that live side by side (variants
   * measured in alternation) turn it off: each arena keeps its peak for good, while glibc,
   * told by the launcher never to return memory, hands one freed block to the next session.
   */
  arena?: boolean;
  /**
   * The engine's memory pattern (default on): it plans one block per input shape and keeps
   * it. A graph with free dimensions (the decoder: any prompt length, a cache that grows)
   * meets many shapes, and each new one costs a new block: measured, a second 1000-token
   * prefill at batch 8 grew the process from 3.9 to 5.5 GiB with it, 3.4 to 3.7 without.
   */
  memPattern?: boolean;
  /** Write the optimised graph here (to check what the optimiser did, e.g. where weights sit). */
  optimizedModelPath?: string;
  /** The provider (default 'cpu'). A WebGPU session needs a process started with a working Vulkan setup (src/device/choice.ts). */
  device?: NodeDevice;
  /** WebGPU: where outputs are left, for all or by name (default 'cpu'). */
  preferredOutputLocation?: OutputLocation | Record<string, OutputLocation>;
}

export type Feeds = Record<string, ort.Tensor>;

export const ortVersion = (): string => ort.env.versions.node ?? 'unknown';

interface NodeFeeds extends RuntimeFeeds {
  feeds: Feeds;
}

export class Engine implements RuntimeSession {
  private profileDir?: string;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly options: EngineOptions,
    profileDir?: string,
  ) {
    this.profileDir = profileDir;
  }

  /** A session for `model`: serialised bytes, or the path of a model file (with its external data beside it). */
  static async create(model: Uint8Array | string, options: EngineOptions): Promise<Engine> {
    // the engine writes its trace there: the run's temporary folder, checked for room first
    const profileDir = options.profile ? tempSubdir('prof-') : undefined;
    const common: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: ORT_OPT[options.graphOpt],
      logSeverityLevel: 3,
      enableProfiling: options.profile ?? false,
      ...(profileDir ? { profileFilePrefix: path.join(profileDir, 'run') } : {}),
      ...(options.memPattern === false ? { enableMemPattern: false } : {}),
      ...(options.optimizedModelPath ? { optimizedModelFilePath: options.optimizedModelPath } : {}),
    };
    const sessionOptions: ort.InferenceSession.SessionOptions =
      options.device === 'webgpu'
        ? { ...common, executionProviders: ['webgpu'], ...(options.preferredOutputLocation ? { preferredOutputLocation: options.preferredOutputLocation } : {}) }
        : {
            ...common,
            executionProviders: ['cpu'],
            intraOpNumThreads: options.threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            extra: { session: { intra_op: { allow_spinning: options.spinning === false ? '0' : '1' } } },
            ...(options.arena === false ? { enableCpuMemArena: false } : {}),
          };
    try {
      // the first session creates the engine's environment, whose telemetry writes into TMPDIR: the run's folder, removed with it
      const session = await engineTmpdir(() => (typeof model === 'string' ? ort.InferenceSession.create(model, sessionOptions) : ort.InferenceSession.create(model, sessionOptions)));
      return new Engine(session, options, profileDir);
    } catch (e) {
      if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
      throw noAdapter(e);
    }
  }

  /** The provider this session runs on. */
  get provider(): NodeDevice {
    return this.options.device ?? 'cpu';
  }

  /** One run on the engine's own tensors: outputs left where the session's `preferredOutputLocation` puts them (on the GPU too). */
  runTensors(feeds: Feeds, fetches?: readonly string[]): Promise<ort.InferenceSession.OnnxValueMapType> {
    return fetches ? this.session.run(feeds, fetches) : this.session.run(feeds);
  }

  /** Host arrays as this session's inputs, wrapped without a copy. */
  feeds(inputs: HostTensors): NodeFeeds {
    return { runtimeFeeds: true, feeds: toFeeds(inputs) };
  }

  /** One run, every output read back into JS (the session's outputs must be on the CPU, the default). */
  async run(feeds: RuntimeFeeds): Promise<HostOutputs> {
    const out = await this.runTensors((feeds as NodeFeeds).feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  }

  /** Stop profiling and parse the engine's trace into one `ProfiledRun` per `model_run`. */
  async endProfiling(): Promise<ProfiledRun[]> {
    if (!this.profileDir) throw new Error('engine was created without profiling');
    this.session.endProfiling();
    const files = fs.readdirSync(this.profileDir).filter((f) => f.endsWith('.json'));
    const parse = this.provider === 'webgpu' ? parseGpuTrace : parseTrace;
    const runs = files.flatMap((f) => parseTraceFile(path.join(this.profileDir!, f), parse));
    fs.rmSync(this.profileDir, { recursive: true, force: true });
    this.profileDir = undefined;
    return runs;
  }

  async release(): Promise<void> {
    if (this.profileDir) fs.rmSync(this.profileDir, { recursive: true, force: true });
    await this.session.release();
  }
}

/**
 * One of the engine's trace files, parsed. A trace cut short (the engine writes it and says
 * nothing when the disk is full) is the full temporary folder's refusal, in one line; with
 * room left, an error naming the file.
 */
function parseTraceFile(file: string, parse: (text: string) => ProfiledRun[]): ProfiledRun[] {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw truncatedByFullTemp(file) ?? new Error(`the engine's profile trace ${file} is not whole JSON (${text.length} bytes): ${e.message}`);
  }
}

/**
 * The engine's error when this process has no WebGPU adapter is the same for every cause;
 * the cause is only in Dawn's warnings on stderr, and the process cannot try again (a
 * failed first session poisons it). So say how to start one that works.
 */
function noAdapter(e: unknown): unknown {
  const msg = (e as Error)?.message ?? '';
  if (!/Failed to get a WebGPU adapter|No supported adapters/i.test(msg)) return e;
  return new UsageError(
    `--device webgpu: this process has no WebGPU adapter (${msg.trim().split('\n')[0]}); run it through the attnbench launcher, which probes the Vulkan drivers first and names what is missing, or start it with the variables launchWebGpu() (src/device/choice.ts) returns`,
  );
}

/**
 * Refuse `--device webgpu` before any work (no file, no journal) when this process gets no
 * adapter: one tiny WebGPU session, created and released. Its failure is the UsageError of
 * `noAdapter`, which says how to start a process that has one.
 */
export async function checkWebGpu(): Promise<void> {
  const g = new GraphBuilder('webgpu-check');
  g.output(g.node('Relu', [g.input('x', [1])]), 'y');
  const e = await Engine.create(g.toBytes(), { threads: 1, graphOpt: 'all', device: 'webgpu' });
  await e.release();
}

export const f32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims as number[]);

/** A host array as the engine's tensor, wrapped without a copy (float32, int64 or int32 by the array's type). */
export function toTensor(t: HostTensor): ort.Tensor {
  const dims = t.dims as number[];
  if (t.data instanceof Float32Array) return new ort.Tensor('float32', t.data, dims);
  if (t.data instanceof BigInt64Array) return new ort.Tensor('int64', t.data, dims);
  if (t.data instanceof Int8Array) return new ort.Tensor('int8', t.data, dims);
  if (t.data instanceof Uint8Array) return new ort.Tensor('uint8', t.data, dims);
  return new ort.Tensor('int32', t.data, dims);
}

/** Host arrays as the engine's feeds. */
export const toFeeds = (t: HostTensors): Feeds => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, toTensor(v)]));

/** Settings of every session a `nodeRuntime` creates (the provider: 'cpu' by default). */
export type NodeRuntimeOptions = Pick<EngineOptions, 'threads' | 'graphOpt' | 'device'>;

/** A protocol's request as the engine's options: sessions side by side go without the arena and the spinning pool. */
const requested = (r: SessionRequest): Pick<EngineOptions, 'profile' | 'arena' | 'spinning'> => ({ profile: r.profile ?? false, ...(r.sideBySide ? { arena: false, spinning: false } : {}) });

/**
 * onnxruntime-node as the measurement protocol's runtime (src/engine/runtime.ts): sessions
 * with the run's threads and optimisation level on its CPU provider, or on its WebGPU
 * provider (`device: 'webgpu'`: every output read back into JS, so a run's wall time
 * includes its uploads, the GPU's work and the download); side by side, without the arena
 * and the spinning pool (see EngineOptions; the WebGPU provider has neither); the clock is
 * process.hrtime.
 */
export function nodeRuntime(o: NodeRuntimeOptions): Runtime {
  const device = o.device ?? 'cpu';
  return {
    name: device === 'webgpu' ? `onnxruntime-node ${ortVersion()} WebGPU` : `onnxruntime-node ${ortVersion()} CPU, ${o.threads} thread(s)`,
    now: hrtimeMs,
    createSession: (model, request = {}) => Engine.create(model, { ...o, device, ...requested(request) }),
  };
}

export { ort };
