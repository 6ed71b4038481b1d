/** The `environment` block every result file carries: what ran, where, and how. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ortVersion, type GraphOpt } from '../engine/session.ts';
import type { Ceilings } from '../roofline/probes.ts';
import type { Device, Environment } from './schema.ts';

/** The glibc settings the launcher applies (see bin/attnbench.js); recorded as found. */
export const MALLOC_VARS = ['MALLOC_MMAP_MAX_', 'MALLOC_TRIM_THRESHOLD_'] as const;

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

/** This attnbench's version, from its package.json (src/ and dist/ both sit two folders below it). */
export function attnbenchVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The CPU provider of onnxruntime-node, this machine's processor. */
export function cpuDevice(): Device {
  return { kind: 'cpu', provider: 'CPUExecutionProvider', description: `CPU: ${os.cpus()[0]?.model ?? 'unknown'}`, software: false, adapter: null };
}

export function environment(threads: number, graphOpt: GraphOpt, ceilings: Ceilings | null, device: Device = cpuDevice()): Environment {
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
    device,
    ceilings,
  };
}
