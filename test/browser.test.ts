/**
 * The report page in a real browser (Debian's chromium, headless, driven by playwright-core):
 * every chart drawn, no console errors, no request leaving the page's folder, hover values
 * and legend highlighting work. A screenshot is kept in results/test-artifacts/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { buildReport, writeReport } from '../src/report/report.ts';
import { loadRuns } from '../src/report/load.ts';
import { ROOT, tmpDir } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(ROOT, 'results/test-artifacts/report-page.png');

test('the report page shows every chart in headless Chromium, without console errors', { timeout: 180_000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install it as .ci/run does (apt-get update && apt-get install -y chromium fonts-dejavu-core)`);
  const dir = tmpDir();
  const files = await buildReport(loadRuns([path.join(ROOT, 'test/fixtures/layers.json'), path.join(ROOT, 'test/fixtures/generate.json')]));
  writeReport(files, dir);
  const chartCount = [...files.keys()].filter((f) => f.endsWith('.svg')).length;

  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // playwright gives every launch a fresh temporary profile (the --user-data-dir)
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
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

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.mouse.move(0, 0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(fs.statSync(SCREENSHOT).size > 20_000, 'a screenshot of the page');
    assert.deepEqual(problems, []);
  } finally {
    await browser?.close();
  }
});
