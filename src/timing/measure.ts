/**
 * Wall-clock timing of repeated async work: warm-up, then repeats chosen by a rule and
 * capped by a time budget. Clock: `process.hrtime.bigint()`.
 */

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The seed's repeat rule: max(1, floor(500·(64/sl)^(1/3))). */
export const seedRepeats = (seq: number): number => Math.max(1, Math.floor(500 * Math.cbrt(64 / seq)));

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
