/**
 * The chosen WebGPU setup, from the launcher to the worker.
 *
 * The launcher (bin/attnbench.js) sees `--device webgpu` on the command line, chooses a
 * setup with `launchWebGpu` BEFORE it starts the worker (LD_LIBRARY_PATH counts only at a
 * process's start), and starts the worker with the chosen variables plus ATTNBENCH_WEBGPU,
 * the choice as JSON. In the worker, `currentWebGpu()` reads it back: the adapter record
 * for the result's environment, the limits for the fit check.
 *
 * The probe costs 1–4 s (two child processes per candidate), so the choice is cached in
 * node_modules/.cache/attnbench/webgpu-choice.json, keyed by everything that decides it
 * (`setupFingerprint`: the Vulkan variables, the system's driver manifests and their times,
 * the engine's library, the bundled driver). Set ATTNBENCH_WEBGPU_PROBE=1 to probe anew.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { writeFileAtomic } from '../core/files.ts';
import type { NodeDevice } from '../engine/devices.ts';
import type { AdapterRecord } from './adapter.ts';
import { chooseWebGpu, refusal, type ProbeOptions } from './probe.ts';
import { setupFingerprint, type BundledVulkan, type CandidateSource, type Icd } from './vulkan.ts';

/** The variable that carries the choice into the worker. */
export const WEBGPU_VAR = 'ATTNBENCH_WEBGPU';

export interface WebGpuChoice {
  source: CandidateSource;
  /** The Vulkan loader the engine finds, and the driver manifests it reads. */
  loader: string | null;
  drivers: Icd[];
  /** The variables the worker was started with, beyond its parent's. */
  env: Record<string, string>;
  adapter: AdapterRecord;
  /** The probe's session creation and 64×64 MatMul (ms), when it ran. */
  probeMs: number | null;
  /** Taken from the cache rather than probed by this launch. */
  cached: boolean;
}

/** node_modules/.cache/attnbench/webgpu-choice.json, beside the unpacked browser. */
export function defaultChoiceFile(): string {
  const ortPackage = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return path.join(path.dirname(ortPackage), '.cache', 'attnbench', 'webgpu-choice.json');
}

function readCache(file: string, fingerprint: string): WebGpuChoice | null {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { fingerprint?: string; choice?: WebGpuChoice };
    return c.fingerprint === fingerprint && c.choice ? { ...c.choice, cached: true } : null;
  } catch {
    return null;
  }
}

export type WebGpuLaunch = { ok: true; choice: WebGpuChoice; env: Record<string, string> } | { ok: false; refusal: string };

/**
 * The launcher's side: the variables to start the worker with (its own plus the chosen
 * ones and ATTNBENCH_WEBGPU), or the one-line refusal when no candidate works. A failure is
 * never cached, so installing a driver takes effect at the next launch.
 */
export function launchWebGpu(env: NodeJS.ProcessEnv, bundled: BundledVulkan | null, o: ProbeOptions & { cacheFile?: string } = {}): WebGpuLaunch {
  const file = o.cacheFile ?? defaultChoiceFile();
  const fingerprint = setupFingerprint(env, bundled);
  let choice = env.ATTNBENCH_WEBGPU_PROBE ? null : readCache(file, fingerprint);
  if (!choice) {
    const { chosen, attempts } = chooseWebGpu(env, bundled, o);
    if (!chosen) return { ok: false, refusal: refusal(attempts) };
    const c = chosen.candidate;
    choice = { source: c.source, loader: c.loader, drivers: c.icds, env: c.env, adapter: chosen.adapter!, probeMs: chosen.ms ?? null, cached: false };
    try {
      writeFileAtomic(file, `${JSON.stringify({ fingerprint, choice }, null, 1)}\n`);
    } catch {
      // a read-only install: probe every time
    }
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return { ok: true, choice, env: { ...out, ...choice.env, [WEBGPU_VAR]: JSON.stringify(choice) } };
}

/** The worker's side: the choice its launcher made, or null when it was started without one. */
export function currentWebGpu(env: NodeJS.ProcessEnv = process.env): WebGpuChoice | null {
  const raw = env[WEBGPU_VAR];
  if (!raw) return null;
  try {
    return JSON.parse(raw) as WebGpuChoice;
  } catch {
    return null;
  }
}

/** What a result's environment records about the device it ran on. */
export type ProviderChoice =
  | { provider: 'cpu' }
  | {
      provider: 'webgpu';
      /** The Vulkan setup: the user's variables, the system's drivers, or the bundled SwiftShader. */
      source: CandidateSource | 'unknown';
      adapter: AdapterRecord | null;
      /** A software adapter: its times are no GPU speed (say so under every chart and table). */
      software: boolean;
    };

export function providerChoice(provider: NodeDevice, env: NodeJS.ProcessEnv = process.env): ProviderChoice {
  if (provider === 'cpu') return { provider };
  const c = currentWebGpu(env);
  if (!c) return { provider, source: 'unknown', adapter: null, software: false };
  return { provider, source: c.source, adapter: c.adapter, software: c.adapter.software || c.adapter.isFallbackAdapter === true };
}

/** Whether the chosen WebGPU adapter has float16 shaders (the 'shader-f16' feature): what float16 would need. */
export const adapterHasShaderF16 = (): boolean => currentWebGpu()?.adapter.features.includes('shader-f16') ?? false;
