/**
 * The theoretical peak of this CPU for float32 multiply-adds: cores × clock × FLOPs per
 * cycle, from what the operating system reports. It is shown beside the measured ceiling,
 * never used as one: the clock is the nominal one (a CPU that boosts can exceed it, an
 * AVX-512 licence can run below it), and the FMA units per core are not reported.
 */
import fs from 'node:fs';
import os from 'node:os';

export interface CpuPeak {
  gflops: number;
  cores: number;
  ghz: number;
  flopsPerCycle: number;
  /** How the figures were read, in a sentence. */
  method: string;
}

/** FLOPs per cycle per core from the vector extensions: two FMA units of the widest vectors, a multiply and an add each. */
export function flopsPerCycle(flags: ReadonlySet<string>, vendor: string): { value: number; isa: string } {
  const fma = flags.has('fma');
  // Zen 4 executes AVX-512 on 256-bit units: its peak is the AVX2 one
  if (flags.has('avx512f') && !/AMD/i.test(vendor)) return { value: 2 * 16 * 2, isa: 'AVX-512, 2 FMA units' };
  if (flags.has('avx2') && fma) return { value: 2 * 8 * 2, isa: 'AVX2, 2 FMA units' };
  if (flags.has('avx')) return { value: 2 * 8, isa: 'AVX, separate multiply and add' };
  return { value: 2 * 4, isa: 'SSE' };
}

/** Clock in GHz: the model name's "@ 2.50GHz", else the reported MHz. */
export function nominalGhz(model: string, mhz: number | undefined): number | undefined {
  const m = /@\s*([\d.]+)\s*GHz/i.exec(model);
  if (m) return Number(m[1]);
  return mhz && mhz > 0 ? mhz / 1000 : undefined;
}

/** Parse /proc/cpuinfo's first processor block. */
export function parseCpuinfo(text: string): { model: string; vendor: string; mhz?: number; flags: Set<string> } {
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
  const mhz = Number(field('cpu MHz'));
  return {
    model: field('model name') ?? 'unknown',
    vendor: field('vendor_id') ?? 'unknown',
    ...(Number.isFinite(mhz) ? { mhz } : {}),
    flags: new Set((field('flags') ?? '').split(/\s+/).filter(Boolean)),
  };
}

/** The peak of `threads` cores of this machine, or null where the OS does not say enough. */
export function cpuPeak(threads: number): CpuPeak | null {
  let info;
  try {
    info = parseCpuinfo(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return null;
  }
  const ghz = nominalGhz(info.model, info.mhz ?? os.cpus()[0]?.speed);
  if (!ghz || info.flags.size === 0) return null;
  const cores = Math.min(threads, os.cpus().length);
  const f = flopsPerCycle(info.flags, info.vendor);
  return {
    gflops: cores * ghz * f.value,
    cores,
    ghz,
    flopsPerCycle: f.value,
    method: `${cores} core(s) × ${ghz} GHz nominal × ${f.value} FLOP/cycle (${f.isa}), from /proc/cpuinfo`,
  };
}
