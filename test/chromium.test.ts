/**
 * src/browser/chromium.ts: the bundled browser is unpacked once, atomically, and its
 * SwiftShader files are where the module says. (The browser itself is driven in browser.test.ts.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../src/core/errors.ts';
import { chromiumLaunchOptions, swiftshaderVulkanEnv, unpackChromium } from '../src/browser/chromium.ts';
import { ROOT, TEST_LIMIT_MS, tmpDir } from './helpers.ts';

test('two unpacks at once both succeed, into one folder, leaving no partial folder', { timeout: TEST_LIMIT_MS }, async () => {
  const cache = tmpDir();
  const [a, b] = await Promise.all([unpackChromium(cache), unpackChromium(cache)]);
  assert.deepEqual(a, b);
  assert.deepEqual(fs.readdirSync(cache), [path.basename(a.dir)], 'only the finished folder');
  assert.ok(fs.statSync(a.executablePath).mode & 0o100, 'the browser is executable');
  for (const lib of ['libnss3.so', 'libnspr4.so', 'libexpat.so.1']) assert.ok(fs.existsSync(path.join(a.libraryDir, lib)), lib);
  assert.ok(fs.existsSync(a.vulkan.driver) && fs.existsSync(a.vulkan.loader));
  const icd = JSON.parse(fs.readFileSync(a.vulkan.icdFile, 'utf8')) as { ICD: { library_path: string } };
  assert.equal(path.resolve(path.dirname(a.vulkan.icdFile), icd.ICD.library_path), a.vulkan.driver, 'the ICD names the driver');
  fs.rmSync(cache, { recursive: true, force: true });
});

test('launch options: the project cache, our flags (not the package own), libraries and fonts', async () => {
  const o = await chromiumLaunchOptions({ webgpu: true });
  assert.ok(o.executablePath.startsWith(path.join(ROOT, 'node_modules', '.cache', 'attnbench', 'chromium-')), o.executablePath);
  assert.ok(o.args.includes('--headless=shell') && o.args.includes('--enable-unsafe-webgpu') && o.args.includes('--disable-background-networking'));
  assert.ok(!o.args.includes('--single-process') && !o.args.includes('--disable-web-security'), 'flags that would break crossOriginIsolated');
  assert.ok(!(await chromiumLaunchOptions()).args.includes('--enable-unsafe-webgpu'));
  assert.equal(o.env.LD_LIBRARY_PATH!.split(':')[0], o.files.libraryDir);
  assert.match(fs.readFileSync(o.env.FONTCONFIG_FILE!, 'utf8'), /node_modules\/dejavu-fonts-ttf\/ttf<\/dir>/);
  const vk = swiftshaderVulkanEnv(o.files, { PATH: '/bin' });
  assert.deepEqual(vk, { PATH: '/bin', VK_ICD_FILENAMES: o.files.vulkan.icdFile, LD_LIBRARY_PATH: o.files.vulkan.loaderDir });
});

test('another platform gets a one-line UsageError', async () => {
  const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
  Object.defineProperty(process, 'platform', { value: 'darwin' });
  try {
    await assert.rejects(unpackChromium(tmpDir()), (e) => e instanceof UsageError && /linux x64 only, not on darwin/.test(e.message));
  } finally {
    Object.defineProperty(process, 'platform', platform);
  }
});
