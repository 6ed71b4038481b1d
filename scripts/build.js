#!/usr/bin/env node
// Compile src/ into dist/ (JavaScript and declarations), the code the package ships and the
// CLI runs, and bundle the browser page into dist/page/ (what `attnbench serve` and
// `--device browser-*` serve when the CLI runs dist/): `npm run build`, and on its own on
// `npm ci` (prepare) and before `npm test`.
// A clean build, so that no file of a moved or deleted module lingers in dist/. It ends by
// writing dist/build.json with the time the build began: bin/attnbench.js runs src/ through
// tsx instead of dist/ when a file in src/ is newer than that.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const started = Date.now();
fs.rmSync(dist, { recursive: true, force: true });
// typescript's exports leave out bin/, so find the package folder and take its tsc from there
const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(`build: tsc failed (${r.status ?? r.signal}); dist/ is incomplete\n`);
  fs.rmSync(path.join(dist, 'build.json'), { force: true });
  process.exit(1);
}
// the page, with the bundler the compiled code itself uses (src/browser/bundle.ts)
try {
  const { buildPage } = await import(pathToFileURL(path.join(dist, 'browser', 'bundle.js')).href);
  const { gitCommit } = await import(pathToFileURL(path.join(dist, 'results', 'environment.js')).href);
  await buildPage({ outDir: path.join(dist, 'page'), gitCommit: gitCommit(), sourcemap: false });
} catch (e) {
  process.stderr.write(`build: the browser page failed to build: ${e.message}; dist/ is incomplete\n`);
  process.exit(1);
}
fs.writeFileSync(path.join(dist, 'build.json'), JSON.stringify({ startedMs: started, started: new Date(started).toISOString() }) + '\n');
