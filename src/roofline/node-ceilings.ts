/**
 * The ceilings in Node: the probes of `probes.ts` through onnxruntime-node with the run's
 * own provider and threads. On the CPU, the processor's theoretical peak is recorded beside
 * them (shown as a bound only where it is one). On WebGPU the same graphs run on the GPU and
 * their rates come from the GPU program times of the provider's profiler (the stage split's clock too, so stage rates and
 * ceilings compare like with like), at sizes fit for the adapter (`gpuCeilingSizes`: a
 * software adapter cannot take a 4096³ product fifteen times in reasonable time); a GPU's
 * peak is not known to the process, so none is shown.
 */
import { currentWebGpu } from '../device/choice.ts';
import { gpuCeilingSizes } from '../device/gpu-ceilings.ts';
import { nodeRuntime, type NodeDevice, type GraphOpt } from '../engine/session.ts';
import { ceilingsFrom, FULL_PROBES, probeSizes, probeWith, type Ceilings, type Probe, type ProbeOptions as NeutralProbeOptions, type ProbeSizes } from './probes.ts';
import { cpuPeak } from './cpu.ts';
import { refuseUnknownKeys } from '../core/unknown-keys.ts';


export interface ProbeOptions extends NeutralProbeOptions {
  threads: number;
  graphOpt: GraphOpt;
  /** The provider probed (default 'cpu'); 'webgpu' needs a process with a WebGPU setup (src/device/choice.ts). */
  device?: NodeDevice;
}

/** The probe sizes for a provider: the CPU's, or the adapter's (a software one gets the page's small sizes). */
export function nodeProbeSizes(device: NodeDevice, quick: boolean): ProbeSizes {
  if (quick || device !== 'webgpu') return probeSizes({ quick });
  const adapter = currentWebGpu()?.adapter ?? null;
  const { matmulSize, readMiB } = gpuCeilingSizes(adapter);
  if (!adapter || adapter.software) return { square: matmulSize, readMiB, streamMiB: readMiB / 2, copyMiB: 16, runs: 5 };
  return { square: matmulSize, readMiB, streamMiB: Math.max(64, readMiB / 4), copyMiB: FULL_PROBES.copyMiB, runs: FULL_PROBES.runs };
}

/** The most FLOPs one run of a probe of the run's own products may take on a software adapter (SwiftShader: about 0.1 GFLOP/s, so 2 s; the CPU's cap would take minutes there). */
const SOFTWARE_MAX_FLOPS = 2e8;

const onSoftware = (o: ProbeOptions) => o.device === 'webgpu' && (currentWebGpu()?.adapter.software ?? true);

const runtimeOf = (o: Pick<ProbeOptions, 'threads' | 'graphOpt' | 'device'>) => nodeRuntime({ threads: o.threads, graphOpt: o.graphOpt, device: o.device ?? 'cpu' });

/** Probe every ceiling once through onnxruntime-node. */
export const probe = (o: ProbeOptions): Promise<Probe> =>
  probeWith(runtimeOf(o), { ...o, ...(onSoftware(o) ? { maxFlops: SOFTWARE_MAX_FLOPS } : {}), sizes: nodeProbeSizes(o.device ?? 'cpu', o.quick ?? false) });

/** The runtime's name in the method text: on WebGPU, with the adapter it ran on. */
function probedRuntime(device: NodeDevice, threads: number): string {
  const name = runtimeOf({ threads, graphOpt: 'all', device }).name;
  if (device !== 'webgpu') return name;
  const a = currentWebGpu()?.adapter;
  return `${name} on ${a ? a.description || a.driver : 'an unrecorded adapter'} (GPU program times)`;
}

/** The ceilings of a set of Node probings (the fastest sample of each kind), with the CPU's peak for `threads` on the CPU. */
export const ceilingsOf = (probes: readonly Probe[], threads: number, quick = false, device: NodeDevice = 'cpu'): Ceilings =>
  ceilingsFrom(probes, device === 'cpu' ? cpuPeak(threads) : null, {
    runtime: probedRuntime(device, threads),
    sizes: nodeProbeSizes(device, quick),
    ...(quick ? { quick } : {}),
  });

/** Every option a probing reads: a key not here is refused (a misspelling would otherwise be dropped unnoticed). */
const OPTION_KEYS = Object.keys({ threads: true, graphOpt: true, device: true, shapes: true, quick: true, sizes: true, maxFlops: true, label: true, dtypes: true } satisfies Record<keyof ProbeOptions, true>);

/** Probe once and return the ceilings. */
export async function measureCeilings(o: ProbeOptions): Promise<Ceilings> {
  refuseUnknownKeys(o, OPTION_KEYS);
  return ceilingsOf([await probe(o)], o.threads, o.quick, o.device);
}

/** The ceilings with one more probing (taken between configurations of a long run). */
export async function probeAgain(c: Ceilings, o: ProbeOptions): Promise<Ceilings> {
  return ceilingsOf([...c.probes, await probe({ ...o, label: o.label ?? 'between configurations' })], o.threads, o.quick, o.device);
}
