/** The `environment` block every result file carries: what ran, where, and how. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { providerChoice } from '../device/choice.ts';
import { ortVersion, type NodeDevice, type GraphOpt } from '../engine/session.ts';
import type { Ceilings } from '../roofline/probes.ts';
import type { DeviceRecord, Environment } from './schema.ts';

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
export function cpuDevice(): DeviceRecord {
  return { kind: 'cpu', provider: 'CPUExecutionProvider', description: `CPU: ${os.cpus()[0]?.model ?? 'unknown'}`, software: false, adapter: null };
}

/** Where GPU stage times come from on onnxruntime-node's WebGPU provider. */
export const WEBGPU_PROFILER =
  "GPU program times from the WebGPU provider's profiler (its chrome-trace 'Api' events, from timestamp queries), summed per node and mapped to stages by the node's name; it reports no bytes, so no implementation floor";

/**
 * onnxruntime-node's WebGPU provider on the adapter the launcher chose (src/device/choice.ts):
 * the adapter as Dawn describes it, its driver, and whether it is a software one (its times
 * are then no GPU's speed: the report says so under every chart and in every table).
 */
export function webgpuDevice(env: NodeJS.ProcessEnv = process.env): DeviceRecord {
  const r = providerChoice('webgpu', env);
  // (providerChoice('webgpu') is always a WebGPU record; the test narrows its type)
  if (r.provider !== 'webgpu') return cpuDevice();
  const a = r.adapter;
  const name = a ? [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' ') || a.driver : 'an unrecorded adapter';
  return {
    kind: 'webgpu',
    provider: 'WebGpuExecutionProvider',
    description: `onnxruntime-node WebGPU on ${name}${r.source === 'unknown' ? '' : ` (${r.source})`}`,
    software: r.software,
    adapter: a ? { vendor: a.vendor, architecture: a.architecture, description: a.description, fallback: a.isFallbackAdapter === true, driver: a.driver || null } : null,
    profiler: WEBGPU_PROFILER,
  };
}

/** The device record of a provider of onnxruntime-node. */
export const deviceOf = (provider: NodeDevice): DeviceRecord => (provider === 'webgpu' ? webgpuDevice() : cpuDevice());

/** Where a run's times come from, in one line for its log: a software adapter said plainly. */
export const deviceNote = (d: DeviceRecord): string => `on ${d.description}${d.software ? ' — a SOFTWARE adapter: its times are not a GPU speed' : ''}`;

export function environment(threads: number, graphOpt: GraphOpt, ceilings: Ceilings | null, device: DeviceRecord = cpuDevice()): Environment {
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
