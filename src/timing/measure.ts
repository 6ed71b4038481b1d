/**
 * Wall-clock timing of repeated async work: warm-up, then repeats chosen by a rule and
 * capped by a time budget. Clock: `process.hrtime.bigint()`.
 */


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
  /** Fewest repeats 'auto' may choose, so every figure has a spread. */
  minRepeats: number;
  warmup: number;
}

/** How many repeats to run, given the seed rule, the budget and one warm run's duration. */
export function chooseRepeats(policy: RepeatPolicy, seq: number, warmMs: number): number {
  if (policy.repeats !== 'auto') return policy.repeats;
  const byBudget = Math.floor(policy.budgetMs / Math.max(warmMs, 1e-3));
  return Math.max(policy.minRepeats, Math.min(seedRepeats(seq), byBudget));
}

/** Time `fn` `n` times; returns each run's milliseconds. */
export async function timeRuns(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}
