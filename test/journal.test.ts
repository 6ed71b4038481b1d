/**
 * src/results/journal.ts: a journal survives any sequence of interruptions (torn tails cut
 * before appending, twice over, and a writer killed with SIGKILL mid-append), refuses a
 * foreign run's journal untouched and says what differs, and never discards finished work
 * without --overwrite.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { UsageError } from '../src/core/errors.ts';
import { identityDifferences, openJournal, readJournalFile } from '../src/results/journal.ts';
import { LayersConfig } from '../src/config/layers.ts';
import { runLayers } from '../src/commands/run-layers.ts';
import { journalPath, journalResults, LayerJournalEntry, layersIdentity } from '../src/results/io.ts';
import { ROOT, tmpDir } from './helpers.ts';

const Entry = z.object({ kind: z.literal('result'), i: z.number().int(), payload: z.string() });
type Entry = z.infer<typeof Entry>;
const IDENTITY = { version: '0.1.0', grid: { seq: [64, 128], batch: [8] }, settings: { threads: 2, repeats: 'auto' }, seed: 1 };
const entry = (i: number): Entry => ({ kind: 'result', i, payload: `result ${i}` });

const open = (file: string, o: { resume?: boolean; overwrite?: boolean; identity?: Record<string, unknown> } = {}) =>
  openJournal({ path: file, identity: o.identity ?? IDENTITY, entry: Entry, ...o });

test('a journal starts with a header naming the run, then one flushed line per entry', () => {
  const file = path.join(tmpDir(), 'r.json.journal.jsonl');
  const j = open(file);
  j.append(entry(0));
  j.append(entry(1));
  j.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.deepEqual(JSON.parse(lines[0]!), { kind: 'header', version: 1, identity: IDENTITY });
  assert.deepEqual(lines.slice(1), [JSON.stringify(entry(0)), JSON.stringify(entry(1)), '']);
  assert.throws(() => open(file).append({ kind: 'result', i: 1.5, payload: 'x' }), 'an entry the schema refuses is not written');
});

test('a double interruption with a torn journal: each resume cuts the torn tail, nothing finished is lost', () => {
  const file = path.join(tmpDir(), 'r.json.journal.jsonl');
  const first = open(file);
  first.append(entry(0));
  first.append(entry(1));
  first.close();
  // the process died mid-write: half a line, no newline
  fs.appendFileSync(file, '{"kind":"result","i":2,"pay');
  const notes: string[] = [];
  const second = openJournal({ path: file, identity: IDENTITY, entry: Entry, resume: true, log: (l) => notes.push(l) });
  assert.equal(second.resumed, 2);
  assert.match(notes.join('\n'), /dropped a torn last line/);
  second.append(entry(2));
  second.close();
  // interrupted again, mid-write
  fs.appendFileSync(file, '{"kind":"resu');
  const third = open(file, { resume: true });
  assert.deepEqual(third.entries().map((e) => e.i), [0, 1, 2], 'every finished entry is still there');
  third.append(entry(3));
  third.close();
  // the file reads whole, line by line, with nothing torn
  const read = readJournalFile(file, Entry);
  assert.deepEqual(read.entries.map((e) => e.i), [0, 1, 2, 3]);
  assert.equal(read.tornBytes, 0);
  assert.ok(fs.readFileSync(file, 'utf8').endsWith('\n'));
});

test('a writer killed with SIGKILL in the middle of appending: the journal resumes with every whole entry', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'r.json.journal.jsonl');
  // a kill at a random moment: in the validation, the write or the flush (the torn write itself is pinned down above)
  const script = `
    import { openJournal } from ${JSON.stringify(path.join(ROOT, 'src/results/journal.ts'))};
    import { z } from 'zod';
    const Entry = z.object({ kind: z.literal('result'), i: z.number().int(), payload: z.string() });
    const j = openJournal({ path: ${JSON.stringify(file)}, identity: ${JSON.stringify(IDENTITY)}, entry: Entry });
    const payload = 'x'.repeat(4 * 2 ** 20);
    for (let i = 0; ; i++) { j.append({ kind: 'result', i, payload }); process.stdout.write(i + '\\n'); }
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let written = -1;
  child.stdout.on('data', (d: Buffer) => (written = Number(d.toString().trim().split('\n').at(-1))));
  while (written < 3) await sleep(5);
  await sleep(Math.random() * 50);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const before = readJournalFile(file, Entry);
  assert.ok(before.entries.length >= 4, `at least the 4 acknowledged entries are whole (${before.entries.length}, torn ${before.tornBytes} bytes)`);
  const j = open(file, { resume: true });
  const held = j.entries().map((e) => e.i);
  assert.deepEqual(held, Array.from({ length: held.length }, (_, i) => i), 'entries in order, none missing');
  j.append(entry(held.length));
  j.close();
  const after = readJournalFile(file, Entry);
  assert.equal(after.tornBytes, 0);
  assert.equal(after.entries.at(-1)!.i, held.length);
});

test("resuming another run's journal is refused, says what differs, and leaves the journal byte for byte", () => {
  const file = path.join(tmpDir(), 'r.json.journal.jsonl');
  const j = open(file);
  j.append(entry(0));
  j.close();
  fs.appendFileSync(file, '{"kind":"res'); // torn, too: even that must stay as it is
  const bytes = fs.readFileSync(file);
  const other = { ...IDENTITY, grid: { seq: [64], batch: [8] }, settings: { threads: 4, repeats: 'auto' } };
  assert.throws(
    () => open(file, { resume: true, identity: other }),
    (e: Error) =>
      e instanceof UsageError &&
      /belongs to another run, left as it is/.test(e.message) &&
      e.message.includes('grid.seq: [64] now, [64,128] in the journal') &&
      e.message.includes('settings.threads: 4 now, 2 in the journal') &&
      !e.message.includes('\n'),
  );
  assert.deepEqual(fs.readFileSync(file), bytes);
  assert.deepEqual(identityDifferences({ a: 1, b: { c: [1] } }, { a: 1, b: { c: [1] }, d: 'x' }), ['d: absent now, "x" in the journal']);
});

test('a journal of finished work is not discarded without --overwrite; a header alone is', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'r.json.journal.jsonl');
  const j = open(file);
  j.append(entry(0));
  j.close();
  const bytes = fs.readFileSync(file);
  assert.throws(() => open(file), (e: Error) => e instanceof UsageError && /holds 1 finished result\(s\) of an earlier run; continue it with --resume, or discard them with --overwrite/.test(e.message));
  assert.deepEqual(fs.readFileSync(file), bytes, 'refused: untouched');
  const fresh = open(file, { overwrite: true });
  assert.deepEqual(fresh.entries(), []);
  fresh.close();
  assert.equal(fs.readFileSync(file, 'utf8').split('\n').length, 2, 'only the header is left');
  // a journal with no finished work (a header only) is simply started again
  open(file).close();
  // resuming with no journal at all starts one
  const started = open(path.join(dir, 'new.jsonl'), { resume: true });
  assert.equal(started.resumed, 0);
});

test('a journal that is damaged in the middle is refused, naming the line', () => {
  const file = path.join(tmpDir(), 'r.json.journal.jsonl');
  const j = open(file);
  j.append(entry(0));
  j.close();
  fs.appendFileSync(file, 'not json\n' + JSON.stringify(entry(2)) + '\n');
  assert.throws(() => open(file, { resume: true }), /line 3 is not JSON/);
  fs.writeFileSync(file, JSON.stringify(entry(0)) + '\n');
  assert.throws(() => open(file, { resume: true }), /line 1 is not a journal header/);
});

test("a layer sweep's journal names its run and each result's ceilings: another grid is refused, finished work kept, the bounds the fastest of every session", async () => {
  const out = path.join(tmpDir(), 'r.json');
  const sweep = { variants: ['multi-head'], batch: [2], seq: [8, 16], heads: 4, headDim: 8, repeats: 2, warmup: 1, profileRuns: 0 };
  const quiet = { out, quickCeilings: true, progress: false, log: () => {} };
  // interrupted after its first configuration
  await assert.rejects(runLayers(sweep, { ...quiet, onResult: () => { throw new Error('interrupted'); } }), /interrupted/);
  const found = readJournalFile(journalPath(out), LayerJournalEntry);
  assert.deepEqual(found.header!.identity, layersIdentity(LayersConfig.parse(sweep)));
  assert.deepEqual(found.header!.identity.seq, [8, 16]);
  assert.deepEqual(found.entries.map((e) => [e.kind, e.session]), [['ceilings', 0], ['result', 0]]);
  const first = journalResults(found.entries)[0]!;
  const bytes = fs.readFileSync(journalPath(out));

  await assert.rejects(runLayers({ ...sweep, seq: [8, 32] }, { ...quiet, resume: true }), (e: Error) => e instanceof UsageError && /belongs to another run, left as it is; it differs in seq: \[8,32\] now, \[8,16\] in the journal$/.test(e.message));
  await assert.rejects(runLayers({ ...sweep, repeats: 3 }, { ...quiet, resume: true }), /it differs in repeats: 3 now, 2 in the journal/);
  await assert.rejects(runLayers(sweep, quiet), /holds 1 finished result\(s\) of an earlier run; continue it with --resume, or discard them with --overwrite/);
  assert.deepEqual(fs.readFileSync(journalPath(out)), bytes, 'every refusal left the journal as it was');

  const file = await runLayers(sweep, { ...quiet, resume: true });
  assert.deepEqual(file.results.map((r) => r.seq), [8, 16]);
  assert.deepEqual(file.results[0]!.ms.samples, first.ms.samples, 'the finished configuration is kept, not measured again');
  assert.ok(file.environment.ceilings!.probes.length >= 2, "the bounds are the fastest of the earlier session's probing and this one's");
  assert.ok(!fs.existsSync(journalPath(out)), 'the journal goes once the file is written');
});
