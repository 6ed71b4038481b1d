/**
 * What a run writes to the temporary folder (src/core/temp.ts), end to end through the real
 * launcher: a full or missing temporary folder is one line naming it, exit 2, not a bug
 * report; a run leaves nothing there, not even the engine's telemetry files (`.ses`,
 * `mat-debug-<PID>.log`); a folder left by a run killed outright goes with the next run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, launcherRunsDist, tmpDir } from './helpers.ts';

const TINY = ['layers', '--variants', 'multi-head', '--batch', '1', '--seq', '8', '--heads', '2', '--head-dim', '8', '--threads', '1', '--repeats', '3', '--warmup', '1', '--no-progress'];

/** What a run left in `dir` (tsx's compile cache aside: a checkout whose src/ is newer than its build runs through tsx, which keeps one there). */
const leftIn = (dir: string) => fs.readdirSync(dir).filter((n) => !n.startsWith('tsx-')).sort();

test('a run leaves nothing in the temporary folder: no profile, no engine telemetry file', () => {
  const tmp = tmpDir();
  const r = cli(TINY, { env: { TMPDIR: tmp } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(leftIn(tmp), [], 'the run folder, the profiler traces, .ses and mat-debug-<PID>.log are all gone');
});

test("a folder left by a run killed outright is removed by the next run; another live process's is kept", () => {
  const tmp = tmpDir();
  // a PID that is not running: beyond the kernel's largest
  const dead = path.join(tmp, 'attnbench-run-4194305-abcdef');
  fs.mkdirSync(dead);
  fs.writeFileSync(path.join(dead, 'mat-debug-4194305.log'), '');
  const live = path.join(tmp, `attnbench-run-${process.pid}-abcdef`);
  fs.mkdirSync(live);
  const r = cli(TINY, { env: { TMPDIR: tmp } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(leftIn(tmp), [path.basename(live)]);
});

test('a temporary folder that does not exist is one line naming it, exit 2', (t) => {
  // tsx makes the folder for its cache (or dies of a folder it cannot make) before attnbench runs
  if (!launcherRunsDist()) return t.skip('src/ is newer than the build, so the launcher runs it through tsx, which needs TMPDIR itself: npm run build first');
  const missing = path.join(tmpDir(), 'gone');
  const r = cli(TINY, { env: { TMPDIR: missing } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim().split('\n').at(-1)!, new RegExp(`^attnbench: error: the temporary folder ${missing.replace(/[/.]/g, '\\$&')} cannot be used \\(.*\\); free space there, or point TMPDIR at a folder with room that attnbench can write$`));
  assert.doesNotMatch(r.stderr, /unexpected error|a bug in attnbench/);
});

test('a full temporary folder is one line naming it, exit 2, not a bug', (t) => {
  const mount = path.join(tmpDir(), 'full');
  fs.mkdirSync(mount);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount], { encoding: 'utf8' });
  if (m.status !== 0) return t.skip(`a full file system needs a small tmpfs, and this process may not mount one (${(m.stderr || m.error?.message || '').trim()})`);
  try {
    // fill it: what is left is less than a profile needs
    spawnSync('dd', ['if=/dev/zero', `of=${path.join(mount, 'fill')}`, 'bs=1k', 'count=100'], { encoding: 'utf8' });
    const r = cli(TINY, { env: { TMPDIR: mount } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim().split('\n').at(-1)!, /^attnbench: error: the temporary folder .*full cannot be used \(0\.00 MiB free, 16 MiB needed\); free space there, or point TMPDIR at a folder/);
    assert.doesNotMatch(r.stderr, /unexpected error|SyntaxError/);
    assert.deepEqual(leftIn(mount), ['fill'], 'no engine telemetry file, no empty profile');
  } finally {
    spawnSync('umount', [mount]);
  }
});

test("the launcher's WebGPU probe leaves nothing in the temporary folder either", () => {
  const tmp = tmpDir();
  // --device webgpu makes the launcher probe the Vulkan drivers in child processes first (forced: not its cached choice)
  const r = cli(['layers', '--device', 'webgpu', '--help'], { env: { TMPDIR: tmp, ATTNBENCH_WEBGPU_PROBE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^attnbench: WebGPU on /, 'the probe ran');
  assert.deepEqual(leftIn(tmp), [], 'no .ses or mat-debug-<PID>.log from the probe child');
});
