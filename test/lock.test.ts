/**
 * One run per output (src/results/lock.ts) and nothing left behind (src/core/cleanup.ts): a
 * second holder is refused with the first one's PID, a stale lock is taken over with a note,
 * a lock and a temporary file go on every exit the process sees (normal end, error, SIGINT,
 * SIGTERM), and what SIGKILL leaves is recognised by its dead PID.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { writeFileAtomic } from '../src/core/files.ts';
import { acquireLock, lockPath } from '../src/results/lock.ts';
import { exited, ROOT, tmpDir, waitFor } from './helpers.ts';

const LOCK = JSON.stringify(path.join(ROOT, 'src/results/lock.ts'));
const FILES = JSON.stringify(path.join(ROOT, 'src/core/files.ts'));

/** A node child running `script` (an ES module, TypeScript imports through tsx). */
function child(script: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A child that takes the lock of `out`, says so, and waits to be ended. */
const holder = (out: string) => child(`
  import { acquireLock } from ${LOCK};
  acquireLock(${JSON.stringify(out)});
  process.stdout.write('locked\\n');
  setInterval(() => {}, 1000);
`);

test('a second holder is refused with the PID of the first; the lock goes when the first ends', async () => {
  const out = path.join(tmpDir(), 'r.json');
  const first = holder(out);
  let said = '';
  first.stdout!.on('data', (d: Buffer) => (said += d));
  await waitFor('the first holder', () => said.includes('locked'));
  const record = JSON.parse(fs.readFileSync(lockPath(out), 'utf8')) as { pid: number };
  assert.equal(record.pid, first.pid);
  assert.throws(
    () => acquireLock(out),
    (e: Error) => e instanceof UsageError && e.message.includes(`in use by another attnbench run (PID ${first.pid}`) && !e.message.includes('\n'),
  );
  first.kill('SIGTERM');
  const end = await exited(first);
  assert.equal(end.signal, 'SIGTERM', 'it dies of the signal (its parent sees 143)');
  assert.ok(!fs.existsSync(lockPath(out)), 'SIGTERM released the lock');
  const mine = acquireLock(out);
  mine.release();
  assert.ok(!fs.existsSync(lockPath(out)));
});

test('the lock is released on a normal end, an error and SIGINT', async () => {
  const dir = tmpDir();
  for (const [how, tail, expect] of [
    ['normal end', '', { code: 0, signal: null }],
    ['error', "throw new Error('boom');", { code: 1, signal: null }],
    ['SIGINT', "process.kill(process.pid, 'SIGINT'); setInterval(() => {}, 1000);", { code: null, signal: 'SIGINT' }],
  ] as const) {
    const out = path.join(dir, `${how}.json`);
    const c = child(`import { acquireLock } from ${LOCK}; acquireLock(${JSON.stringify(out)}); ${tail}`);
    const end = await exited(c);
    assert.deepEqual(end, expect, how);
    assert.ok(!fs.existsSync(lockPath(out)), `${how}: lock released`);
  }
});

test('a stale lock (its holder killed outright) is taken over with a note', async () => {
  const out = path.join(tmpDir(), 'r.json');
  const first = holder(out);
  let said = '';
  first.stdout!.on('data', (d: Buffer) => (said += d));
  await waitFor('the first holder', () => said.includes('locked'));
  first.kill('SIGKILL');
  await exited(first);
  assert.ok(fs.existsSync(lockPath(out)), 'SIGKILL leaves the lock behind');
  const notes: string[] = [];
  const lock = acquireLock(out, { log: (l) => notes.push(l) });
  assert.equal(lock.tookOver?.pid, first.pid);
  assert.match(notes.join('\n'), new RegExp(`taking over the stale lock of PID ${first.pid} .*no longer running`));
  assert.equal((JSON.parse(fs.readFileSync(lockPath(out), 'utf8')) as { pid: number }).pid, process.pid);
  // re-entrant within a process: the file goes with the last holder
  const again = acquireLock(out);
  again.release();
  assert.ok(fs.existsSync(lockPath(out)));
  lock.release();
  assert.ok(!fs.existsSync(lockPath(out)));
});

test('a lock of a PID that now belongs to another process (reused) is stale', () => {
  const out = path.join(tmpDir(), 'r.json');
  // PID 1 runs, but it did not start when this record says
  fs.writeFileSync(lockPath(out), JSON.stringify({ pid: 1, host: os.hostname(), startedAt: '2020-01-01T00:00:00.000Z', pidStart: -1, token: 'x', command: 'layers' }));
  const lock = acquireLock(out);
  assert.equal(lock.tookOver?.pid, 1);
  lock.release();
});

const temporaries = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));

test('temporary files: a SIGTERM during a write leaves none; SIGKILL leaves one, which the next write removes', async (t) => {
  const dir = tmpDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // writes of 64 MiB, one after another, with the event loop turning between them as in a real run
  const writer = () =>
    child(`
      import { writeFileAtomic } from ${FILES};
      const data = new Uint8Array(64 * 2 ** 20);
      for (;;) {
        writeFileAtomic(${JSON.stringify(path.join(dir, 'big.bin'))}, data);
        await new Promise((resolve) => setImmediate(resolve));
      }
    `);
  const term = writer();
  await waitFor('a temporary file', () => temporaries(dir).length > 0);
  // the signal lands while the temporary file exists: the write is finished (renamed) or removed, never left
  term.kill('SIGTERM');
  const end = await exited(term);
  assert.equal(end.signal, 'SIGTERM');
  assert.deepEqual(temporaries(dir), [], 'no temporary file is left after SIGTERM');
  assert.equal(fs.statSync(path.join(dir, 'big.bin')).size, 64 * 2 ** 20, 'the file is whole');

  const kill = writer();
  await waitFor('a temporary file', () => temporaries(dir).length > 0);
  kill.kill('SIGKILL');
  await exited(kill);
  const left = temporaries(dir);
  assert.ok(left.length > 0 && left.every((n) => n.includes(`-${kill.pid}-`)), 'SIGKILL leaves one, named by its PID');
  writeFileAtomic(path.join(dir, 'other.json'), '{}\n');
  assert.deepEqual(temporaries(dir), [], "the next write into the folder removes a dead writer's temporary file");
});
