/**
 * Every output checked before any work (src/core/outputs.ts, wired in every command): a
 * folder where a file goes, a file where a folder must be, an empty path, a read-only folder
 * for a user who is not root; one line naming the path and the reason, exit 2, nothing
 * measured. A final write that fails anyway leaves the results in a fallback file it names.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { checkOutputs, outputProblem, writeOrFallback } from '../src/core/outputs.ts';
import { runGenerate } from '../src/generate/run.ts';
import { runLayers } from '../src/commands/run-layers.ts';
import { GenerateResultFile, LayerResultFile } from '../src/results/schema.ts';
import { cli, EVENT_LIMIT_MS, ROOT, tmpDir } from './helpers.ts';

const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');
const SEED = path.join(ROOT, 'test/fixtures/seed-excerpt.json');
const TINY_LAYERS = ['layers', '--variants', 'multi-head', '--batch', '1', '--seq', '8', '--heads', '2', '--head-dim', '8', '--repeats', '3', '--warmup', '1', '--no-progress'];
const TINY_GEN = ['generate', '--layers', '1', '--hidden', '16', '--heads', '2', '--positions', '32', '--vocab', '50', '--attention', 'multi-head', '--batch', '1', '--prompt-length', '2', '--max-new-tokens', '2', '--repeats', '1', '--threads', '1', '--no-progress'];

/** The refusal every command gives: exactly one line, exit 2, and no sign that work started. */
function refused(r: { status: number | null; stdout: string; stderr: string }, pattern: RegExp, what: string): void {
  assert.equal(r.status, 2, `${what}: exit 2\n${r.stderr}`);
  assert.match(r.stderr, /^attnbench: error: [^\n]+\n$/, `${what}: one line on stderr`);
  assert.match(r.stderr, pattern, what);
  assert.doesNotMatch(r.stderr, /measuring|ceilings/, `${what}: refused before any measurement`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

test('what cannot be written is named with the reason; what can is accepted and nothing is created', () => {
  const dir = tmpDir();
  const afile = path.join(dir, 'afile');
  fs.writeFileSync(afile, 'x');
  const file = (p: string) => outputProblem({ flag: '--out', path: p, kind: 'file' });
  const folder = (p: string) => outputProblem({ flag: '--out', path: p, kind: 'folder' });
  assert.equal(file(dir), 'is a folder, not a file');
  assert.equal(file(path.join(afile, 'r.json')), `${afile} is a file, not a folder`);
  assert.equal(file(path.join(afile, 'deeper', 'r.json')), `${afile} is a file, not a folder`);
  assert.equal(file(''), 'is empty (give a path)');
  assert.match(file('/dev/null')!, /is not a regular file/);
  assert.match(file(path.join(dir, 'x'.repeat(300)))!, /longer than (255 bytes|the file system allows)/);
  assert.equal(folder(afile), 'exists and is not a folder');
  assert.equal(file(path.join(dir, 'new', 'deeper', 'r.json')), null);
  assert.equal(file(afile), null, 'an existing file is replaced');
  assert.equal(folder(path.join(dir, 'report')), null);
  assert.deepEqual(fs.readdirSync(dir), ['afile'], 'checking created nothing');
  assert.throws(
    () => checkOutputs([{ flag: '--out', path: path.join(dir, 'r.json'), kind: 'file' }, { flag: '--legacy-out', path: `${dir}/./r.json`, kind: 'file' }]),
    /--legacy-out .*: is the same file as --out/,
  );
});

test('bad outputs are refused before any work by every command, one line, exit 2', () => {
  const dir = tmpDir();
  const afile = path.join(dir, 'afile');
  fs.writeFileSync(afile, 'x');
  refused(cli([...TINY_LAYERS, '--out', dir]), /--out .*: is a folder, not a file/, 'layers --out DIR');
  refused(cli([...TINY_LAYERS, '--out', path.join(afile, 'r.json')]), /afile is a file, not a folder/, 'layers --out FILE/r.json');
  refused(cli([...TINY_LAYERS, '--out', '']), /--out "": is empty/, "layers --out ''");
  refused(cli([...TINY_LAYERS, '--legacy-out', path.join(afile, 'x.json')]), /--legacy-out .*afile is a file/, 'layers --legacy-out');
  refused(cli([...TINY_LAYERS, '--dump', afile]), /--dump .*: exists and is not a folder/, 'layers --dump FILE');
  refused(cli([...TINY_GEN, '--out', dir]), /--out .*: is a folder, not a file/, 'generate --out DIR');
  refused(cli([...TINY_GEN, '--out', '']), /--out "": is empty/, "generate --out ''");
  refused(cli(['report', LAYERS, '--out', afile]), /--out .*afile: exists and is not a folder/, 'report --out FILE');
  refused(cli(['report', LAYERS, '--out', '']), /--out "": is empty/, "report --out ''");
  refused(cli(['import-legacy', SEED, '--out', dir]), /--out .*: is a folder, not a file/, 'import-legacy --out DIR');
  refused(cli(['--out-dir', afile, '--variants', 'multi-head', '--seq', '8', '--no-progress']), /--out-dir .*afile: exists and is not a folder/, 'main job --out-dir FILE');
  refused(cli(['--out-dir', '', '--no-progress']), /--out-dir "": is empty/, "main job --out-dir ''");
  assert.deepEqual(fs.readdirSync(dir), ['afile'], 'nothing was written');
});

/** Run `command ARGS` as the unprivileged user nobody (the tests run as root, whom no permission stops). */
function asNobody(command: string, args: string[], cwd: string) {
  const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', command, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 2 * EVENT_LIMIT_MS,
    env: { ...process.env, HOME: os.tmpdir() },
  });
  if (r.error) throw new Error(`cannot run as an unprivileged user: setpriv (util-linux) is needed for this test: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The package as nobody can read it. A checkout in a folder other users cannot enter (a
 * `mktemp -d` folder, a home folder) is out of nobody's reach, so its files are linked (or,
 * across file systems, copied) into a folder in the temporary folder that nobody can read:
 * the launcher, the build, the dependencies and the fixtures, no src/ (so the build runs).
 * Without such a place either, it says why the test is skipped.
 */
function packageForNobody(): { root: string } | { skip: string } {
  const canRead = (p: string) => asNobody(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(p)}, require('fs').constants.R_OK)`], '/').status === 0;
  if (canRead(path.join(ROOT, 'bin/attnbench.js')) && canRead(path.join(ROOT, 'node_modules/commander/package.json'))) return { root: ROOT };
  const root = tmpDir('attnbench-for-nobody-');
  fs.chmodSync(root, 0o755);
  if (!canRead(root)) return { skip: `neither the checkout nor the temporary folder ${os.tmpdir()} can be read by another user` };
  fs.mkdirSync(path.join(root, 'test'), { mode: 0o755 });
  for (const part of ['bin', 'dist', 'schemas', 'package.json', 'node_modules', 'test/fixtures']) {
    const linked = spawnSync('cp', ['-al', path.join(ROOT, part), path.join(root, part)]);
    if (linked.status !== 0) fs.cpSync(path.join(ROOT, part), path.join(root, part), { recursive: true });
  }
  return { root };
}

test('a read-only folder, for a user who is not root: every command refuses it before any work', (t) => {
  const pkg = packageForNobody();
  if ('skip' in pkg) return t.skip(pkg.skip);
  const cli = (args: string[], cwd: string) => asNobody(process.execPath, [path.join(pkg.root, 'bin/attnbench.js'), ...args], cwd);
  const layers = path.join(pkg.root, 'test/fixtures/layers.json');
  const seed = path.join(pkg.root, 'test/fixtures/seed-excerpt.json');
  const dir = tmpDir();
  fs.chmodSync(dir, 0o755); // others may enter and read, not write
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro, { mode: 0o755 });
  const cwd = os.tmpdir();
  const denied = /cannot create files in .*ro \(EACCES: no write permission\)/;
  refused(cli([...TINY_LAYERS, '--out', path.join(ro, 'r.json')], cwd), denied, 'layers --out');
  refused(cli([...TINY_LAYERS, '--out', path.join(ro, 'sub', 'r.json')], cwd), denied, 'layers --out in a folder to create');
  refused(cli([...TINY_GEN, '--out', path.join(ro, 'g.json')], cwd), denied, 'generate --out');
  refused(cli(['report', layers, '--out', path.join(ro, 'report')], cwd), denied, 'report --out');
  refused(cli(['import-legacy', seed, '--out', path.join(ro, 'i.json')], cwd), denied, 'import-legacy --out');
  refused(cli(['--out-dir', path.join(ro, 'results'), '--no-progress'], cwd), denied, 'main job --out-dir');
  assert.deepEqual(fs.readdirSync(ro), [], 'nothing was written');
  if (pkg.root !== ROOT) fs.rmSync(pkg.root, { recursive: true, force: true });
});

test('a result that cannot be written at the end is saved to a fallback file the message names', async (t) => {
  const cwd = tmpDir();
  const home = process.cwd();
  process.chdir(cwd);
  t.after(() => process.chdir(home));

  // the unit: the data lands in the current folder under a name that says what it is
  const gone = path.join(cwd, 'gone');
  fs.writeFileSync(gone, 'x'); // a file where the result's folder should be
  assert.throws(
    () => writeOrFallback(path.join(gone, 'r.json'), '{"a":1}\n', 'layers'),
    (e: Error) => e instanceof UsageError && /r\.json: cannot write the result \(\w+\); the measured results were saved to .*attnbench-layers-\d+-.*\.json$/.test(e.message),
  );

  // a generation: the folder is replaced by a file after the check passed, while the work runs
  const genDir = path.join(cwd, 'gen');
  fs.mkdirSync(genDir);
  const genOut = path.join(genDir, 'g.json');
  const log = (line: string) => {
    if (line.startsWith('generate:')) {
      fs.rmSync(genDir, { recursive: true });
      fs.writeFileSync(genDir, 'in the way');
    }
  };
  const config = { layers: 1, hidden: 16, heads: 2, positions: 32, vocab: 50, attention: ['multi-head'], batch: 1, promptLength: 2, maxNewTokens: 2, repeats: 1, threads: 1 };
  let message = '';
  await assert.rejects(runGenerate(config, { out: genOut, progress: false, quickCeilings: true, log }), (e: Error) => ((message = e.message), e instanceof UsageError));
  const saved = /saved to (\S+attnbench-generate-\S+\.json)$/.exec(message)?.[1];
  assert.ok(saved, message);
  const rescued = GenerateResultFile.parse(JSON.parse(fs.readFileSync(saved, 'utf8')));
  assert.equal(rescued.results.length, 1, 'the generation measured is in the fallback file');

  // a layer sweep: the same
  const layerDir = path.join(cwd, 'layers');
  fs.mkdirSync(layerDir);
  const onResult = () => {
    fs.rmSync(layerDir, { recursive: true });
    fs.writeFileSync(layerDir, 'in the way');
  };
  await assert.rejects(
    runLayers({ variants: ['multi-head'], batch: [1], seq: [8], heads: 2, headDim: 8, repeats: 3, warmup: 1, threads: 1 }, { out: path.join(layerDir, 'r.json'), progress: false, quickCeilings: true, onResult, log: () => {} }),
    (e: Error) => ((message = e.message), e instanceof UsageError),
  );
  const layerSaved = /saved to (\S+attnbench-layers-\S+\.json)$/.exec(message)?.[1];
  assert.ok(layerSaved, message);
  assert.equal(LayerResultFile.parse(JSON.parse(fs.readFileSync(layerSaved, 'utf8'))).results.length, 1, 'the configuration measured is in the fallback file');
});
