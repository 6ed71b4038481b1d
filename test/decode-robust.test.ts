/**
 * `attnbench decode` as careful as `layers`, end to end through the real launcher: its
 * memory refused from the sizes alone, before any weights or probes; an interrupted
 * comparison keeps every finished configuration in its journal and `--resume` runs only the
 * rest; a journal of other settings is refused; a finished result file is never replaced
 * without --overwrite, by any command; one run per output, whichever path names it; and an
 * output name that is not UTF-8 is refused rather than written under another name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DecodeJournalEntry, journalPath, readRun } from '../src/results/io.ts';
import { readJournalFile } from '../src/results/journal.ts';
import { acquireLock, lockPath } from '../src/results/lock.ts';
import type { DecodeResult } from '../src/results/schema.ts';
import { cli, exited, ROOT, startCli, TEST_LIMIT_MS, tmpDir, waitFor } from './helpers.ts';

const TINY = ['decode', '--layers', '1', '--hidden', '32', '--heads', '4', '--vocab', '500', '--threads', '1', '--repeats', '3', '--warmup', '1', '--profile-runs', '0', '--no-progress'];
const CONTEXTS = ['--batch', '1', '--context', '16-512+16'];

/** The results a decode journal holds now (a torn last line, mid-write, is not one). */
function journaled(out: string): DecodeResult[] {
  if (!fs.existsSync(journalPath(out))) return [];
  return readJournalFile(journalPath(out), DecodeJournalEntry).entries.flatMap((e) => (e.kind === 'result' ? [e.result] : []));
}

const key = (r: Pick<DecodeResult, 'attention' | 'batch' | 'context'>) => `${r.attention} b${r.batch} c${r.context}`;

test('a huge --context or --batch is refused from its sizes in one line, exit 2, before any weights or probes', () => {
  const dir = tmpDir();
  for (const [flag, value, why] of [
    ['--context', '100000000', /^attnbench: error: --attention multi-head: the decoder's weights \(11\.9 GiB, the position table sized by --context 100000000 included\) exceed the 2 GiB/],
    ['--batch', '100000000', /^attnbench: error: --attention at batch 100000000, context 64: multi-head, multi-query-1, grouped-query:2, side by side: needs about \d+\.\d GiB of memory, only \d+\.\d GiB free\n$/],
  ] as const) {
    const args = ['decode', '--layers', '1', '--hidden', '32', '--heads', '4', '--vocab', '500', '--repeats', '3', '--context', '64', '--batch', '1', flag, value, '--out', path.join(dir, 'd.json')];
    const r = cli(args, { env: { ATTNBENCH_PROBES: 'full' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line, and no probe ran first: ${r.stderr}`);
  }
  // with the weights as inputs the 2 GiB model limit is gone; the memory still refuses it
  const input = cli([...TINY, '--weights', 'input', '--context', '100000000', '--batch', '1']);
  assert.equal(input.status, 2, input.stderr);
  assert.match(input.stderr, /^attnbench: error: --attention at batch 1, context 100000000: .*needs about \d+\.\d GiB of memory, only/);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
});

test('an interrupted decode keeps its finished configurations; --resume runs only the rest and keeps their samples', { timeout: TEST_LIMIT_MS }, async () => {
  const out = path.join(tmpDir(), 'd.json');
  const run = startCli([...TINY, ...CONTEXTS, '--out', out]);
  await waitFor('two finished configurations in the journal', () => journaled(out).length >= 6);
  // Ctrl-C: the terminal sends SIGINT to the whole foreground group
  process.kill(-run.child.pid!, 'SIGINT');
  const end = await exited(run.child);
  assert.ok(end.code === 130 || end.signal === 'SIGINT', `ended with ${end.code ?? end.signal}: ${run.stderr()}`);
  assert.match(run.stderr(), /\nattnbench: interrupted \(SIGINT\); \d+ finished result\(s\) kept in \S+d\.json\.journal\.jsonl; --resume continues\n$/, 'one line says what happened and what is kept');
  assert.doesNotMatch(run.stderr(), /unexpected error|a bug in attnbench/);
  assert.ok(!fs.existsSync(out), 'no result file from an interrupted run');
  assert.ok(!fs.existsSync(lockPath(out)), 'the lock went with the run');
  const kept = new Map(journaled(out).map((r) => [key(r), r.ms.samples]));
  assert.ok(kept.size >= 6 && kept.size % 3 === 0, `whole configurations kept: ${kept.size}`);

  // without --resume or --overwrite the finished work is not discarded
  const bytes = fs.readFileSync(journalPath(out));
  const again = cli([...TINY, ...CONTEXTS, '--out', out]);
  assert.equal(again.status, 2, again.stderr);
  assert.match(again.stderr, /journal\.jsonl: holds \d+ finished result\(s\) of an earlier run; continue it with --resume, or discard them with --overwrite\n$/);
  // another configuration may not resume it: the fields that differ are named, the journal untouched
  const other = cli([...TINY, '--batch', '2', '--context', '16-512+16', '--out', out, '--resume']);
  assert.equal(other.status, 2, other.stderr);
  assert.match(other.stderr, /^attnbench: error: --resume: .*d\.json\.journal\.jsonl belongs to another run, left as it is; it differs in batch: \[2\] now, \[1\] in the journal\n$/);
  assert.deepEqual(fs.readFileSync(journalPath(out)), bytes, 'the journal is untouched');

  const resumed = cli([...TINY, ...CONTEXTS, '--out', out, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`; ${kept.size} result\\(s\\) already in the journal`));
  const file = readRun(out);
  assert.equal(file.kind, 'decode');
  if (file.kind !== 'decode') return;
  assert.deepEqual(
    file.results.map((r) => r.context),
    Array.from({ length: 32 }, (_, i) => 16 * (i + 1)).flatMap((c) => [c, c, c]),
    'every configuration once, in the configuration order',
  );
  for (const [k, samples] of kept) assert.deepEqual(file.results.find((r) => key(r) === k)!.ms.samples, samples, `${k}: measured once, kept, not run again`);
  assert.ok(file.results.filter((r) => r.attention !== 'multi-head').every((r) => r.speedup !== null), 'every resumed configuration still has its speedups');
  assert.ok(!fs.existsSync(journalPath(out)) && !fs.existsSync(lockPath(out)), 'journal and lock gone once the file is written');

  // the report refuses a decode journal by name rather than reading it as a layer sweep's
  fs.writeFileSync(journalPath(out), bytes);
  const report = cli(['report', journalPath(out), '--out', path.join(path.dirname(out), 'report')]);
  assert.equal(report.status, 2, report.stderr);
  assert.match(report.stderr, /is the journal of a decode comparison, not of a layer sweep; finish it with 'attnbench decode --resume'/);
});

test('a finished result file is never replaced without --overwrite: decode, layers, generate, import-legacy, the main job', () => {
  const dir = tmpDir();
  const out = path.join(dir, 'r.json');
  const decode = [...TINY, '--batch', '1', '--context', '16', '--out', out];
  assert.equal(cli(decode).status, 0);
  const first = fs.readFileSync(out);
  const seed = path.join(ROOT, 'test/fixtures/seed-excerpt.json');
  for (const [what, args] of [
    ['decode', decode],
    ['layers', ['layers', '--variants', 'multi-head', '--batch', '1', '--seq', '8', '--heads', '2', '--head-dim', '8', '--repeats', '3', '--no-progress', '--out', out]],
    ['generate', ['generate', '--layers', '1', '--hidden', '16', '--heads', '2', '--vocab', '50', '--positions', '32', '--batch', '1', '--prompt-length', '2', '--max-new-tokens', '2', '--repeats', '1', '--no-progress', '--out', out]],
    ['import-legacy', ['import-legacy', seed, '--out', out]],
    ['layers --legacy-out', ['layers', '--variants', 'multi-head', '--batch', '1', '--seq', '8', '--heads', '2', '--head-dim', '8', '--repeats', '3', '--no-progress', '--legacy-out', out]],
  ] as const) {
    const r = cli([...args]);
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, /^attnbench: error: --(out|legacy-out) .*r\.json: exists and holds finished results; --overwrite replaces it, or give another path\n$/, what);
    assert.deepEqual(fs.readFileSync(out), first, `${what}: the file is untouched`);
  }
  // the main job's result files too
  const results = path.join(dir, 'results');
  fs.mkdirSync(results);
  fs.writeFileSync(path.join(results, 'generate.json'), first);
  const main = cli(['--out-dir', results, '--variants', 'multi-head', '--seq', '8', '--no-progress']);
  assert.equal(main.status, 2, main.stderr);
  assert.match(main.stderr, /^attnbench: error: --out-dir \(generate\.json\) .*: exists and holds finished results; --overwrite replaces it/);
  // --overwrite replaces it
  const replaced = cli([...decode.slice(0, -4), '--context', '32', '--out', out, '--overwrite']);
  assert.equal(replaced.status, 0, replaced.stderr);
  const file = readRun(out);
  assert.ok(file.kind === 'decode' && file.results.every((r) => r.context === 32));
});

test('one run per output by any path to it: a link to the file, or to its folder, takes the same lock', async () => {
  const dir = tmpDir();
  const real = path.join(dir, 'real');
  fs.mkdirSync(real);
  fs.symlinkSync(real, path.join(dir, 'via'));
  const out = path.join(real, 'd.json');
  fs.symlinkSync(out, path.join(dir, 'link.json')); // a link to a file that does not exist yet
  for (const other of [path.join(dir, 'via', 'd.json'), path.join(real, '..', 'real', 'd.json'), path.join(dir, 'link.json')]) assert.equal(lockPath(other), lockPath(out), other);
  const held = acquireLock(out);
  try {
    for (const other of [path.join(dir, 'via', 'd.json'), path.join(dir, 'link.json')]) {
      const r = cli([...TINY, '--batch', '1', '--context', '16', '--out', other, '--overwrite']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`in use by another attnbench run \\(PID ${process.pid}, `), other);
    }
  } finally {
    held.release();
  }
  assert.deepEqual(fs.readdirSync(real), [], 'nothing written while it was held');
});

test('an --out that is not UTF-8 is refused in one line, not written under another name', () => {
  const dir = tmpDir();
  // the shell passes the raw byte 0xff, which Node can only decode as U+FFFD
  const r = spawnSync('sh', ['-c', `exec "$0" "$1" decode --layers 1 --hidden 32 --heads 4 --vocab 500 --context 16 --batch 1 --out "$(printf 'd\\377.json')"`, process.execPath, path.join(ROOT, 'bin/attnbench.js')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ATTNBENCH_PROBES: 'quick' },
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^attnbench: error: --out d\uFFFD\.json: is not valid UTF-8 .*; give a UTF-8 path\n$/);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
});
