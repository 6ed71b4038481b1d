/** Bootstrap intervals of a ratio of medians, and the rotating round order of interleaved runs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ratioInterval } from '../src/timing/interval.ts';
import { roundOrder, runRounds } from '../src/timing/rounds.ts';
import { Rng } from '../src/core/rng.ts';

test('a paired interval follows the rounds: drift shared by both sides cancels', () => {
  // the host slows down over 12 rounds (×1 to ×3); B is always 2× faster than A in the same round
  const drift = Array.from({ length: 12 }, (_, i) => 1 + (2 * i) / 11);
  const a = drift.map((d) => 10 * d);
  const b = drift.map((d) => 5 * d);
  const paired = ratioInterval(a, b, { paired: true });
  assert.equal(paired.ratio, 2);
  assert.equal(paired.low, 2);
  assert.equal(paired.high, 2);
  // unpaired, the same numbers look uncertain: the drift is not known to be shared
  const unpaired = ratioInterval(a, b, { paired: false });
  assert.ok(unpaired.low < 1.6 && unpaired.high > 2.4, `${unpaired.low}–${unpaired.high}`);
});

test('the 95 % interval covers the true ratio about 95 % of the time', () => {
  const rng = new Rng(3);
  let covered = 0;
  const trials = 200;
  for (let t = 0; t < trials; t++) {
    // lognormal noise around medians 12 and 8: true ratio 1.5
    const a = Array.from({ length: 15 }, () => 12 * Math.exp(0.2 * rng.normal()));
    const b = Array.from({ length: 15 }, () => 8 * Math.exp(0.2 * rng.normal()));
    const ci = ratioInterval(a, b, { paired: false, resamples: 400, seed: t });
    if (ci.low <= 1.5 && 1.5 <= ci.high) covered++;
  }
  assert.ok(covered / trials > 0.88 && covered / trials <= 1, `coverage ${covered / trials}`);
});

test('paired samples must have the same length; empty samples are refused', () => {
  assert.throws(() => ratioInterval([1, 2], [1], { paired: true }), /differ in length/);
  assert.throws(() => ratioInterval([], [1], { paired: false }), /no samples/);
});

test('rounds rotate: every item starts one round, and sample r of each item comes from round r', async () => {
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
  const log: string[] = [];
  const samples = await runRounds(['a', 'b'], 3, async (item, round) => {
    log.push(`${item}${round}`);
    return round * 10 + (item === 'a' ? 1 : 2);
  });
  assert.deepEqual(log, ['a0', 'b0', 'b1', 'a1', 'a2', 'b2']);
  assert.deepEqual(samples, [[1, 11, 21], [2, 12, 22]]);
});
