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
import { parseTrace, type ProfiledRun } from './trace.ts';

export const GRAPH_OPTS = ['none', 'basic', 'extended', 'all'] as const;
export type GraphOpt = (typeof GRAPH_OPTS)[number];

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
  /**
   * The engine's memory pattern (default on): it plans one block per input shape and keeps
   * it. A graph with free dimensions (the decoder: any prompt length, a cache that grows)
   * meets many shapes, and each new one costs a new block: measured, a second 1000-token
   * prefill at batch 8 grew the process from 3.9 to 5.5 GiB with it, 3.4 to 3.7 without.
   */
  memPattern?: boolean;
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
      ...(options.memPattern === false ? { enableMemPattern: false } : {}),
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
export { ort };
