// Types of bin/webgpu-env.js, for the TypeScript that imports it (bench/run.js's callers, the tests).
export type WebGpuEnvResult =
  | { ok: true; env: Record<string, string>; choice: import('../src/device/choice.ts').WebGpuChoice }
  | { ok: false; refusal: string };

export function webGpuEnv(o: { root: string; fromSource: boolean; env?: NodeJS.ProcessEnv }): Promise<WebGpuEnvResult>;
