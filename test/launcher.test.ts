/**
 * bin/attnbench.js: the worker dies with its launcher (even one killed by SIGKILL, and under
 * npx, whose shell does not pass SIGTERM on), SIGTERM and SIGINT end it with the statuses a
 * shell reports as 143 and 130, and an edited src/ is run instead of a stale dist/.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exited, ROOT, TEST_LIMIT_MS, tmpDir, waitFor } from './helpers.ts';

const LAUNCHER = path.join(ROOT, 'bin/attnbench.js');

/** A sweep that runs for minutes (a million repeats) and writes --out only at its end. */
const longSweep = (out: string) => ['layers', '--variants', 'multi-head', '--batch', '1', '--seq', '8', '--heads', '2', '--head-dim', '8', '--threads', '1', '--repeats', '1000000', '--profile-runs', '0', '--no-progress', '--out', out];

/** Parent pid of every process, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      map.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // it ended while we looked
    }
  }
  return map;
}

/** Every process below `pid`. */
function descendants(pid: number): number[] {
  const all = parents();
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of all) if (parent === p) (found.push(child), walk(child));
  };
  walk(pid);
  return found;
}

/** The attnbench worker below `pid`: the node process that runs the CLI (dist/ or src/). */
function worker(pid: number): number | undefined {
  return descendants(pid).find((p) => {
    try {
      return /cli\/main\.(js|ts)/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));

/** Start a long sweep under `command`, and wait until the worker is measuring. */
async function startSweep(command: string, args: string[]): Promise<{ proc: ChildProcess; workerPid: number; stderr: () => string; dir: string; out: string }> {
  const dir = tmpDir();
  const out = path.join(dir, 'r.json');
  const proc = spawn(command, [...args, ...longSweep(out)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.resume();
  await waitFor('the sweep to start measuring', () => /layers: 1 configurations/.test(stderr));
  const workerPid = await waitFor('the worker', () => worker(proc.pid!));
  return { proc, workerPid, stderr: () => stderr, dir, out };
}

// the guard ends the worker about 2 s after its launcher dies (bin/worker-guard.js); the limits only catch a worker that outlives it for good, however busy the machine
test('kill -9 on the launcher: the worker is gone soon after and writes nothing later', { timeout: TEST_LIMIT_MS }, async () => {
  const run = await startSweep(process.execPath, [LAUNCHER]);
  const done = exited(run.proc);
  process.kill(run.proc.pid!, 'SIGKILL');
  await done;
  await waitFor('the worker to end', () => !alive(run.workerPid), 60_000);
  const files = () => fs.readdirSync(run.dir).sort().map((f) => `${f}:${fs.statSync(path.join(run.dir, f)).mtimeMs}`);
  const before = files();
  await sleep(3_000);
  assert.deepEqual(files(), before, 'nothing written after the worker ended');
  assert.ok(!fs.existsSync(run.out), 'no result file from a killed run');
  fs.rmSync(run.dir, { recursive: true, force: true });
});

for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} to the launcher ends the worker, and the shell sees status ${status}`, { timeout: TEST_LIMIT_MS }, async () => {
    // through sh, as a user or CI script runs it: the status is what `$?` shows
    const run = await startSweep('sh', ['-c', 'node "$0" "$@"; echo "status $?" >&2', LAUNCHER]);
    const launcher = await waitFor('the launcher', () => parents().get(run.workerPid));
    const done = exited(run.proc);
    process.kill(launcher, signal);
    const end = await done;
    assert.equal(end.code, 0, 'sh itself ran on to the echo');
    assert.match(run.stderr(), new RegExp(`status ${status}\\n$`));
    assert.ok(!alive(run.workerPid), 'the worker is gone');
    assert.ok(!fs.existsSync(run.out));
    fs.rmSync(run.dir, { recursive: true, force: true });
  });
}

test('SIGTERM to `npx attnbench` ends the worker too (npm\'s shell does not pass it on)', { timeout: TEST_LIMIT_MS }, async () => {
  const run = await startSweep('npx', ['--no-install', 'attnbench']);
  const done = exited(run.proc);
  run.proc.kill('SIGTERM');
  const end = await done;
  assert.ok(end.code === 143 || end.signal === 'SIGTERM', `npx ended with ${end.code ?? end.signal}`);
  await waitFor('the worker to end', () => !alive(run.workerPid), 60_000);
  await sleep(1_000);
  assert.ok(!fs.existsSync(run.out), 'no result file written later');
  fs.rmSync(run.dir, { recursive: true, force: true });
});

test('the launcher runs src/ through tsx when a file there is newer than the dist/ build', () => {
  // a copy of the package, so that editing its src/ disturbs nothing else
  const copy = tmpDir();
  for (const d of ['bin', 'src', 'dist']) fs.cpSync(path.join(ROOT, d), path.join(copy, d), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const version = () => spawnSync(process.execPath, [path.join(copy, 'bin/attnbench.js'), '--version'], { encoding: 'utf8' }).stdout.trim();
  // the copy's build is as new as its sources
  fs.writeFileSync(path.join(copy, 'dist/build.json'), JSON.stringify({ startedMs: Date.now() + 1000 }));
  assert.equal(version(), '0.1.0');

  // an edit after the build: the edited source runs
  const main = path.join(copy, 'src/cli/main.ts');
  fs.writeFileSync(main, fs.readFileSync(main, 'utf8').replace(".version('0.1.0')", ".version('0.1.0-edited')"));
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(main, later, later);
  assert.equal(version(), '0.1.0-edited');

  // and an installed package, which has no src/, runs dist/
  fs.rmSync(path.join(copy, 'src'), { recursive: true });
  assert.equal(version(), '0.1.0');
  fs.rmSync(copy, { recursive: true, force: true });
});
