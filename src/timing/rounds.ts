/**
 * Interleaved measurement: in each round every item runs once, and the order rotates from
 * round to round (round r starts at item r mod k), so that a drifting host slows every item
 * alike and no item always runs first, or always right after the same neighbour.
 */

/** The order of round `round`. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const k = items.length;
  return Array.from({ length: k }, (_, i) => items[(i + round) % k]!);
}

/**
 * Run `rounds` rounds; `measure(item, round)` returns one sample (ms). Returns each item's
 * samples in round order, so sample r of every item comes from round r (paired).
 */
export async function runRounds<T>(items: readonly T[], rounds: number, measure: (item: T, round: number) => Promise<number>): Promise<number[][]> {
  const samples = items.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const item of roundOrder(items, r)) samples[items.indexOf(item)]!.push(await measure(item, r));
  }
  return samples;
}
