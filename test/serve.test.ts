/**
 * `attnbench serve` and the headless browser run at their edges, end to end through the real
 * launcher: any web page can send the server requests (`<img src="http://127.0.0.1:PORT//[">`),
 * so hundreds of malformed requests get their 400, 405 or 404 and hundreds of aborted
 * downloads leave no file handle open, with the server answering throughout (and again under
 * a limit of 120 open files, which 100 leaked handles used to exhaust); a port out of range,
 * in use or not permitted is one line, exit 2; an interrupted browser run is one line and
 * exit 130 with nothing left in the temporary folder, and one killed outright leaves only a
 * folder named by its dead PID, which the next run removes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { listenRefusal, targetPath } from '../src/browser/server.ts';
import { parsePort } from '../src/cli/serve.ts';
import { UsageError } from '../src/core/errors.ts';
import { cli, exited, ROOT, startCli, TEST_LIMIT_MS, tmpDir, waitFor } from './helpers.ts';

const LAUNCHER = path.join(ROOT, 'bin/attnbench.js');
/** The largest file the server sends (14 MB): a download of it is never over when the client goes. */
const WASM = '/ort/ort-wasm-simd-threaded.wasm';
/** How long closing a few hundred connections and files may take on a busy machine. */
const CLOSE_LIMIT_MS = 60_000;

/** Start `serve --port 0` (optionally under a `wrap` command such as prlimit) and wait for the URL it prints. */
async function startServe(wrap: string[] = []): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const [cmd, ...args] = [...wrap, process.execPath, LAUNCHER, 'serve', '--port', '0'];
  const child = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /^http:\/\/127\.0\.0\.1:(\d+)\/$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code, signal) => reject(new Error(`serve ended (${code ?? signal}) before printing its URL: ${err}`)));
  });
  return { child, port, stderr: () => err };
}

/** The pid of the launcher's worker (the node process that serves). */
function workerOf(launcher: number): number | undefined {
  const tasks = fs.readdirSync(`/proc/${launcher}/task`);
  const children = tasks.flatMap((t) => fs.readFileSync(`/proc/${launcher}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  return children[0];
}

const openHandles = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;

/** Send `bytes` on a fresh connection and resolve with all the server sent back once it closes. */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => undefined); // a reset after the answer: what came is what counts
    s.on('close', () => resolve(got));
  });
}

/** Start a download of the big .wasm, take its first bytes, and go away. Resolves with the status line. */
function abortedDownload(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${WASM} HTTP/1.1\r\nHost: x\r\n\r\n`));
    s.once('data', (d: Buffer) => {
      s.destroy();
      resolve(d.toString('latin1').split('\r\n', 1)[0]!);
    });
    s.on('error', reject);
  });
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);

/** Requests no page of ours sends, and the status each must get. */
const MALFORMED: { what: string; bytes: string; status: number }[] = [
  { what: 'GET //', bytes: 'GET // HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { what: 'GET //[', bytes: 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { what: 'GET //a:99999/', bytes: 'GET //a:99999/ HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { what: 'GET ///', bytes: 'GET /// HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { what: 'an absolute target', bytes: 'GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
  { what: 'garbage bytes', bytes: '\x00\x01\x02\xff nonsense\r\n\r\n', status: 400 },
  { what: 'an overlong header', bytes: `GET / HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(20_000)}\r\n\r\n`, status: 400 },
  { what: 'a header without a colon', bytes: 'GET / HTTP/1.1\r\nHost x\r\n\r\n', status: 400 },
  { what: 'POST with a body', bytes: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', status: 405 },
  { what: 'PUT', bytes: 'PUT /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', status: 405 },
  { what: 'DELETE', bytes: 'DELETE /index.html HTTP/1.1\r\nHost: x\r\n\r\n', status: 405 },
  { what: 'BREW (no method node knows)', bytes: 'BREW / HTTP/1.1\r\nHost: x\r\n\r\n', status: 405 },
  { what: 'an unknown file', bytes: 'GET /no-such-file.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 404 },
  { what: 'a way out of the page folder', bytes: 'GET /ort/../package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 404 },
  { what: 'a bad escape', bytes: 'GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 404 },
];

/** `n` of `make()` at a time, `total` in all. */
async function inBatches<T>(total: number, n: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < total; i += n) out.push(...(await Promise.all(Array.from({ length: Math.min(n, total - i) }, (_, k) => make(i + k)))));
  return out;
}

/**
 * Hundreds of malformed requests and aborted downloads, each checked; then the server must
 * still be up, answer GET / with 200, and hold no more handles than before.
 */
async function hammer(s: { child: ChildProcess; port: number }, rounds: number): Promise<void> {
  const worker = await waitFor('the worker process', () => workerOf(s.child.pid!));
  const before = openHandles(worker);

  const answers = await inBatches(rounds * MALFORMED.length, 20, (i) => raw(s.port, MALFORMED[i % MALFORMED.length]!.bytes));
  answers.forEach((a, i) => {
    const c = MALFORMED[i % MALFORMED.length]!;
    assert.equal(statusOf(a), c.status, `${c.what}: ${JSON.stringify(a.split('\r\n', 1)[0])}`);
    if (c.status === 405) assert.match(a, /\r\nAllow: GET, HEAD\r\n/, `${c.what}: the Allow header`);
  });
  const downloads = await inBatches(rounds * 20, 20, () => abortedDownload(s.port));
  assert.ok(downloads.every((l) => /^HTTP\/1\.1 200 /.test(l)), 'every download started');

  assert.equal(s.child.exitCode, null, 'the server still runs');
  await waitFor(`the worker's open handles back to ${before}`, () => openHandles(worker) <= before, CLOSE_LIMIT_MS);
  assert.equal(statusOf(await raw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), 200, 'GET / after all that');
}

/** Interrupt `serve` as Ctrl-C does and check it ends as every run does: one line, death by SIGINT. */
async function interrupt(s: { child: ChildProcess; stderr: () => string }): Promise<void> {
  const ended = exited(s.child);
  s.child.kill('SIGINT');
  assert.deepEqual(await ended, { code: null, signal: 'SIGINT' });
  assert.equal(s.stderr().trim().split('\n').at(-1), 'attnbench: interrupted (SIGINT)');
}

test('serve answers every malformed request (400, 405 with Allow, 404) and every aborted download closes its file: the server keeps serving, its handles come back', { timeout: TEST_LIMIT_MS }, async () => {
  const s = await startServe();
  try {
    await hammer(s, 20); // 300 malformed requests, 400 aborted downloads
    await interrupt(s);
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('serve under a limit of 120 open files survives hundreds of aborted downloads and malformed requests', { timeout: TEST_LIMIT_MS }, async (t) => {
  if (spawnSync('prlimit', ['--version']).error) {
    t.skip('prlimit (util-linux) is not installed');
    return;
  }
  const s = await startServe(['prlimit', '--nofile=120:120']);
  try {
    await hammer(s, 10);
    await interrupt(s);
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('request targets: only a path that starts with one slash is one; its query goes', () => {
  assert.equal(targetPath('/'), '/');
  assert.equal(targetPath('/main.js?v=1#x'), '/main.js');
  for (const bad of ['//', '///', '//[', '//a:99999/', 'http://x/', '*', '', undefined]) assert.equal(targetPath(bad), undefined, String(bad));
});

test('--port: out of range, not a number, in use or not permitted is one line, exit 2; 0 is a free one', async () => {
  assert.equal(parsePort('0'), 0);
  assert.equal(parsePort('65535'), 65535);
  for (const [arg, line] of [
    ['70000', "attnbench: error: --port: 70000 is out of range (0 to 65535; 0 picks a free one)"],
    ['-1', "attnbench: error: --port: '-1' is not a port number (0 to 65535; 0 picks a free one)"],
    ['8o', "attnbench: error: --port: '8o' is not a port number (0 to 65535; 0 picks a free one)"],
  ] as const) {
    const r = cli(['serve', '--port', arg]);
    assert.equal(r.status, 2, arg);
    assert.equal(r.stderr, `${line}\n`, arg);
  }
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const r = cli(['serve', '--port', String(port)]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').at(-1), `attnbench: error: --port ${port}: the port is in use`);
  } finally {
    taken.close();
  }
  // a port below 1024 refuses only a user who is not root: the real refusal where the tests run as one, the message always
  if (process.getuid?.() !== 0) {
    const r = cli(['serve', '--port', '1']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').at(-1), 'attnbench: error: --port 1: not permitted to listen on it (ports below 1024 need root)');
  }
  const refusal = listenRefusal(80, Object.assign(new Error('listen EACCES'), { code: 'EACCES' }));
  assert.ok(refusal instanceof UsageError);
  assert.equal(refusal.message, '--port 80: not permitted to listen on it (ports below 1024 need root)');
});

/** A browser run's flags: a grid long enough that it is still running when the test acts on it. */
const BROWSER_RUN = ['layers', '--device', 'browser-wasm', '--variants', 'multi-head', '--batch', '1', '--heads', '2', '--head-dim', '8', '--repeats', '3', '--no-progress'];

/** What a run left in a temporary folder (tsx's cache aside: a checkout running src/ keeps it there on purpose). */
const leftIn = (dir: string) => fs.readdirSync(dir).filter((n) => !n.startsWith('tsx-')).sort();

/** Whether a process other than this one's own names `dir` on its command line (a browser launched with its profile there). */
function processesNaming(dir: string): number[] {
  return fs.readdirSync('/proc').flatMap((n) => {
    if (!/^\d+$/.test(n)) return [];
    try {
      return fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(dir) ? [Number(n)] : [];
    } catch {
      return [];
    }
  });
}

test('an interrupted browser run: one line saying so and what it keeps, exit by SIGINT, and no browser, profile or page left in TMPDIR', { timeout: TEST_LIMIT_MS }, async () => {
  const tmp = tmpDir();
  const out = path.join(tmpDir(), 'x.json');
  const run = startCli([...BROWSER_RUN, '--seq', '8-1024*2', '--out', out], { env: { TMPDIR: tmp } });
  await waitFor('the browser to start', () => run.stderr().includes(': in headless '));
  const ended = exited(run.child);
  process.kill(run.child.pid!, 'SIGINT');
  assert.deepEqual(await ended, { code: null, signal: 'SIGINT' });
  const last = run.stderr().trim().split('\n').at(-1)!;
  assert.match(last, /^attnbench: interrupted \(SIGINT\)(; \d+ finished result\(s\) kept in .*x\.json\.journal\.jsonl; --resume continues)?$/);
  assert.deepEqual(leftIn(tmp), [], 'nothing left in TMPDIR');
  assert.deepEqual(processesNaming(tmp), [], 'no browser left running');
});

test('a browser run killed outright leaves only a folder named by its dead PID (no playwright_* folder); the next run removes it and leaves nothing', { timeout: TEST_LIMIT_MS }, async () => {
  const tmp = tmpDir();
  const run = startCli([...BROWSER_RUN, '--seq', '8-1024*2'], { env: { TMPDIR: tmp } });
  await waitFor('the browser to start', () => run.stderr().includes(': in headless '));
  const worker = workerOf(run.child.pid!)!;
  process.kill(worker, 'SIGKILL');
  await exited(run.child);
  const left = leftIn(tmp);
  assert.equal(left.length, 1, `one folder: ${left.join(' ')}`);
  assert.match(left[0]!, new RegExp(`^attnbench-run-${worker}-`));
  assert.ok(fs.readdirSync(path.join(tmp, left[0]!)).some((n) => n.startsWith('chromium-')), "the browser's files are in it");
  // the browser ends on its own once its pipe to the dead worker closes
  await waitFor('the orphaned browser to end', () => processesNaming(tmp).length === 0);

  const r = cli([...BROWSER_RUN, '--seq', '8'], { env: { TMPDIR: tmp } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(leftIn(tmp), [], 'the dead run folder removed, and nothing of this run left');
});
