/**
 * The in-browser benchmark in a real headless Chromium (the one @sparticuz/chromium brings with
 * npm ci), served by the project's own server, running the project's own page: it loads
 * without console errors; a small WASM sweep on 2 threads (cross-origin isolated) gives a
 * valid result file; WebGPU on the software adapter verifies a hand-arranged layer, and the
 * native build's wrong fused attention stays a result marked WRONG with no speedup;
 * `--device browser-wasm` writes a file `report` draws beside a CLI file; a page dying
 * mid-sweep loses nothing finished; the refusals; the page by hand (bad input, cancel and
 * resume, reload, download); the decode-step comparison. Plus what needs no browser: the
 * bundle's guard, the server's file map, the query format, the profilers' parsers.
 * Tiny shapes and quick ceiling probes throughout: these tests check what is measured, not
 * how fast this machine is.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { ORT_BUILDS } from '../src/browser/backends.ts';
import { buildPage, pageFolder, platformGuard } from '../src/browser/bundle.ts';
import { chromiumLaunchOptions, fontconfigText, unpackChromium } from '../src/browser/chromium.ts';
import { runHeadless, runHeadlessDecode } from '../src/browser/headless.ts';
import { assetDirs, ISOLATION_HEADERS, resolveFile, startServer } from '../src/browser/server.ts';
import { cpuRunsFromTrace, gpuRunsFromJsep, gpuRunsFromTrace } from '../src/browser/trace.ts';
import { DecodeConfig } from '../src/config/decode.ts';
import { LayersConfig } from '../src/config/layers.ts';
import { parseConfig } from '../src/config/parse.ts';
import { configQuery, parseQuery } from '../src/config/query.ts';
import { UsageError } from '../src/core/errors.ts';
import { loadRuns } from '../src/report/load.ts';
import { buildReport } from '../src/report/report.ts';
import { journalPath, readJournal, readLayerFile, readRun } from '../src/results/io.ts';
import { cli, EVENT_LIMIT_MS, ROOT, TEST_LIMIT_MS, tmpDir } from './helpers.ts';

const FIXTURE = path.join(ROOT, 'test/fixtures/layers.json');

/** The CLI fixture's layer (seed mode, 4 heads of 16) at batch 2, so the report draws both on one axis. */
const TINY = parseConfig(LayersConfig, {
  variants: ['multi-head', 'multi-query-1', 'grouped-query:4'],
  batch: [2],
  seq: [32, 128],
  heads: 4,
  headDim: 16,
  repeats: 3,
  warmup: 1,
  profileRuns: 2,
  threads: 2,
  device: 'browser-wasm',
});
const quiet = { progress: false, log: () => {}, quickProbes: true } as const;

test('attnbench serve: prints its URL, serves the page isolated, and the page loads without console errors', { timeout: TEST_LIMIT_MS }, async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/attnbench.js'), 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let browser: Browser | undefined;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/)\n/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before printing its URL`)));
    });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
    browser = await chromium.launch(await chromiumLaunchOptions({ webgpu: true }));
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: EVENT_LIMIT_MS });
    assert.match((await page.textContent('#status')) ?? '', /crossOriginIsolated true .* WebGPU adapter google swiftshader.* SOFTWARE adapter/);
    // the forms are the CLI's flags, with its defaults (the layer form starts from the main job's grid)
    assert.equal(await page.inputValue('#form-layers input[name=seq]'), '128,256,512,1024');
    assert.equal(await page.inputValue('#form-decode input[name=context]'), '256,1024');
    assert.deepEqual(await page.$$eval('#form-layers select[name=device] option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['browser-wasm', 'browser-webgpu', 'browser-webgpu-native']);
    assert.deepEqual(problems, []);
  } finally {
    await browser?.close();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
});

test('a small WASM sweep on 2 threads, cross-origin isolated: every configuration verified, streamed into the journal, a valid result file', { timeout: TEST_LIMIT_MS }, async () => {
  const out = path.join(tmpDir(), 'browser.json');
  const consoleErrors: string[] = [];
  const streamed: string[] = [];
  const file = await runHeadless(TINY, {
    ...quiet,
    out,
    onConsoleError: (t) => consoleErrors.push(t),
    onResult: (r) => {
      assert.ok(readJournal(journalPath(out)).some((j) => j.attention === r.attention && j.seq === r.seq), 'in the journal as it arrives');
      streamed.push(`${r.attention}@${r.seq}`);
    },
  });
  assert.deepEqual(consoleErrors, []);
  const d = file.environment.device;
  assert.equal(d.kind, 'browser-wasm');
  assert.deepEqual([d.browser?.crossOriginIsolated, file.environment.threads, d.browser?.headless], [true, 2, true]);
  assert.ok(d.browser!.timerStepMs! > 0 && d.browser!.timerStepMs! <= 0.02, `an isolated page's timer step: ${d.browser!.timerStepMs} ms`);
  assert.match(d.browser!.userAgent, /HeadlessChrome\/\d+/);
  assert.match(d.profiler!, /CPU kernel times/);
  assert.match(file.environment.ceilings!.method, /onnxruntime-web WASM.*QUICK probes/);
  assert.equal(streamed.length, 6);
  assert.deepEqual(file.failures, []);
  assert.deepEqual(
    file.results.map((r) => `${r.attention}@${r.seq}`),
    ['multi-head@32', 'multi-query-1@32', 'grouped-query:4@32', 'multi-head@128', 'multi-query-1@128', 'grouped-query:4@128'],
    'in the grid order',
  );
  for (const r of file.results) {
    assert.equal(r.ms.n, 3);
    assert.ok(r.verify?.ok && r.verify.against === 'float64 reference' && r.verify.seq === r.seq, `verified at its own shape: ${JSON.stringify(r.verify)}`);
    // the stage split from onnxruntime-web's profiler, by node-name prefix as in Node, with the bytes each kernel moved
    assert.equal(r.profileRuns, 2);
    assert.deepEqual(r.stages.slice(0, 4).map((s) => s.name), ['qkv', 'split', 'weights', 'output']);
    assert.ok(r.implementationBytes! > 0 && r.taskFloorMs! > 0 && r.computeFraction! > 0, 'floors and fractions against the page\'s ceilings');
    assert.equal(r.speedup === null, r.attention === 'multi-head', 'a speedup with its interval for every variant but the baseline');
  }
  assert.ok(!fs.existsSync(journalPath(out)), 'the journal goes once the file is written');
  assert.equal(readLayerFile(out).results.length, 6, "the CLI's reader takes it");
});

test('--device browser-wasm writes a file that report draws beside a CLI file, and compare reads', { timeout: TEST_LIMIT_MS }, async () => {
  const dir = tmpDir();
  const out = path.join(dir, 'wasm.json');
  const args = ['layers', '--device', 'browser-wasm', '--variants', 'multi-head,multi-query-1', '--batch', '2', '--seq', '32', '--heads', '4', '--head-dim', '16'];
  const r = cli([...args, '--repeats', '3', '--warmup', '1', '--profile-runs', '1', '--threads', '2', '--no-progress', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| multi-query-1 \| 2 \| 32 \|/);
  const report = cli(['report', FIXTURE, out, '--out', path.join(dir, 'report')]);
  assert.equal(report.status, 0, report.stderr);
  const svg = fs.readFileSync(path.join(dir, 'report', 'total-time.svg'), 'utf8');
  assert.ok(svg.includes('layers') && svg.includes('wasm'), 'both runs are series of the one total-time chart');
  assert.match(fs.readFileSync(path.join(dir, 'report', 'summary.md'), 'utf8'), /\| device \| CPU: .* \| onnxruntime-web WASM 2 thread\(s\), HeadlessChrome/);
  const compare = cli(['compare', FIXTURE, out]);
  assert.equal(compare.status, 0, compare.stderr);
  assert.match(compare.stdout, /multi-query-1 batch 2 seq 32/);
});

test('WebGPU on the software adapter: hand-arranged layers verify, and the device says SOFTWARE', { timeout: TEST_LIMIT_MS }, async () => {
  const c = { ...TINY, variants: ['multi-head', 'grouped-query:2'], seq: [32], mode: 'full' as const, headDim: 8, profileRuns: 1, device: 'browser-webgpu' as const };
  const file = await runHeadless(c, quiet);
  const d = file.environment.device;
  assert.equal(d.kind, 'browser-webgpu');
  assert.ok(d.software && d.adapter?.architecture === 'swiftshader', `the adapter is marked as software: ${JSON.stringify(d.adapter)}`);
  assert.deepEqual(file.results.map((r) => [r.attention, r.verify?.ok]), [['multi-head', true], ['grouped-query:2', true]]);
  assert.ok(file.results.every((r) => r.verify!.maxRelError < 1e-5));
  assert.match(d.profiler!, /GPU program times/);
  assert.ok(file.results[0]!.stages.some((s) => s.kernelMs > 0), 'GPU program times by stage');
  const report = await buildReport(loadRuns([await writeTo(file, 'webgpu.json')]));
  assert.match(report.get('total-time.svg')!.toString(), /SOFTWARE adapter: not a GPU/, 'the chart says the times are no GPU speed');
});

test("the native WebGPU build's wrong fused attention: a result marked WRONG, no speedup, and WRONG on the chart", { timeout: TEST_LIMIT_MS }, async () => {
  const c = { ...TINY, variants: ['multi-head', 'fused-gqa:2'], seq: [64], mode: 'full' as const, headDim: 8, profileRuns: 0, device: 'browser-webgpu-native' as const };
  const file = await runHeadless(c, quiet);
  assert.equal(file.environment.device.kind, 'browser-webgpu-native', 'the file says which build computed it');
  const [mha, fused] = file.results;
  assert.deepEqual([mha?.attention, fused?.attention], ['multi-head', 'fused-gqa:2'], 'the wrong result stays a result');
  assert.equal(mha!.verify!.ok, true);
  assert.equal(fused!.verify!.ok, false);
  assert.ok(fused!.verify!.maxRelError > 1e-2, `far beyond float32 rounding: ${fused!.verify!.maxRelError}`);
  assert.equal(fused!.speedup, null, 'a wrong answer has no speed');
  assert.ok(fused!.ms.n === 3, 'it is still timed');
  const report = await buildReport(loadRuns([await writeTo(file, 'native.json')]));
  assert.match(report.get('total-time.svg')!.toString(), /WRONG/);
  assert.match(report.get('summary.md')!.toString(), /\| fused-gqa:2 \|.*\| WRONG \d/);
});

test('a page that dies mid-sweep loses no finished configuration: --resume runs only the rest; a silent page is closed', { timeout: TEST_LIMIT_MS }, async () => {
  const out = path.join(tmpDir(), 'died.json');
  const c = { ...TINY, seq: [16, 32] };
  const controller = new AbortController();
  await assert.rejects(
    runHeadless(c, { ...quiet, out, signal: controller.signal, onResult: () => controller.abort() }),
    /the page closed after \d finished configuration\(s\); they are in .*died\.json\.journal\.jsonl, --resume continues/,
  );
  const kept = readJournal(journalPath(out));
  assert.equal(kept.length, 3, 'the first configuration (its three variants) was journaled before the page died');
  const ran: string[] = [];
  const file = await runHeadless(c, { ...quiet, out, resume: true, onResult: (r) => ran.push(`${r.attention}@${r.seq}`) });
  assert.deepEqual(ran, ['multi-head@32', 'multi-query-1@32', 'grouped-query:4@32'], 'only what was missing');
  assert.equal(readLayerFile(out).results.length, 6);
  assert.equal(file.results.length, 6);
  // a page that stops talking (a hung GPU program, a lost device) is closed by the watchdog, not waited for
  await assert.rejects(runHeadless(c, { ...quiet, silenceMs: 1 }), /^Error: the page sent nothing for 0 s and was closed after 0 finished configuration\(s\)$/);
});

test('refusals, one line each: threads without isolation, no WebGPU adapter, a browser that cannot start, --dump', { timeout: TEST_LIMIT_MS }, async () => {
  const one = { ...TINY, seq: [16], variants: ['multi-head'] };
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(runHeadless(one, { ...quiet, isolation: false }), oneLine(/^--threads 2 needs a cross-origin isolated page \(crossOriginIsolated is false/));
  await assert.rejects(runHeadless({ ...one, device: 'browser-webgpu' }, { ...quiet, webgpuFlag: false }), oneLine(/^no WebGPU adapter: navigator\.gpu\.requestAdapter\(\) returned null/));
  await assert.rejects(runHeadless(one, { ...quiet, launchTimeoutMs: 1 }), oneLine(/^the browser cannot start: /));
  const r = cli(['layers', '--device', 'browser-wasm', '--dump', path.join(tmpDir(), 'd'), '--seq', '16', '--batch', '1', '--no-progress']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'attnbench: error: --dump is not available with --device browser-wasm (the tensors stay in the page)');
});

test('the page by hand: bad input refused in place, cancel and resume, kept over a reload until downloaded, a valid download', { timeout: TEST_LIMIT_MS }, async () => {
  const folder = await pageFolder();
  const server = await startServer({ pageDir: folder.dir, port: 0 });
  const browser = await chromium.launch(await chromiumLaunchOptions());
  try {
    const page = await browser.newPage({ acceptDownloads: true });
    page.setDefaultTimeout(EVENT_LIMIT_MS); // a shared machine: a busy moment (a WASM sweep at 2048 with a core taken) must not fail a wait
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${server.url}?probes=quick`);
    await page.waitForFunction(() => document.body?.dataset.state === 'idle');

    await page.fill('#form-layers input[name=seq]', '64-32');
    await page.click('#run');
    assert.equal(await page.textContent('#message'), "--seq: range '64-32' is empty (64 > 32)");
    await page.fill('#form-layers input[name=seq]', '8');
    await page.fill('#form-layers input[name=variants]', 'multi-head,grouped-query:3');
    await page.click('#run');
    assert.match((await page.textContent('#message')) ?? '', /grouped-query:3.*3 K\/V heads do not divide 16 heads/);
    assert.equal(new URL(page.url()).searchParams.get('run'), null, 'bad input starts nothing');

    // seq 1024 and 2048 at 16 × 64 take seconds per configuration: time to cancel in
    const fields: Record<string, string> = { variants: 'multi-head,multi-query-1', batch: '1', seq: '8,1024,2048', repeats: '3', warmup: '1', 'profile-runs': '0' };
    for (const [k, v] of Object.entries(fields)) await page.fill(`#form-layers input[name="${k}"]`, v);
    await page.click('#run');
    await page.waitForFunction(() => document.body?.dataset.state === 'running');
    await page.waitForFunction(() => document.querySelectorAll('#results tbody tr').length > 0);
    // the sessions run on the page's main thread, which takes input between rounds only: a click event, not
    // Playwright's click (it wants several steady frames in a row first)
    await page.locator('#cancel').dispatchEvent('click');
    await page.waitForFunction(() => document.body?.dataset.state === 'cancelled');
    const kept = await page.locator('#results table').first().locator('tbody tr').count();
    assert.ok(kept >= 2 && kept < 6, `${kept} of 6 results finished before the cancel took effect`);
    assert.match((await page.textContent('#stored-text')) ?? '', /of an unfinished layer sweep on browser-wasm/);
    assert.equal(new URL(page.url()).searchParams.get('run'), null, 'a reload after a cancel does not run again');
    // the same sweep again resumes: only the missing configurations run
    await page.click('#run');
    await page.waitForFunction(() => document.body?.dataset.state === 'done');
    assert.equal(await page.locator('#results table').first().locator('tbody tr').count(), 6);
    await page.waitForFunction(() => document.querySelectorAll('#charts [data-rendered="true"]').length > 0);

    await page.reload();
    await page.waitForFunction(() => document.body?.dataset.state === 'idle');
    assert.match((await page.textContent('#stored-text')) ?? '', /keeps 6 finished configuration\(s\) of a finished layer sweep/);
    assert.equal(await page.locator('#results table').first().locator('tbody tr').count(), 6, 'the table survives the reload');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = path.join(tmpDir(), download.suggestedFilename());
    await download.saveAs(file);
    const read = readLayerFile(file);
    assert.deepEqual(read.results.map((r) => `${r.attention}@${r.seq}`), ['multi-head@8', 'multi-query-1@8', 'multi-head@1024', 'multi-query-1@1024', 'multi-head@2048', 'multi-query-1@2048']);
    assert.equal(read.environment.device.browser?.headless, false, 'a person ran it');
    assert.ok(read.results.every((r) => r.verify?.ok));
    assert.ok(await page.isHidden('#stored'), 'nothing left to keep once downloaded');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
    folder.dispose();
  }
});

test('the decode-step comparison in the page: types interleaved, verified, speedups with intervals, a file report draws', { timeout: TEST_LIMIT_MS }, async () => {
  const c = parseConfig(DecodeConfig, { layers: 1, hidden: 32, heads: 4, vocab: 97, context: [8, 64], batch: [2], repeats: 5, warmup: 1, profileRuns: 1, threads: 2, device: 'browser-wasm' });
  const file = await runHeadlessDecode(c, quiet);
  assert.equal(file.schema, 'attnbench/decode@2');
  assert.deepEqual(file.results.map((r) => `${r.attention}@${r.context}`), ['multi-head@8', 'multi-query-1@8', 'grouped-query:2@8', 'multi-head@64', 'multi-query-1@64', 'grouped-query:2@64']);
  for (const r of file.results) {
    assert.ok(r.verify?.ok && r.verify.seq === 49, `prefill (48 tokens) and step logits against float64: ${JSON.stringify(r.verify)}`);
    assert.equal(r.ms.n, 5);
    assert.equal(r.speedup === null, r.attention === 'multi-head');
    assert.ok(r.taskFloorMs! > 0 && r.stages.length > 0);
  }
  const at64 = file.results.filter((r) => r.context === 64);
  assert.ok(at64[0]!.kvCacheBytes === 4 * at64[1]!.kvCacheBytes, 'multi-head caches 4 K/V heads, multi-query-1 one');
  const saved = await writeTo(file, 'decode.json');
  assert.equal(readRun(saved).kind, 'decode');
  const report = await buildReport(loadRuns([saved]));
  assert.ok(report.has('decode-step-time.svg') && report.has('decode-step-speedup.svg'));
  assert.match(report.get('summary.md')!.toString(), /## Decode-step results/);
});

test("with no system fonts (no /etc/fonts), the launcher's fontconfig gives a page's text and form controls DejaVu Sans", { timeout: TEST_LIMIT_MS }, async () => {
  const launch = await chromiumLaunchOptions();
  const files = await unpackChromium();
  const dejavu = path.dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'));
  const conf = path.join(tmpDir(), 'fonts.conf');
  fs.writeFileSync(conf, fontconfigText(dejavu, path.join(files.dir, 'fontconfig-cache'), '/nonexistent/fonts.conf'));
  const browser = await chromium.launch({ ...launch, env: { ...launch.env, FONTCONFIG_FILE: conf } });
  try {
    const page = await browser.newPage();
    await page.setContent('<body style="font-family: system-ui"><p>text</p><form><select><option>wasm</option></select><input value="8,16"><button>Run</button></form></body>');
    const cdp = await page.context().newCDPSession(page);
    const { root } = await cdp.send('DOM.getDocument');
    await cdp.send('CSS.enable');
    for (const selector of ['p', 'button', 'input', 'select']) {
      const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      assert.deepEqual(fonts.map((f) => f.familyName), ['DejaVu Sans'], selector);
    }
  } finally {
    await browser.close();
  }
});

test('the page bundle: the shared modules bundle for the browser, and a Node import is refused by name', async () => {
  const built = await buildPage({ outDir: tmpDir() });
  const js = built.files.find((f) => f.name === 'main.js')!;
  assert.ok(js.bytes > 300_000, `graph builder, layouts, protocol, schemas and charts are in it (${js.bytes} bytes)`);
  for (const m of ['src/measure/group.ts', 'src/measure/decode.ts', 'src/attention/layouts.ts', 'src/model/graph.ts', 'src/report/layer-charts.ts', 'onnx-proto']) {
    assert.ok(built.inputs.some((i) => i.path.includes(m)), m);
  }
  assert.ok(!built.inputs.some((i) => i.path.includes('onnxruntime')), 'onnxruntime-web is loaded at run time, not bundled');

  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'shared.ts'), "import fs from 'node:fs';\nexport const n = fs.readdirSync('.').length;\n");
  fs.writeFileSync(path.join(dir, 'entry.ts'), "import { n } from './shared.ts';\nconsole.log(n);\n");
  await assert.rejects(
    esbuild.build({ entryPoints: [path.join(dir, 'entry.ts')], bundle: true, platform: 'browser', write: false, logLevel: 'silent', plugins: [platformGuard] }),
    /shared\.ts imports 'node:fs', which only exists in Node/,
  );
});

test('the server: isolation headers on every answer, only the three builds and the chart runtime from node_modules', async () => {
  const assets = assetDirs();
  const pageDir = tmpDir();
  fs.writeFileSync(path.join(pageDir, 'index.html'), '<!doctype html><title>t</title>');
  assert.equal(resolveFile('/', pageDir, assets), path.join(pageDir, 'index.html'));
  assert.equal(resolveFile('/ort/ort-wasm-simd-threaded.wasm', pageDir, assets), path.join(assets.ort, 'ort-wasm-simd-threaded.wasm'));
  for (const bad of ['/ort/ort.all.min.mjs', '/ort/../package.json', '/../package.json', '/%2e%2e/x', '/sub/x.js', '/.hidden', '/lib/vega.js']) {
    assert.equal(resolveFile(bad, pageDir, assets), undefined, bad);
  }
  for (const b of Object.values(ORT_BUILDS)) for (const f of [b.module, b.glue, b.wasm]) assert.ok(fs.existsSync(path.join(assets.ort, f)), f);
  for (const f of Object.values(assets.lib)) assert.ok(fs.existsSync(f), f);
  const server = await startServer({ pageDir, port: 0 });
  try {
    const page = await fetch(server.url);
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) assert.equal(page.headers.get(k), v, k);
    const wasm = await fetch(`${server.url}ort/ort-wasm-simd-threaded.wasm`, { method: 'HEAD' });
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.equal(wasm.headers.get('cross-origin-resource-policy'), 'same-origin');
    assert.equal((await fetch(`${server.url}lib/vega-lite.min.js`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${server.url}ort/ort.all.min.mjs`)).status, 404);
  } finally {
    await server.close();
  }
});

test("a run's URL: the CLI's flag names and list syntax, read back to the same configuration, bad values named", () => {
  const q = new URLSearchParams('seq=64-320*2&batch=8,16&variants=MultiQuery1,grouped-query:4&device=browser-webgpu&repeats=auto');
  const c = parseQuery(LayersConfig, q);
  assert.deepEqual([c.seq, c.batch, c.variants, c.device, c.repeats], [[64, 128, 256], [8, 16], ['MultiQuery1', 'grouped-query:4'], 'browser-webgpu', 'auto']);
  assert.deepEqual(parseQuery(LayersConfig, configQuery(LayersConfig, c)), c);
  assert.throws(() => parseQuery(LayersConfig, new URLSearchParams('seq=64-32')), /--seq: range '64-32' is empty/);
  assert.throws(() => parseQuery(LayersConfig, new URLSearchParams('device=webgl')), /--device: 'webgl' is not one of cpu, webgpu, browser-wasm/);
  assert.throws(() => parseQuery(LayersConfig, new URLSearchParams('sequence=64')), /unknown setting 'sequence'/);
  assert.throws(() => parseQuery(DecodeConfig, new URLSearchParams('context=0')), /--context: 0 must be at least 1/);
  assert.equal(parseQuery(DecodeConfig, new URLSearchParams('verify=true&repeats=7')).repeats, 7);
});

test('profilers to runs: the wasm trace as in Node, the native GPU events, JSEP records split evenly among the runs', () => {
  const ev = (cat: string, name: string, ts: number, dur: number, args = {}) => JSON.stringify({ cat, name, ts, dur, ph: 'X', args });
  // what endProfiling() prints: '[' then one event per line, then ']'
  const lines = ['some other log line', '['];
  for (const t0 of [0, 1000]) {
    lines.push(ev('Node', 'qkv/MatMul#0_kernel_time', t0 + 20, 100, { op_name: 'MatMul', activation_size: '64', output_size: '32' }) + ',');
    lines.push(ev('Api', 'qkv/MatMul#0&MatMul&MatMulNaive', t0 + 30, 400) + ',');
    lines.push(ev('Node', 'weights/MatMul#3_kernel_time', t0 + 130, 50, { op_name: 'MatMul' }) + ',');
    lines.push(ev('Session', 'SequentialExecutor::Execute', t0 + 10, 200) + ',');
    lines.push(ev('Session', 'model_run', t0 + 5, 600) + ',');
  }
  lines[lines.length - 1] = lines[lines.length - 1]!.slice(0, -1);
  lines.push(']');
  const cpu = cpuRunsFromTrace(lines);
  assert.equal(cpu.length, 2);
  assert.deepEqual(cpu[1]!.kernels.map((k) => [k.node, k.op, k.ts, k.dur, k.outputBytes]), [['qkv/MatMul#0', 'MatMul', 1020, 100, 32], ['weights/MatMul#3', 'MatMul', 1130, 50, undefined]]);
  assert.deepEqual(gpuRunsFromTrace(lines).map((r) => r.kernels.map((k) => `${k.node}:${k.op}:${k.ts}`)), [['qkv/MatMul#0:MatMul:30'], ['qkv/MatMul#0:MatMul:1030']]);

  // one kernel dispatching two programs, three runs: six records, two per run
  const rec = (i: number) => ({ kernelId: 1, kernelType: 'MatMul', kernelName: 'qkv/A', programName: `p${i % 2}`, startTime: 1000 * i, endTime: 1000 * i + 500 });
  const jsep = gpuRunsFromJsep([0, 1, 2, 3, 4, 5].map(rec), 3);
  assert.deepEqual(jsep.map((r) => r.kernels.map((k) => k.ts)), [[0, 1], [2, 3], [4, 5]]);
  assert.deepEqual(gpuRunsFromJsep([0, 1, 2, 3, 4].map(rec), 3), [], 'records that do not divide among the runs give no split');
});

/** Write a result file where the report can read it. */
async function writeTo(file: object, name: string): Promise<string> {
  const f = path.join(tmpDir(), name);
  fs.writeFileSync(f, JSON.stringify(file));
  return f;
}
