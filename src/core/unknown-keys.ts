/**
 * Refusing a key nobody reads. A misspelled option (`profiledRuns` for `profileRuns`) would
 * otherwise be dropped without a word and the run would go on with the default, measuring
 * something else than was asked; so an unknown key is an error that names it and the
 * nearest key that exists, the spelling the caller most likely meant.
 */
import { UsageError } from './errors.ts';

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * The known key closest to `key` (case ignored), if one is close enough to be a likely
 * misspelling: at most a third of its letters differ, or one is the other cut short
 * (`sequence` for `seq`, `quickCeiling` for `quickCeilings`).
 */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const n = name.toLowerCase();
    const cut = Math.min(k.length, n.length) >= 3 && (k.startsWith(n) || n.startsWith(k));
    const d = cut ? 1 : editDistance(k, n);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.ceil(key.length / 3)) ? best.name : undefined;
}

/** "unknown option 'profiledRuns' (did you mean 'profileRuns'?)", or the known keys when none is near. */
export function unknownKeyMessage(key: string, known: readonly string[], what = 'option'): string {
  const near = nearestKey(key, known);
  return `unknown ${what} '${key}' (${near !== undefined ? `did you mean '${near}'?` : `known: ${known.join(', ')}`})`;
}

/** Refuse the first key of `given` that is not in `known` (a UsageError naming it and the nearest known key). */
export function refuseUnknownKeys(given: object | undefined, known: readonly string[], what = 'option'): void {
  if (given === undefined || given === null) return;
  const unknown = Object.keys(given).find((k) => !known.includes(k));
  if (unknown !== undefined) throw new UsageError(unknownKeyMessage(unknown, known, what));
}
