/**
 * The ceilings of a run in Node, the same for a layer sweep and a decode comparison: probed
 * at its start (a resumed run joins the probings its journal holds: a bound is the fastest
 * sample of all of them), probed again as it goes, each probing a session in the journal that
 * the results measured against it name; and settled at its end, probing again while a result
 * beats a bound.
 */
import type { RunJournalEntry } from '../results/io.ts';
import type { Journal } from '../results/journal.ts';
import { ceilingsOf, measureCeilings, probeAgain, type ProbeOptions } from '../roofline/node-ceilings.ts';
import { peakNote, type Ceilings } from '../roofline/probes.ts';

export interface RunCeilings {
  /** The ceilings after the start's probing (with a resumed journal's earlier ones). */
  readonly ceilings: Ceilings;
  /** The session a result measured now belongs to (the latest probing's). */
  session(): number;
  /** Probe again (between configurations, or because a result beat a bound), journaled as the next session. */
  again(prev: Ceilings): Promise<Ceilings>;
}

/**
 * Probe a run's ceilings (or take `given`, already measured in this process), journaled: each
 * probing opens a session of the journal.
 */
export async function runCeilings<R>(
  journal: Journal<RunJournalEntry<R>> | undefined,
  o: { probe: ProbeOptions; given?: Ceilings | undefined; log: (line: string) => void },
): Promise<RunCeilings> {
  const earlier = (journal?.entries() ?? []).flatMap((e) => (e.kind === 'ceilings' ? [e.ceilings] : []));
  let session = earlier.length;
  const probed = (ceilings: Ceilings): Ceilings => {
    journal?.append({ kind: 'ceilings', session, ceilings });
    return ceilings;
  };
  const measured = o.given ?? (o.log("measuring this machine's ceilings (matmul GFLOP/s, streaming read GB/s)..."), await measureCeilings(o.probe));
  const p = o.probe;
  const ceilings = probed(earlier.length && !o.given ? ceilingsOf([...earlier.flatMap((c) => c.probes), ...measured.probes], p.threads, p.quick ?? false, p.device ?? 'cpu') : measured);
  o.log(describeCeilings(ceilings));
  return {
    ceilings,
    session: () => session,
    again: async (prev) => (session++, probed(await probeAgain(prev, p))),
  };
}

/** How many times a run that beat a bound probes the ceilings again before the bound is reported broken. */
const SETTLE_PROBINGS = 3;

/**
 * A run faster than its floor, or a stage above the compute ceiling, means the bound is wrong:
 * the ceilings were probed in a slow minute of a drifting host (they are the fastest probe
 * samples, and a short sweep probes once). Probe again, up to SETTLE_PROBINGS times, while any
 * result breaks a bound; what still breaks one after that is reported (flags), never hidden.
 */
export async function settleBounds<R extends { flags: readonly string[] }>(
  ceilings: Ceilings,
  bound: (c: Ceilings) => R[],
  probe: (c: Ceilings) => Promise<Ceilings>,
  log: (line: string) => void,
): Promise<{ ceilings: Ceilings; results: R[] }> {
  let results = bound(ceilings);
  for (let i = 1; i <= SETTLE_PROBINGS; i++) {
    const broken = results.filter((r) => r.flags.length > 0).length;
    if (broken === 0) break;
    log(`${broken} result(s) beat a bound (${results.find((r) => r.flags.length > 0)!.flags[0]}): the ceilings were probed in a slow minute; probing again (${i}/${SETTLE_PROBINGS})`);
    ceilings = await probe(ceilings);
    results = bound(ceilings);
  }
  const still = results.filter((r) => r.flags.length > 0).length;
  if (still > 0) log(`warning: ${still} result(s) still beat a bound after ${SETTLE_PROBINGS} more probings; they are flagged in the table and the file`);
  return { ceilings, results };
}

/** One line on the ceilings: the bounds, and the CPU's peak beside the compute one (as a bound only where it is one). */
export function describeCeilings(c: Ceilings): string {
  const note = peakNote(c);
  const peak = note ? ` (${note})` : '';
  const q = c.quantizedGflops;
  const quantized = q ? Object.entries(q).map(([d, v]) => `, ${d} weights ${v.toFixed(0)} GFLOP/s`).join('') : '';
  return `ceilings: matmul ${c.matmulGflops.toFixed(0)} GFLOP/s${peak}${quantized}, streaming read ${c.readGBps.toFixed(1)} GB/s, copy ${c.copyGBps.toFixed(1)} GB/s (fastest of ${c.probes.length} probing(s))`;
}
