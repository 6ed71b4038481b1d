// The environment a process needs for ONNX Runtime's WebGPU provider, chosen before that
// process starts (the C library reads LD_LIBRARY_PATH only at a process's start, and a
// failed first WebGPU session poisons the process that made it). Shared by the launcher,
// bench/run.js and the tests, and run from the same code as the worker: src/ through tsx,
// or the compiled dist/. The choice itself is src/device/choice.ts (`launchWebGpu`: the
// user's variables, the system's drivers, then the SwiftShader of the npm Chromium; cached).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `{ ok: true, env, choice }` (env: `env` plus the chosen variables and ATTNBENCH_WEBGPU),
 * or `{ ok: false, refusal }` (one line naming what is missing and how to get it).
 */
export async function webGpuEnv({ root, fromSource, env = process.env }) {
  const load = async (rel) => {
    if (!fromSource) return import(pathToFileURL(path.join(root, 'dist', `${rel}.js`)).href);
    const { tsImport } = await import('tsx/esm/api');
    return tsImport(pathToFileURL(path.join(root, 'src', `${rel}.ts`)).href, import.meta.url);
  };
  const [{ unpackChromium }, { launchWebGpu }] = await Promise.all([load('browser/chromium'), load('device/choice')]);
  let bundled = null;
  try {
    bundled = (await unpackChromium()).vulkan;
  } catch {
    // no bundled SwiftShader on this platform, or the package is missing: the system's drivers only
  }
  return launchWebGpu(env, bundled);
}
