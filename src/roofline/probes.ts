/**
 * This machine's ceilings in Node: the probes of `ceilings.ts` through onnxruntime-node's CPU
 * provider with the run's own threads, and the CPU's theoretical peak shown beside them.
 */
import { nodeRuntime, type GraphOpt } from '../engine/session.ts';
import { ceilingsFrom, probeSizes, probeWith, type Ceilings, type Probe, type ProbeOptions as NeutralProbeOptions } from './ceilings.ts';
import { cpuPeak } from './cpu.ts';

// the neutral definitions, re-exported for the modules that import them from here
export { CopyProbe, Ceilings, CpuPeak, Probe, matmulFlops, probeShapes, shapeLabel, type MatmulShape } from './ceilings.ts';

export interface ProbeOptions extends NeutralProbeOptions {
  threads: number;
  graphOpt: GraphOpt;
}

/** Probe every ceiling once through onnxruntime-node. */
export const probe = (o: ProbeOptions): Promise<Probe> => probeWith(nodeRuntime(o), o);

/** The ceilings of a set of Node probings (the fastest sample of each kind), with the CPU's peak for `threads`. */
export const ceilingsOf = (probes: readonly Probe[], threads: number, quick = false): Ceilings =>
  ceilingsFrom(probes, cpuPeak(threads), {
    runtime: nodeRuntime({ threads, graphOpt: 'all' }).name,
    sizes: probeSizes({ quick }),
    ...(quick ? { quick } : {}),
  });

/** Probe once and return the ceilings. */
export async function measureCeilings(o: ProbeOptions): Promise<Ceilings> {
  return ceilingsOf([await probe(o)], o.threads, o.quick);
}

/** The ceilings with one more probing (taken between configurations of a long run). */
export async function probeAgain(c: Ceilings, o: ProbeOptions): Promise<Ceilings> {
  return ceilingsOf([...c.probes, await probe({ ...o, label: o.label ?? 'between configurations' })], o.threads, o.quick);
}
