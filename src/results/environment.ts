/** The `environment` block every result file carries: what ran, where, and how. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { ortVersion, type GraphOpt } from '../engine/session.ts';
import type { Ceilings } from '../roofline/probes.ts';
import type { Environment } from './schema.ts';

/** The glibc settings the launcher applies (see bin/attnbench.js); recorded as found. */
export const MALLOC_VARS = ['MALLOC_MMAP_MAX_', 'MALLOC_TRIM_THRESHOLD_'] as const;

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

export function environment(threads: number, graphOpt: GraphOpt, ceilings: Ceilings | null): Environment {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    threads,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime: ortVersion(),
    graphOpt,
    malloc: Object.fromEntries(MALLOC_VARS.map((k) => [k, process.env[k] ?? 'unset'])),
    gitCommit: gitCommit(),
    date: new Date().toISOString(),
    device: 'cpu (onnxruntime CPUExecutionProvider)',
    ceilings,
  };
}
