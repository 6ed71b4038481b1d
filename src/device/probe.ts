/**
 * Choose a working WebGPU setup before any work: each Vulkan candidate is tried in a child
 * process (a failed first session poisons the process that made it), and a failure is
 * turned into one line that names what is missing and how to get it.
 *
 * The engine's own error is the same for every cause ("Failed to get a WebGPU adapter: No
 * supported adapters"); the cause is in Dawn's warnings on stderr, which only a parent
 * process can read.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { adapterFromManifest, type AdapterRecord } from './adapter.ts';
import { vulkanCandidates, type BundledVulkan, type VulkanCandidate } from './vulkan.ts';

export type ProbeFailure = 'no-loader' | 'no-driver' | 'rejected' | 'wrong-result' | 'other';

export interface ProbeResult {
  candidate: VulkanCandidate;
  ok: boolean;
  /** Session creation plus one 64×64 MatMul, in the child (ms). */
  ms?: number;
  failure?: ProbeFailure;
  /** Dawn's warnings and the engine's error, as printed. */
  detail?: string;
  adapter?: AdapterRecord;
}

/** This module's sibling as the process can run it: the .ts source through tsx, or the compiled .js. */
function childCommand(): string[] {
  const self = import.meta.url;
  // tsx may append a query to a module's URL
  if (new URL(self).pathname.endsWith('.ts')) return ['--import', import.meta.resolve('tsx/esm'), fileURLToPath(new URL('./probe-child.ts', self))];
  return [fileURLToPath(new URL('./probe-child.js', self))];
}

function runChild(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  const r = spawnSync(process.execPath, [...childCommand(), ...args], { env, encoding: 'utf8', timeout: timeoutMs });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let json: { ok?: boolean; error?: string; ms?: number; maxErr?: number; adapter?: AdapterRecord | null } = {};
  try {
    json = JSON.parse(line);
  } catch {
    json = { ok: false, error: `the probe exited with ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}` };
  }
  const warnings = (r.stderr ?? '').split('\n').filter((l) => /^(Warning|Error):|^ - /.test(l.trim()));
  return { json, warnings };
}

/** Name the cause from Dawn's warnings (texts as measured with Dawn in onnxruntime-node 1.30). */
export function classify(warnings: readonly string[], error: string | undefined): ProbeFailure {
  const w = warnings.join('\n');
  if (/Couldn't load Vulkan/.test(w)) return 'no-loader';
  if (/Found no drivers|VK_ERROR_INCOMPATIBLE_DRIVER/.test(w)) return 'no-driver';
  if (/required|not supported|Insufficient Vulkan limits/i.test(w)) return 'rejected';
  if (error && /wrong/.test(error)) return 'wrong-result';
  return 'other';
}

export interface ProbeOptions {
  /** Also read the adapter record (a second child, through the optional webgpu package). Default true. */
  adapter?: boolean;
  timeoutMs?: number;
}

export function probeCandidate(c: VulkanCandidate, base: NodeJS.ProcessEnv, opts: ProbeOptions = {}): ProbeResult {
  const env = { ...base, ...c.env };
  const t = opts.timeoutMs ?? 120_000;
  const { json, warnings } = runChild(['matmul'], env, t);
  if (!json.ok) {
    const error = json.error ?? (json.maxErr !== undefined ? `wrong MatMul result (max error ${json.maxErr})` : undefined);
    return { candidate: c, ok: false, failure: classify(warnings, error), detail: [...warnings, error].filter(Boolean).join(' | ') };
  }
  const read = opts.adapter === false ? null : runChild(['adapter', JSON.stringify(c.icds)], env, t).json.adapter;
  return { candidate: c, ok: true, ...(json.ms !== undefined ? { ms: json.ms } : {}), adapter: read ?? adapterFromManifest(c.icds) };
}

/** The first candidate that runs a MatMul correctly, with every attempt (for the refusal or the record). */
export function chooseWebGpu(env: NodeJS.ProcessEnv, bundled: BundledVulkan | null, opts: ProbeOptions = {}): { chosen: ProbeResult | null; attempts: ProbeResult[] } {
  const attempts: ProbeResult[] = [];
  for (const c of vulkanCandidates(env, bundled)) {
    const r = probeCandidate(c, env, opts);
    attempts.push(r);
    if (r.ok) return { chosen: r, attempts };
  }
  return { chosen: null, attempts };
}

const HOW = {
  loader: 'run npm ci (the @sparticuz/chromium package ships a Vulkan loader and SwiftShader), or apt-get install libvulkan1',
  driver: "install a Vulkan driver: your GPU vendor's, or Mesa's lavapipe (Debian 12: mesa-vulkan-drivers from bookworm-backports, see docs/webgpu.md)",
  rejected: "Debian 12's Mesa 22.3 lavapipe is one such driver: install Mesa 25 from bookworm-backports (docs/webgpu.md), or unset VK_ICD_FILENAMES and VK_DRIVER_FILES to use the bundled SwiftShader",
};

/** One line naming what is missing and how to get it (for a UsageError, exit code 2). */
export function refusal(attempts: readonly ProbeResult[]): string {
  if (attempts.length === 0) return `--device webgpu: no Vulkan driver found and no SwiftShader to fall back on; ${HOW.loader}`;
  const parts = attempts.map((a) => {
    const what = `${a.candidate.source} (${a.candidate.icds.map((i) => i.kind).join(', ') || 'no driver'})`;
    switch (a.failure) {
      case 'no-loader':
        return `${what}: no Vulkan loader (libvulkan.so.1)`;
      case 'no-driver':
        return `${what}: the Vulkan loader found no driver`;
      case 'rejected':
        return `${what}: the engine rejected the adapter (${a.detail?.split(' | ')[0]?.replace(/^Warning:\s*/, '')})`;
      default:
        return `${what}: ${a.detail ?? 'failed'}`;
    }
  });
  const last = attempts[attempts.length - 1]!;
  const how = last.failure === 'no-driver' ? HOW.driver : last.failure === 'rejected' ? HOW.rejected : HOW.loader;
  return `--device webgpu: no usable WebGPU adapter: ${parts.join('; ')}; ${how}`.replace(/\s*\n\s*/g, ' ');
}
