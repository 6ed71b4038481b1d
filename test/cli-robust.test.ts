/**
 * `attnbench layers` under interruptions and concurrent runs, end to end through the real
 * launcher: a sweep killed twice, each time with a torn journal, resumes to a complete file
 * with every finished configuration kept; a second run on the same output is refused while
 * the first holds it; a journal of finished work is not discarded without --overwrite; and
 * no error reaches the user as a stack trace.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { failWith } from '../src/cli/fail.ts';
import { UsageError } from '../src/core/errors.ts';
import { journalPath, readJournal, readLayerFile } from '../src/results/io.ts';
import { lockPath } from '../src/results/lock.ts';
import type { LayerResult } from '../src/results/schema.ts';
import { cli, exited, killOutright, startCli as start, TEST_LIMIT_MS, tmpDir, waitFor } from './helpers.ts';

const TINY = ['layers', '--variants', 'multi-head', '--batch', '1', '--heads', '2', '--head-dim', '8', '--threads', '1', '--repeats', '3', '--warmup', '1', '--profile-runs', '0', '--no-progress'];
// enough configurations that a resumed run still has work left when it is killed again
const SEQS = ['--seq', '8-256+8'];

const held = (out: string): LayerResult[] => readJournal(journalPath(out));

test('a sweep killed twice, each time mid-write, resumes to a complete result that keeps every finished configuration', { timeout: TEST_LIMIT_MS }, async () => {
  const out = path.join(tmpDir(), 'r.json');
  const kept = new Map<number, number[]>();
  const remember = () => held(out).forEach((r) => kept.set(r.seq, r.ms.samples));

  // first run: killed once it has finished two configurations; then a torn line, as a kill in the middle of a write leaves
  const first = start([...TINY, ...SEQS, '--out', out]);
  await waitFor('two finished configurations', () => held(out).length >= 2);
  await killOutright(first.child);
  remember();
  fs.appendFileSync(journalPath(out), '{"kind":"result","session":0,"result":{"variant":"multi-he');

  // second run resumes: killed again after one more configuration, and torn again
  const second = start([...TINY, ...SEQS, '--out', out, '--resume']);
  await waitFor('one more finished configuration', () => held(out).length > kept.size);
  await killOutright(second.child);
  assert.ok(!/Error|\n\s+at /.test(second.stderr()), second.stderr());
  remember();
  fs.appendFileSync(journalPath(out), '{"variant":"multi-head","mode":"se');

  // third run finishes
  const third = cli([...TINY, ...SEQS, '--out', out, '--resume']);
  assert.equal(third.status, 0, third.stderr);
  const file = readLayerFile(out);
  assert.deepEqual(file.results.map((r) => r.seq), Array.from({ length: 32 }, (_, i) => 8 * (i + 1)), 'every configuration, in the grid order');
  for (const [seq, samples] of kept) {
    assert.deepEqual(file.results.find((r) => r.seq === seq)!.ms.samples, samples, `seq ${seq}: measured once, kept, not re-run`);
  }
  assert.ok(kept.size >= 3);
  assert.ok(!fs.existsSync(journalPath(out)) && !fs.existsSync(lockPath(out)), 'journal and lock are gone once the file is written');
});

test('two runs on one output: the second is refused naming the first, which finishes with nothing lost', { timeout: TEST_LIMIT_MS }, async () => {
  const out = path.join(tmpDir(), 'r.json');
  // long enough that the second run starts while the first still holds the output: the full ceiling probes alone take seconds
  const first = start([...TINY, ...SEQS, '--out', out], { env: { ATTNBENCH_PROBES: 'full' } });
  await waitFor('the first run to hold its lock', () => fs.existsSync(lockPath(out)));
  const holder = (JSON.parse(fs.readFileSync(lockPath(out), 'utf8')) as { pid: number }).pid;
  const journalBefore = fs.existsSync(journalPath(out)) ? fs.readFileSync(journalPath(out)) : null;
  const second = cli([...TINY, ...SEQS, '--out', out]);
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`^attnbench: error: ${out.replace(/[/.]/g, '\\$&')}: in use by another attnbench run \\(PID ${holder}, started [^)]+\\); wait for it to end or stop it \\(lock: [^)]+\\)\\n$`));
  if (journalBefore) assert.ok(fs.readFileSync(journalPath(out)).subarray(0, journalBefore.length).equals(journalBefore), "the second run did not touch the first's journal");
  await exited(first.child);
  assert.equal(first.child.exitCode, 0, first.stderr());
  assert.deepEqual(readLayerFile(out).results.map((r) => r.seq), Array.from({ length: 32 }, (_, i) => 8 * (i + 1)), "the first run's results are whole");
  assert.ok(!fs.existsSync(lockPath(out)));
});

test('a journal of finished work is not discarded without --overwrite', { timeout: TEST_LIMIT_MS }, async () => {
  const out = path.join(tmpDir(), 'r.json');
  const run = start([...TINY, ...SEQS, '--out', out]);
  await waitFor('a finished configuration', () => held(out).length >= 1);
  await killOutright(run.child);
  const bytes = fs.readFileSync(journalPath(out));
  const n = held(out).length;
  const again = cli([...TINY, ...SEQS, '--out', out]);
  assert.equal(again.status, 2, again.stderr);
  // a note that the killed run's stale lock was taken over, then the refusal
  const lines = again.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^note: taking over the stale lock of PID \d+ \(started [^,]+, no longer running\)$/);
  assert.match(lines.at(-1)!, new RegExp(`^attnbench: error: .*journal\\.jsonl: holds ${n} finished result\\(s\\) of an earlier run; continue it with --resume, or discard them with --overwrite$`));
  assert.equal(lines.length, 2, again.stderr);
  assert.deepEqual(fs.readFileSync(journalPath(out)), bytes, 'the journal is untouched');
  const overwrite = cli([...TINY, '--seq', '8', '--out', out, '--overwrite']);
  assert.equal(overwrite.status, 0, overwrite.stderr);
  assert.deepEqual(readLayerFile(out).results.map((r) => r.seq), [8]);
});

test('no error reaches the user as a stack trace: unexpected ones are one line asking for a report, exit 1', () => {
  const lines: string[] = [];
  const write = (t: string) => lines.push(t);
  assert.equal(failWith(new UsageError('--batch: bad\nsecond line'), write), 2);
  assert.equal(failWith(new TypeError("Cannot read properties of undefined (reading 'x')"), write), 1);
  assert.equal(failWith('a string thrown', write), 1);
  assert.deepEqual(lines, [
    'attnbench: error: --batch: bad second line\n',
    "attnbench: unexpected error: TypeError: Cannot read properties of undefined (reading 'x') (a bug in attnbench: please report it with the command you ran; ATTNBENCH_DEBUG=1 shows where it happened)\n",
    'attnbench: unexpected error: a string thrown (a bug in attnbench: please report it with the command you ran; ATTNBENCH_DEBUG=1 shows where it happened)\n',
  ]);
});
