/**
 * The theoretical peak of this CPU for float32 multiply-adds: cores × clock × FLOPs per
 * cycle, from what the operating system reports. It is never used as a bound, and shown as
 * one only where it is above the measured matmul ceiling (src/roofline/probes.ts,
 * `peakNote`): the clock is the nominal one (a CPU that boosts exceeds it — an EPYC here
 * ran matmuls at 202 GFLOP/s against a nominal 166 — and an AVX-512 licence can run below
 * it), and the FMA units per core are not reported, so they are inferred from the family.
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

/** AMD's family of Zen 5 (0x1A): the first with 512-bit AVX-512 units (Zen 4, family 0x19, splits AVX-512 into two 256-bit halves). */
const ZEN5_FAMILY = 26;

/**
 * FLOPs per cycle per core from the vector extensions: two FMA units of the widest vectors,
 * a multiply and an add each. On AMD the width is the family's: Zen 4 executes AVX-512 on
 * 256-bit units (its peak is the AVX2 one); Zen 5 (family 26, which alone on AMD has
 * avx512_vp2intersect) has 512-bit ones on EPYC and desktop parts. Zen 5's mobile parts keep
 * a 256-bit path: there the figure is twice too high, which still bounds.
 */
export function flopsPerCycle(flags: ReadonlySet<string>, vendor: string, family?: number): { value: number; isa: string } {
  const fma = flags.has('fma');
  const amd = /AMD/i.test(vendor);
  if (flags.has('avx512f') && (!amd || (family ?? 0) >= ZEN5_FAMILY)) return { value: 2 * 16 * 2, isa: `AVX-512, 2 FMA units${amd ? ' (Zen 5)' : ''}` };
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
export function parseCpuinfo(text: string): { model: string; vendor: string; family?: number; mhz?: number; flags: Set<string> } {
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
  const mhz = Number(field('cpu MHz'));
  const family = Number(field('cpu family'));
  return {
    model: field('model name') ?? 'unknown',
    vendor: field('vendor_id') ?? 'unknown',
    ...(Number.isInteger(family) ? { family } : {}),
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
  const f = flopsPerCycle(info.flags, info.vendor, info.family);
  return {
    gflops: cores * ghz * f.value,
    cores,
    ghz,
    flopsPerCycle: f.value,
    method: `${cores} core(s) × ${ghz} GHz nominal × ${f.value} FLOP/cycle (${f.isa}), from /proc/cpuinfo`,
  };
}
