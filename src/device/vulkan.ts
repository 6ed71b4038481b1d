/**
 * Where a Vulkan loader and driver for ONNX Runtime's WebGPU provider (Dawn) come from.
 *
 * Facts this module is built on (measured, docs/webgpu.md §1):
 *  - Dawn dlopens `libvulkan.so.1` first from the folder of `libonnxruntime.so.1`, then by
 *    bare name (LD_LIBRARY_PATH, the ld.so cache, /usr/lib...). glibc reads LD_LIBRARY_PATH
 *    once, at process start: the process that creates WebGPU sessions must be started with
 *    it (the launcher starts the worker so).
 *  - The loader reads VK_DRIVER_FILES (loaders from 1.3.207) or VK_ICD_FILENAMES when Dawn
 *    creates its instance, at the first WebGPU session.
 *  - A first session that finds no adapter poisons the process: a later one fails too, even
 *    with the variables fixed. So candidates are probed in child processes (`probe.ts`).
 *
 * Candidates, in order: the drivers the user's environment names (VK_DRIVER_FILES or
 * VK_ICD_FILENAMES), else the system's drivers (a real GPU, or Mesa's lavapipe when
 * installed), then the SwiftShader that the npm Chromium ships with its own loader. The
 * SwiftShader files are handed in by the caller (src/browser/chromium.ts unpacks them; that
 * folder sits above this one in the import order).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export type DriverKind = 'swiftshader' | 'lavapipe' | 'nvidia' | 'amd' | 'intel' | 'other';

/** One ICD manifest (the JSON that tells the Vulkan loader where a driver library is). */
export interface Icd {
  manifest: string;
  library: string;
  kind: DriverKind;
  apiVersion: string;
}

/** A Vulkan driver and loader that need no installation: SwiftShader from the npm Chromium. */
export interface BundledVulkan {
  /** vk_swiftshader_icd.json */
  icdFile: string;
  /** The folder of its libvulkan.so.1. */
  loaderDir: string;
}

export type CandidateSource = 'env' | 'system' | 'swiftshader';

export interface VulkanCandidate {
  /** Where it came from: the user's variables, the system's folders, or the npm-shipped SwiftShader. */
  source: CandidateSource;
  /** The loader library that will be found, or null when none is (Dawn then fails to load Vulkan). */
  loader: string | null;
  icds: Icd[];
  /** Variables the process that creates WebGPU sessions must be started with (merged over its env). */
  env: Record<string, string>;
}

const SYSTEM_ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];
const SYSTEM_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
const LOADER = 'libvulkan.so.1';

export function driverKind(library: string): DriverKind {
  const l = path.basename(library).toLowerCase();
  if (l.includes('swiftshader')) return 'swiftshader';
  if (l.includes('lvp')) return 'lavapipe';
  if (l.includes('nvidia')) return 'nvidia';
  if (l.includes('radeon') || l.includes('amdvlk')) return 'amd';
  if (l.includes('intel')) return 'intel';
  return 'other';
}

/** Read one ICD manifest; null when it is not one. */
export function readIcd(manifest: string): Icd | null {
  try {
    const j = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: string; api_version?: string } };
    const lib = j.ICD?.library_path;
    if (!lib) return null;
    // a relative path with a slash is relative to the manifest; a bare name goes through dlopen's search
    const library = lib.includes('/') && !path.isAbsolute(lib) ? path.resolve(path.dirname(manifest), lib) : lib;
    return { manifest, library, kind: driverKind(lib), apiVersion: j.ICD?.api_version ?? '?' };
  } catch {
    return null;
  }
}

/** The folder of the engine's native library: Dawn's first place to look for libvulkan.so.1. */
export function ortLibDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/** Where `dlopen("libvulkan.so.1")` from the engine would land, given LD_LIBRARY_PATH `ldPath`. */
export function findLoader(ldPath: string | undefined): string | null {
  const dirs = [ortLibDir(), ...(ldPath ?? '').split(':').filter(Boolean)];
  for (const d of dirs) if (fs.existsSync(path.join(d, LOADER))) return path.join(d, LOADER);
  try {
    const cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const hit = cache.split('\n').find((l) => l.trim().startsWith(`${LOADER} `) && l.includes('x86-64'));
    if (hit) return hit.split('=>')[1]!.trim();
  } catch {
    // no ldconfig: fall through to the standard folders
  }
  for (const d of SYSTEM_LIB_DIRS) if (fs.existsSync(path.join(d, LOADER))) return path.join(d, LOADER);
  return null;
}

/** The folders the loader reads manifests from when no variable names them. */
export function systemIcdDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const xdg = (env.XDG_DATA_DIRS ?? '').split(':').filter(Boolean).map((d) => path.join(d, 'vulkan/icd.d'));
  return [...new Set([...SYSTEM_ICD_DIRS, ...xdg, path.join(os.homedir(), '.local/share/vulkan/icd.d')])];
}

/** ICD manifests the loader would read with no variable set (the system's folders). */
export function systemIcds(env: NodeJS.ProcessEnv = process.env): Icd[] {
  return systemIcdDirs(env).flatMap((d) => {
    try {
      return fs
        .readdirSync(d)
        .filter((f) => f.endsWith('.json'))
        .map((f) => readIcd(path.join(d, f)))
        .filter((i): i is Icd => i !== null);
    } catch {
      return [];
    }
  });
}

/** The ICDs a user's VK_DRIVER_FILES (loader ≥ 1.3.207) or VK_ICD_FILENAMES names, or null when neither is set. */
export function envIcds(env: NodeJS.ProcessEnv): Icd[] | null {
  const list = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  if (!list) return null;
  return list
    .split(':')
    .filter(Boolean)
    .map((m) => readIcd(m) ?? { manifest: m, library: '(unreadable manifest)', kind: 'other' as const, apiVersion: '?' });
}

const prependPath = (dir: string, list: string | undefined) => [dir, ...(list ?? '').split(':').filter((d) => d && d !== dir)].join(':');

/**
 * The candidates in the order they should be tried (see the module comment). A user's or
 * the system's driver without a loader on this machine borrows the bundled loader (any
 * loader reads any driver's manifest), so `apt-get install mesa-vulkan-drivers` alone is
 * enough, without libvulkan1.
 */
export function vulkanCandidates(env: NodeJS.ProcessEnv, bundled: BundledVulkan | null): VulkanCandidate[] {
  const out: VulkanCandidate[] = [];
  const borrowLoader = (): Pick<VulkanCandidate, 'loader' | 'env'> => {
    const loader = findLoader(env.LD_LIBRARY_PATH);
    if (loader || !bundled) return { loader, env: {} };
    return { loader: path.join(bundled.loaderDir, LOADER), env: { LD_LIBRARY_PATH: prependPath(bundled.loaderDir, env.LD_LIBRARY_PATH) } };
  };
  const fromEnv = envIcds(env);
  if (fromEnv) out.push({ source: 'env', icds: fromEnv, ...borrowLoader() });
  else {
    const icds = systemIcds(env);
    if (icds.length > 0) out.push({ source: 'system', icds, ...borrowLoader() });
  }
  if (bundled) {
    const icd = readIcd(bundled.icdFile);
    if (icd) {
      out.push({
        source: 'swiftshader',
        loader: path.join(bundled.loaderDir, LOADER),
        icds: [icd],
        // VK_DRIVER_FILES for loaders ≥ 1.3.207 (the bundled one is), VK_ICD_FILENAMES for older ones
        env: { LD_LIBRARY_PATH: prependPath(bundled.loaderDir, env.LD_LIBRARY_PATH), VK_DRIVER_FILES: bundled.icdFile, VK_ICD_FILENAMES: bundled.icdFile },
      });
    }
  }
  return out;
}

/**
 * What decides which candidate works, for the launcher's cache of its choice: the variables
 * the loader and the probe read, the system's manifests with their times, the engine's
 * native library and the bundled driver. A change to any of them probes again.
 */
export function setupFingerprint(env: NodeJS.ProcessEnv, bundled: BundledVulkan | null): string {
  const mtime = (f: string) => {
    try {
      return fs.statSync(f).mtimeMs;
    } catch {
      return null;
    }
  };
  const manifests = systemIcdDirs(env).flatMap((d) => {
    try {
      return fs.readdirSync(d).map((f) => [path.join(d, f), mtime(path.join(d, f))]);
    } catch {
      return [];
    }
  });
  const vars = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'LD_LIBRARY_PATH', 'XDG_DATA_DIRS'].map((k) => [k, env[k] ?? null]);
  const ort = path.join(ortLibDir(), 'libonnxruntime.so.1');
  return JSON.stringify({ vars, manifests, ort: [ort, mtime(ort)], loader: findLoader(env.LD_LIBRARY_PATH), bundled: bundled && [bundled.icdFile, mtime(bundled.icdFile)] });
}
