/**
 * `attnbench report` of a large file, through the real command: 20,000 layer results (about
 * 42 MB, written from the small real fixture by test/large-layers.ts). Its memory and its
 * page are bounded by what is drawn, not by the input (the same file peaked at 3.0 GB before
 * the report drew within a budget, and 50,000 results at 6.9 GB), and SIGTERM or SIGINT
 * while it draws ends it within a second or so, with the shell's status, nothing half written.
 *
 * 20,000 and not 50,000 results: it proves the bound (every chart and table is already at its
 * limit, and memory that grew with the input would be far above it) in a fraction of the time.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { writeLargeLayerFile } from './large-layers.ts';
import { ROOT, tmpDir } from './helpers.ts';

const BIN = path.join(ROOT, 'bin/attnbench.js');
const N = 20_000;
/**
 * Peak resident set of any process of the command. What it needs: the input as parsed and
 * validated (about 250 MB for these 42 MB), the runtime and the charting libraries (about
 * 250 MB, 150 more when the CLI runs src/ through tsx), and the charts within their budget
 * (about 200 MB); twice that leaves room for a busy machine's garbage collector.
 */
const MAX_RSS = 1.5 * 2 ** 30;
/** index.html holds the Vega runtime (about 0.8 MB), the charts' data within their budget and the tables' capped rows. */
const MAX_PAGE = 8 * 2 ** 20;
/** A signal must end the command this soon: drawing yields to it at least every second; this leaves room for a busy machine. */
const SIGNAL_LIMIT_MS = 5000;
/** Far above how long anything here takes on a busy machine: only a hung command reaches it. */
const HUNG_MS = 300_000;

let dir: string;
let big: string;

before(() => {
  dir = tmpDir();
  big = path.join(dir, 'big.json');
  writeLargeLayerFile(big, N);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test(`a report of ${N.toLocaleString('en-US')} results: peak memory under 1.5 GB, index.html under 8 MB, every table saying what it left out`, () => {
  const rss = path.join(dir, 'rss');
  fs.mkdirSync(rss);
  const out = path.join(dir, 'report');
  const r = spawnSync(process.execPath, [BIN, 'report', big, '--out', out], {
    encoding: 'utf8',
    timeout: HUNG_MS,
    env: { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(path.join(ROOT, 'test/max-rss.mjs')).href}`, ATTNBENCH_TEST_MAXRSS_DIR: rss },
  });
  assert.equal(r.status, 0, r.stderr);
  const peaks = fs.readdirSync(rss).map((pid) => Number(fs.readFileSync(path.join(rss, pid), 'utf8')));
  assert.ok(peaks.length >= 2, 'the launcher and the worker each wrote their peak');
  const peak = Math.max(...peaks);
  assert.ok(peak < MAX_RSS, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);

  const page = fs.statSync(path.join(out, 'index.html')).size;
  assert.ok(page < MAX_PAGE, `index.html is ${(page / 2 ** 20).toFixed(1)} MiB`);
  const md = fs.readFileSync(path.join(out, 'summary.md'), 'utf8');
  assert.match(md, new RegExp(`500 of 20,000 rows shown, evenly spaced in this order; the other 19,500 are in ${big.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`));
  assert.match(fs.readFileSync(path.join(out, 'total-time.svg'), 'utf8'), /of 20,000 configurations drawn/, 'the chart itself says it is a selection');
  assert.match(r.stderr, /^report: read 20,000 result\(s\) from 1 file\(s\); drawing into /m);
});

/** Resolves with the first line of `stream` matching `pattern` (rejects if the stream ends first). */
function lineMatching(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const line = text.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        stream.off('data', onData);
        resolve(line);
      }
    };
    stream.on('data', onData);
    stream.on('end', () => reject(new Error(`the stream ended without a line matching ${pattern}:\n${text}`)));
  });
}

for (const [signal, status] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${signal} while a large report draws ends it at once: status ${status}, nothing written`, async () => {
    // an existing output folder: checking it registers the cleanup that holds a signal until the event loop runs
    const out = path.join(dir, `killed-${signal}`);
    fs.mkdirSync(out);
    const child = spawn(process.execPath, [BIN, 'report', big, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const hung = setTimeout(() => child.kill('SIGKILL'), HUNG_MS);
    try {
      // the event: the first chart is drawn, so reading is over and drawing has begun
      await lineMatching(child.stderr, /^report: drew /);
      const sent = performance.now();
      child.kill(signal);
      const [code, by] = await exited;
      const ms = performance.now() - sent;
      assert.equal(code ?? 128 + os.constants.signals[by!], status, `exit ${code}, signal ${by}`);
      assert.ok(ms < SIGNAL_LIMIT_MS, `ended ${ms.toFixed(0)} ms after ${signal}`);
      assert.deepEqual(fs.readdirSync(out), [], 'nothing written, no temporary file left');
    } finally {
      clearTimeout(hung);
      child.kill('SIGKILL');
    }
  });
}
