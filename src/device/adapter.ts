/**
 * The adapter record: what the WebGPU adapter says about itself (vendor, architecture,
 * description, fallback flag, subgroup sizes) and its limits.
 *
 * onnxruntime-node does not expose its adapter (not even in its verbose log). The optional
 * `webgpu` package (Dawn's own Node binding) asks the same Vulkan loader and drivers with
 * the same preference (high-performance), so with one driver visible it names the adapter
 * the engine uses; with several (a machine with a GPU and lavapipe), Dawn sorts discrete >
 * integrated > CPU in both. The engine requests the adapter's own limits for its device, so
 * these limits are the engine's.
 *
 * Without the package (`npm ci --omit=optional`, or a platform it has no binary for) the
 * record comes from the driver's manifest: which driver, whether it is a software one, and
 * no limits (the fit check is then skipped, and an allocation fails at run time instead).
 */
import type { Icd } from './vulkan.ts';

export interface AdapterLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  /** The engine splits a tensor larger than maxStorageBufferBindingSize into that many bindings; a program may hold this many. */
  maxStorageBuffersPerShaderStage: number;
}

export interface AdapterRecord {
  /** Where the record was read: Dawn's Node binding (the `webgpu` package), or only the driver's manifest. */
  from: 'webgpu-package' | 'driver-manifest';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The Vulkan driver: its kind and library (and, when Dawn tells, its version in `description`). */
  driver: string;
  /** WebGPU's fallback flag (null when not read): a software or otherwise limited adapter. */
  isFallbackAdapter: boolean | null;
  /** A CPU implementation (SwiftShader, llvmpipe/lavapipe): its times are no GPU speed. */
  software: boolean;
  subgroupMinSize: number | null;
  subgroupMaxSize: number | null;
  features: string[];
  limits: AdapterLimits | null;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|warp|basic render/i;

export const isSoftware = (a: Pick<AdapterRecord, 'vendor' | 'architecture' | 'description' | 'device'>): boolean =>
  SOFTWARE.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);

const driverName = (icds: readonly Icd[]) => icds.map((i) => `${i.kind} (${i.library})`).join(', ');

interface GpuLike {
  requestAdapter(o: object): Promise<{
    info: Record<string, unknown>;
    limits: Record<string, number>;
    features: Iterable<string>;
    isFallbackAdapter?: boolean;
  } | null>;
}

/** The `webgpu` package's `create`, or null when it is not installed (it is an optional dependency). */
async function dawnBinding(): Promise<((flags: string[]) => GpuLike) | null> {
  try {
    // a variable specifier: TypeScript need not resolve an optional package's types
    const name = 'webgpu';
    return ((await import(name)) as { create: (flags: string[]) => GpuLike }).create;
  } catch {
    return null;
  }
}

/** The adapter through the `webgpu` package; null when the package is absent or finds no adapter. */
export async function readAdapter(icds: readonly Icd[]): Promise<AdapterRecord | null> {
  const create = await dawnBinding();
  if (!create) return null;
  const ad = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  if (!ad) return null;
  const i = ad.info;
  const str = (k: string) => String(i[k] ?? '');
  const num = (k: string) => (typeof i[k] === 'number' ? (i[k] as number) : null);
  const l = ad.limits;
  const base = { vendor: str('vendor'), architecture: str('architecture'), device: str('device'), description: str('description') };
  return {
    from: 'webgpu-package',
    ...base,
    driver: driverName(icds),
    isFallbackAdapter: Boolean(i.isFallbackAdapter ?? ad.isFallbackAdapter),
    software: isSoftware(base),
    subgroupMinSize: num('subgroupMinSize'),
    subgroupMaxSize: num('subgroupMaxSize'),
    features: [...ad.features].sort(),
    limits: {
      maxBufferSize: l.maxBufferSize!,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize!,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize!,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup!,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension!,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage!,
    },
  };
}

/** What the driver's manifest alone tells, when Dawn's binding is not there to ask. */
export function adapterFromManifest(icds: readonly Icd[]): AdapterRecord {
  const kinds = [...new Set(icds.map((i) => i.kind))];
  return {
    from: 'driver-manifest',
    vendor: '',
    architecture: '',
    device: '',
    description: `${kinds.join(', ') || 'unknown'} Vulkan driver (adapter not read: the optional webgpu package is not installed)`,
    driver: driverName(icds),
    isFallbackAdapter: null,
    // with several drivers, Dawn prefers a hardware one: only all-software lists are known to be software
    software: kinds.length > 0 && kinds.every((k) => k === 'swiftshader' || k === 'lavapipe'),
    subgroupMinSize: null,
    subgroupMaxSize: null,
    features: [],
    limits: null,
  };
}
