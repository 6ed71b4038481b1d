/**
 * The small session interface every measurement runs over, so that the same protocol (the
 * variants interleaved in rounds, the profiled stage split, the float64 check, the ceiling
 * probes, the decode steps) runs on onnxruntime-node in Node (`nodeRuntime`,
 * src/engine/session.ts) and on onnxruntime-web in a browser page
 * (src/page/ort-runtime.ts). Platform-neutral: types and constants only.
 *
 * A runtime creates sessions from serialised ONNX models and owns the clock runs are timed
 * with (process.hrtime in Node, performance.now in the page). A session wraps host arrays as
 * its input tensors once, outside any timing; `run` returns every output read back into host
 * memory, as an application reads its results (on a GPU that includes the download, so the
 * time includes the GPU's work).
 */
import type { ProfiledRun } from './trace.ts';

export const GRAPH_OPTS = ['none', 'basic', 'extended', 'all'] as const;
export type GraphOpt = (typeof GRAPH_OPTS)[number];

/** A tensor in host memory; its element type is its array's (float32, int64, int32, or a quantized cache's int8 and uint8 codes). */
export interface HostTensor {
  data: Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;
  dims: readonly number[];
}

export type HostTensors = Record<string, HostTensor>;

/** Inputs wrapped for one session (opaque: each runtime keeps its own tensor objects). */
export interface RuntimeFeeds {
  readonly runtimeFeeds: true;
}

/** Outputs read back, by name (float32 outputs only in this project). */
export type HostOutputs = Record<string, Float32Array>;

/**
 * The one session abstraction: onnxruntime-node's `Engine` (src/engine/session.ts) and the
 * page's onnxruntime-web session both are one. What an engine can do beyond it (Node's
 * GPU-resident tensors) is a method of its own session, not another kind of session.
 */
export interface RuntimeSession {
  /** Wrap host arrays as this session's inputs (no copy where the engine allows): done once, before timing. */
  feeds(inputs: HostTensors): RuntimeFeeds;
  run(feeds: RuntimeFeeds): Promise<HostOutputs>;
  /**
   * Stop the profiler (a session created with `profile: true`) and return one run of kernels
   * per `run` call, kernel times as this engine reports them (CPU kernels; on a GPU, its
   * programs). Empty runs when the engine reports no per-kernel times.
   */
  endProfiling(): Promise<ProfiledRun[]>;
  release(): Promise<void>;
}

export interface SessionRequest {
  /** Turn the engine's profiler on (a session of its own: timed runs carry no profiler cost). */
  profile?: boolean;
  /**
   * Several sessions will live side by side and run in turn (the variants of one
   * configuration): engines that keep a memory arena or a spinning thread pool per session
   * turn them off.
   */
  sideBySide?: boolean;
}

export interface Runtime {
  /** Where the sessions compute, in a few words (for logs). */
  readonly name: string;
  createSession(model: Uint8Array, request?: SessionRequest): Promise<RuntimeSession>;
  /** The clock timed runs are measured with, in ms. */
  now(): number;
  /**
   * Called between rounds of timed runs and between configurations, never inside a timed
   * run: a browser page's sessions run on its main thread, and without a moment for its event
   * loop the page would not paint its progress or hear its cancel button until the end.
   */
  pause?(): Promise<void>;
}
