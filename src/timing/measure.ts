/**
 * Wall-clock timing of repeated async work, and the settings that say how many repeats a
 * configuration gets (the count itself is chosen by src/measure/alternate.ts's
 * plannedRounds: the seed's rule capped by the time budget). The clock is the caller's (a
 * runtime's: `process.hrtime` in Node, `performance.now()` in a browser page); by default Node's.
 */

/** Milliseconds on Node's monotonic clock. */
export const hrtimeMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * The seed's repeat rule, max(1, ⌊500·∛64 / ∛sl⌋), evaluated as its script does
 * (`int(500 * 64 ** (1/3) / sl ** (1/3))`), so imported files get the seed's own counts.
 */
export const seedRepeats = (seq: number): number => Math.max(1, Math.trunc((500 * Math.pow(64, 1 / 3)) / Math.pow(seq, 1 / 3)));

export interface RepeatPolicy {
  /** A fixed count, or 'auto' for the seed's rule capped by `budgetMs`. */
  repeats: number | 'auto';
  /** Time budget for the timed repeats of one configuration (auto only). */
  budgetMs: number;
  warmup: number;
}

/** Time `fn` `n` times on the clock `now` (ms); returns each run's milliseconds. */
export async function timeRuns(n: number, fn: () => Promise<unknown>, now: () => number = hrtimeMs): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await fn();
    out.push(now() - t0);
  }
  return out;
}
