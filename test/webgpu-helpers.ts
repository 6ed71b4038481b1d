/**
 * Running test code on the WebGPU provider. A process gets a WebGPU adapter only when it is
 * started with the right Vulkan variables (src/device/choice.ts), so the tests' WebGPU work
 * runs in child scripts (test/webgpu/*.ts) started with the environment the launcher would
 * give the worker, each printing one JSON line that the test asserts on.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { webGpuEnv } from '../bin/webgpu-env.js';
import { EVENT_LIMIT_MS, ROOT } from './helpers.ts';

let chosen: Promise<Record<string, string>> | undefined;

/** The environment of a WebGPU process on this machine (probed once, then cached by the launcher's cache). */
export function webgpuEnv(): Promise<Record<string, string>> {
  chosen ??= webGpuEnv({ root: ROOT, fromSource: true }).then((r) => {
    if (!r.ok) throw new Error(r.refusal);
    return r.env;
  });
  return chosen;
}

/** Run test/webgpu/<script>.ts with `args` in a WebGPU process; its last stdout line, parsed. */
export async function onWebGpu<T>(script: string, args: readonly string[] = [], timeoutMs = 2 * EVENT_LIMIT_MS): Promise<T> {
  const env = await webgpuEnv();
  const file = path.join(ROOT, 'test', 'webgpu', `${script}.ts`);
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx/esm'), file, ...args], { env, encoding: 'utf8', timeout: timeoutMs, cwd: ROOT });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
