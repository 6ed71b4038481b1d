/**
 * The protocol's schedule, shared by layer sweeps and decode comparisons, in Node and in the
 * page:
 *  - `timeSideBySide`: the contenders of one configuration (layer variants, attention types)
 *    live side by side, warm up in rounds, then run in rounds whose order rotates, so a host
 *    that drifts within minutes slows them alike and sample r of every contender comes from
 *    round r (paired); the rounds fill the time budget, at least MIN_RUNS;
 *  - `runConfigurations`: the configurations one after another, each handed on (journal,
 *    storage) as it finishes, stopped between configurations by a cancel, with a moment for
 *    the host (a page's event loop) in between.
 */
import type { HostOutputs, HostTensors, Runtime, RuntimeFeeds, RuntimeSession } from '../engine/runtime.ts';
import { timeRuns, type RepeatPolicy } from '../timing/measure.ts';
import { runRounds } from '../timing/rounds.ts';

/** Timed runs the protocol aims for; fewer only when the time budget allows no more (and the result says so). */
export const TARGET_RUNS = 10;
/** The fewest timed runs ever taken, so every figure has a spread. */
export const MIN_RUNS = 3;

/**
 * Rounds to run: a fixed count, or `wanted` (a layer: the seed's rule at its sequence
 * length) capped by the budget (per contender), at least MIN_RUNS.
 */
export function plannedRounds(o: { policy: RepeatPolicy }, wanted: number, contenders: number, roundMs: number): { rounds: number; budgetLimited: boolean } {
  if (o.policy.repeats !== 'auto') return { rounds: o.policy.repeats, budgetLimited: false };
  const byBudget = Math.floor((o.policy.budgetMs * contenders) / Math.max(roundMs, 1e-3));
  const rounds = Math.max(MIN_RUNS, Math.min(wanted, byBudget));
  return { rounds, budgetLimited: byBudget < Math.min(TARGET_RUNS, wanted) };
}

/** One contender's graph and the inputs of its runs. */
export interface Entry {
  model: Uint8Array;
  inputs: HostTensors;
}

/** A contender that finished its timed runs: every sample in round order, and its last warm-up run's outputs. */
export interface Timed<T> {
  item: T;
  inputs: HostTensors;
  samples: number[];
  output: HostOutputs;
}

interface Live<T> extends Entry {
  item: T;
  session: RuntimeSession;
  feeds: RuntimeFeeds;
  warmMs: number;
  output: HostOutputs;
}

export interface SideBySideOptions {
  policy: RepeatPolicy;
  /** Rounds wanted under `repeats: auto` (the budget may allow fewer). */
  wanted: number;
  onRound?: (done: number, planned: number) => void;
}

/**
 * Time `items` side by side on `rt`. A contender whose graph cannot be built or run drops out
 * (`onFail`); the sessions are gone when this returns, so the caller's profiled sessions
 * never share the machine with them.
 */
export async function timeSideBySide<T>(
  rt: Runtime,
  items: readonly T[],
  entry: (item: T) => Entry,
  o: SideBySideOptions,
  onFail: (item: T, e: unknown) => void,
): Promise<{ timed: Timed<T>[]; budgetLimited: boolean }> {
  const live: Live<T>[] = [];
  const drop = async (v: Live<T>, e: unknown) => {
    onFail(v.item, e);
    live.splice(live.indexOf(v), 1);
    await v.session.release().catch(() => undefined);
  };
  try {
    for (const item of items) {
      try {
        const e = entry(item);
        const session = await rt.createSession(e.model, { sideBySide: true });
        live.push({ ...e, item, session, feeds: session.feeds(e.inputs), warmMs: Infinity, output: {} });
      } catch (e) {
        onFail(item, e);
      }
    }
    // warm-up, in rounds too; the fastest warm run of each sizes the rounds to the budget
    for (let w = 0; w < Math.max(1, o.policy.warmup); w++) {
      for (const v of [...live]) {
        try {
          const [ms] = await timeRuns(1, async () => (v.output = await v.session.run(v.feeds)), rt.now);
          v.warmMs = Math.min(v.warmMs, ms!);
        } catch (e) {
          await drop(v, e);
        }
      }
    }
    if (live.length === 0) return { timed: [], budgetLimited: false };
    const plan = plannedRounds(o, o.wanted, live.length, live.reduce((a, v) => a + v.warmMs, 0));
    let runs = 0;
    const samples = await runRounds(live, plan.rounds, async (v, round) => {
      const [ms] = await timeRuns(1, () => v.session.run(v.feeds), rt.now);
      if (++runs % live.length === 0) {
        o.onRound?.(round + 1, plan.rounds);
        await rt.pause?.();
      }
      return ms!;
    });
    // a run the clock reads as 0 ms (a page that is not cross-origin isolated ticks in 0.1 ms) is no time: that contender fails, it is never recorded as one
    const timed: Timed<T>[] = [];
    live.forEach((v, i) => {
      const tooFast = samples[i]!.find((ms) => !(ms > 0));
      if (tooFast === undefined) timed.push({ item: v.item, inputs: v.inputs, samples: samples[i]!, output: v.output });
      else onFail(v.item, new Error(`a timed run read ${tooFast} ms: faster than the clock can tell (${rt.name}); use a larger shape, or a cross-origin isolated page for a finer clock`));
    });
    return { timed, budgetLimited: plan.budgetLimited };
  } finally {
    for (const v of live.splice(0)) await v.session.release();
  }
}

/** Where a run stands: the estimated milliseconds done of the total, and what runs now. */
export interface RunProgress {
  doneMs: number;
  totalMs: number;
  label: string;
}

export interface Configurations<G, R, F> {
  groups: readonly G[];
  /** Predicted milliseconds of each group (for the progress). */
  estimates: readonly number[];
  label: (g: G) => string;
  measure: (g: G, onRound: (done: number, planned: number) => void) => Promise<{ results: R[]; failures: F[] }>;
  /** The failures of a group that could not run at all (e.g. refused for memory). */
  failAll: (g: G, e: unknown) => F[];
  /** Before group i (i > 0): probe the ceilings again, say. */
  between?: (i: number, tell: (label: string) => void) => Promise<void>;
  /** Each group's results and failures, before the next group starts. */
  sink?: (results: readonly R[], failures: readonly F[]) => void | Promise<void>;
  onFailure?: (f: F) => void;
  onProgress?: (p: RunProgress, finished?: G) => void;
  /** Stops the run between groups (a cancel). */
  signal?: AbortSignal;
}

/** Run every group in order; what each finishes is handed on before the next starts. */
export async function runConfigurations<G, R, F>(rt: Runtime, c: Configurations<G, R, F>): Promise<{ results: R[]; failures: F[]; cancelled: boolean }> {
  const progress: RunProgress = { doneMs: 0, totalMs: c.estimates.reduce((a, b) => a + b, 0), label: '' };
  const tell = (p: Partial<RunProgress>, finished?: G) => c.onProgress?.(Object.assign(progress, p), finished);
  const results: R[] = [];
  const failures: F[] = [];
  for (const [i, g] of c.groups.entries()) {
    if (c.signal?.aborted) return { results, failures, cancelled: true };
    if (i > 0) await c.between?.(i, (label) => tell({ label }));
    const label = c.label(g);
    const start = progress.doneMs;
    tell({ label });
    let out: { results: R[]; failures: F[] };
    try {
      out = await c.measure(g, (r, n) => tell({ doneMs: start + (c.estimates[i]! * r) / (n + 2), label: `${label}, round ${r}/${n}` }));
    } catch (e) {
      out = { results: [], failures: c.failAll(g, e) };
    }
    results.push(...out.results);
    failures.push(...out.failures);
    for (const f of out.failures) c.onFailure?.(f);
    await c.sink?.(out.results, out.failures);
    tell({ doneMs: start + c.estimates[i]! }, g);
    await rt.pause?.();
  }
  return { results, failures, cancelled: false };
}
