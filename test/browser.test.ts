/**
 * The report page in a real browser (the Chromium that @sparticuz/chromium brings with npm ci,
 * headless, driven by playwright-core): every chart drawn, no console errors, no request
 * leaving the page's folder, hover values and legend highlighting work, text drawn in DejaVu
 * Sans. A screenshot is kept in results/test-artifacts/. And the same browser gives a page
 * cross-origin isolation and a WebGPU adapter, which the browser benchmarks rely on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { chromiumLaunchOptions } from '../src/browser/chromium.ts';
import { buildReport, writeReport } from '../src/report/report.ts';
import { loadRuns } from '../src/report/load.ts';
import { ROOT, TEST_LIMIT_MS, tmpDir } from './helpers.ts';

const SCREENSHOT = path.join(ROOT, 'results/test-artifacts/report-page.png');

test('the report page shows every chart in headless Chromium, without console errors', { timeout: TEST_LIMIT_MS }, async () => {
  const dir = tmpDir();
  const files = await buildReport(loadRuns([path.join(ROOT, 'test/fixtures/layers.json'), path.join(ROOT, 'test/fixtures/generate.json')]));
  writeReport(files, dir);
  const chartCount = [...files.keys()].filter((f) => f.endsWith('.svg')).length;

  let browser: Browser | undefined;
  try {
    // playwright gives every launch a fresh temporary profile (the --user-data-dir)
    browser = await chromium.launch(await chromiumLaunchOptions());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(pathToFileURL(dir).href)) problems.push(`request outside the report: ${r.url()}`);
    });

    await page.goto(pathToFileURL(path.join(dir, 'index.html')).href);
    // resolves once every chart is drawn, rejects (failing the test) if one is not
    await page.evaluate(() => (window as unknown as { attnbenchReady: Promise<void> }).attnbenchReady);

    const charts = await page.$$eval('div.chart', (els) =>
      els.map((e) => ({
        id: (e as HTMLElement).dataset.chart,
        rendered: (e as HTMLElement).dataset.rendered,
        height: e.getBoundingClientRect().height,
        marks: e.querySelectorAll('svg [aria-roledescription="point"], svg [aria-roledescription="bar"]').length,
      })),
    );
    assert.equal(charts.length, chartCount, 'one drawing per chart file');
    for (const c of charts) {
      assert.equal(c.rendered, 'true', `${c.id} drawn`);
      assert.ok(c.height > 100, `${c.id} has a size (${c.height} px)`);
      assert.ok(c.marks > 0, `${c.id} shows its data`);
    }

    // hover values: the first point of the first speedup chart
    const point = page.locator('[data-chart="speedup-batch-2"] svg [aria-roledescription="point"]').first();
    await point.hover({ force: true });
    await page.locator('#tooltip:not([hidden])').waitFor();
    assert.match(await page.locator('#tooltip').innerText(), /variant: [\s\S]*speedup \(×\): \d+\.\d\d/);

    // toggling series: a legend click fades every other variant's line
    const chart = page.locator('[data-chart="speedup-batch-2"]');
    const faded = () => chart.locator('svg [aria-roledescription="line mark"][opacity="0.15"]').count();
    assert.equal(await faded(), 0);
    await chart.locator('svg .role-legend-symbol path').first().click({ force: true });
    await page.waitForFunction(() => document.querySelectorAll('[data-chart="speedup-batch-2"] svg [aria-roledescription="line mark"][opacity="0.15"]').length > 0);
    assert.ok((await faded()) > 0, 'other series fade');

    // the text's font: DejaVu Sans, which the browser finds in node_modules on a bare machine
    const cdp = await page.context().newCDPSession(page);
    const { root } = await cdp.send('DOM.getDocument');
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: 'h1' });
    await cdp.send('CSS.enable');
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    assert.deepEqual(fonts.map((f) => f.familyName), ['DejaVu Sans'], 'the heading is drawn in DejaVu Sans');

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.mouse.move(0, 0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(fs.statSync(SCREENSHOT).size > 20_000, 'a screenshot of the page');
    assert.deepEqual(problems, []);
  } finally {
    await browser?.close();
  }
});

/** A page served over loopback with the headers that make it cross-origin isolated. */
async function serveIsolatedPage(): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.end('<!doctype html><title>probe</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

test('the bundled Chromium gives a page cross-origin isolation and a WebGPU adapter (SwiftShader)', { timeout: TEST_LIMIT_MS }, async () => {
  const site = await serveIsolatedPage();
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch(await chromiumLaunchOptions({ webgpu: true }));
    const page = await browser.newPage();
    await page.goto(site.url);
    const facts = await page.evaluate(async () => {
      const adapter = await navigator.gpu?.requestAdapter();
      return { isolated: crossOriginIsolated, threads: typeof SharedArrayBuffer, adapter: adapter ? adapter.info.architecture : null };
    });
    assert.deepEqual(facts, { isolated: true, threads: 'function', adapter: 'swiftshader' });
  } finally {
    await browser?.close();
    site.close();
  }
});
