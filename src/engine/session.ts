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
import { hrtimeMs } from '../timing/measure.ts';
import { GRAPH_OPTS, type GraphOpt, type HostOutputs, type HostTensor, type HostTensors, type Runtime, type RuntimeFeeds, type RuntimeSession } from './runtime.ts';
import { parseTrace, type ProfiledRun } from './trace.ts';

export { GRAPH_OPTS, type GraphOpt };

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
  /**
   * The engine's own memory arena (default on). Sessions that live side by side (variants
   * measured in alternation) turn it off: each arena keeps its peak for good, while glibc,
   * told by the launcher never to return memory, hands one freed block to the next session.
   */
  arena?: boolean;
  /** Write the optimised graph here (to check what the optimiser did, e.g. where weights sit). */
  optimizedModelPath?: string;
}

export type Feeds = Record<string, ort.Tensor>;

export const ortVersion = (): string => ort.env.versions.node ?? 'unknown';

export class Engine {
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
    const profileDir = options.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-prof-')) : undefined;
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: ORT_OPT[options.graphOpt],
      logSeverityLevel: 3,
      enableProfiling: options.profile ?? false,
      ...(profileDir ? { profileFilePrefix: path.join(profileDir, 'run') } : {}),
      extra: { session: { intra_op: { allow_spinning: options.spinning === false ? '0' : '1' } } },
      ...(options.arena === false ? { enableCpuMemArena: false } : {}),
      ...(options.optimizedModelPath ? { optimizedModelFilePath: options.optimizedModelPath } : {}),
    };
    const session = typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
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

export const f32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims as number[]);

/** A host array as the engine's tensor, wrapped without a copy (float32, int64 or int32 by the array's type). */
export function toTensor(t: HostTensor): ort.Tensor {
  const dims = t.dims as number[];
  if (t.data instanceof Float32Array) return new ort.Tensor('float32', t.data, dims);
  if (t.data instanceof BigInt64Array) return new ort.Tensor('int64', t.data, dims);
  return new ort.Tensor('int32', t.data, dims);
}

/** Host arrays as the engine's feeds. */
export const toFeeds = (t: HostTensors): Feeds => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, toTensor(v)]));

/** Settings of every session a `nodeRuntime` creates. */
export type NodeRuntimeOptions = Pick<EngineOptions, 'threads' | 'graphOpt'>;

interface NodeFeeds extends RuntimeFeeds {
  feeds: Feeds;
}

/**
 * onnxruntime-node's CPU provider as the measurement protocol's runtime (src/engine/runtime.ts):
 * sessions with the run's threads and optimisation level; side by side, without the arena
 * and the spinning pool (see EngineOptions); the clock is process.hrtime.
 */
export function nodeRuntime(o: NodeRuntimeOptions): Runtime {
  return {
    name: `onnxruntime-node ${ortVersion()} CPU, ${o.threads} thread(s)`,
    now: hrtimeMs,
    async createSession(model, request = {}): Promise<RuntimeSession> {
      const engine = await Engine.create(model, { ...o, profile: request.profile ?? false, ...(request.sideBySide ? { arena: false, spinning: false } : {}) });
      return {
        feeds: (inputs): NodeFeeds => ({ runtimeFeeds: true, feeds: toFeeds(inputs) }),
        async run(feeds): Promise<HostOutputs> {
          const out = await engine.run((feeds as NodeFeeds).feeds);
          return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
        },
        endProfiling: async () => engine.endProfiling(),
        release: () => engine.release(),
      };
    },
  };
}

export { ort };
