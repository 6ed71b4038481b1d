/**
 * A headless Chromium that comes with `npm ci`, for playwright-core.
 *
 * @sparticuz/chromium ships chrome-headless-shell brotli-packed, with SwiftShader (Chromium's
 * CPU Vulkan driver, which gives WebGPU a software adapter) and the NSS, NSPR and expat
 * libraries that a bare Debian lacks. We unpack them once into the project's scratch folder
 * (node_modules/.cache/attnbench/), not into $TMPDIR as the package itself does, so every
 * later launch reuses them, and we launch with our own arguments: the package's own
 * (--single-process, --disable-web-security) make `crossOriginIsolated` false.
 *
 * A launched browser's files (playwright's profile and artifacts folders, which it makes in
 * the temporary folder as playwright_chromiumdev_profile-* and playwright-artifacts-*, and the
 * browser's own temporary files) go into a folder of the run's own temporary folder
 * (core/temp.ts: named by the PID, removed on every exit the process sees, and by the next run
 * when the process was killed outright). Playwright's signal handlers are left off: on
 * SIGINT, SIGTERM or SIGHUP the run's cleanup (core/cleanup.ts) ends the browser, removes its
 * folder, says what the run keeps and dies of the signal, as every other run does.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import tarFs from 'tar-fs';
import { onExit, pidAlive } from '../core/cleanup.ts';
import { UsageError } from '../core/errors.ts';
import { tempSubdir, withTmpdir } from '../core/temp.ts';

const require = createRequire(import.meta.url);
const PACKAGE = '@sparticuz/chromium';

/** Where the unpacked files lie. */
export interface ChromiumFiles {
  /** The unpack folder: node_modules/.cache/attnbench/chromium-<package version>. */
  dir: string;
  /** chrome-headless-shell. */
  executablePath: string;
  /** libnss3, libnspr4, libexpat and their kin: put it on LD_LIBRARY_PATH. */
  libraryDir: string;
  /** SwiftShader as a Vulkan driver, for WebGPU without a GPU (e.g. in onnxruntime-node). */
  vulkan: {
    /** The ICD manifest: set VK_ICD_FILENAMES to it. */
    icdFile: string;
    /** libvk_swiftshader.so, which the manifest names. */
    driver: string;
    /** A Vulkan loader, libvulkan.so.1, for a machine without Debian's libvulkan1. */
    loader: string;
    /** The folder holding the loader: put it on LD_LIBRARY_PATH. */
    loaderDir: string;
  };
  /** A fontconfig file: DejaVu from node_modules first, then the system's fonts. */
  fontconfigFile: string;
}

/** What playwright-core's `chromium.launch()` takes. */
export interface ChromiumLaunch {
  executablePath: string;
  args: string[];
  /** The whole environment for the browser (playwright replaces, not extends, it). */
  env: Record<string, string>;
  files: ChromiumFiles;
}

export interface ChromiumOptions {
  /** Give pages a WebGPU adapter (SwiftShader): adds --enable-unsafe-webgpu. */
  webgpu?: boolean;
  /** Where to unpack (default: node_modules/.cache/attnbench next to the package). */
  cacheDir?: string;
}

/**
 * Flags for a machine whose network is closed: without them Chromium keeps opening
 * connections (updates, sync, safe browsing) that are refused, and looks up Google's hosts.
 */
const QUIET_NETWORK = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
];

/** Everything playwright-core needs to launch the bundled Chromium; unpacks it on first use. */
export async function chromiumLaunchOptions(options: ChromiumOptions = {}): Promise<ChromiumLaunch> {
  const files = await unpackChromium(options.cacheDir);
  const args = ['--headless=shell', ...QUIET_NETWORK];
  // Chromium's sandbox refuses to start as root
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  if (options.webgpu) args.push('--enable-unsafe-webgpu');
  const env = definedEnv();
  env.LD_LIBRARY_PATH = prependPath(files.libraryDir, env.LD_LIBRARY_PATH);
  env.FONTCONFIG_FILE = files.fontconfigFile;
  return { executablePath: files.executablePath, args, env, files };
}

/** A browser launched by `launchChromium`; close it with `close`, which also removes its folder. */
export interface LaunchedChromium {
  browser: Browser;
  /** The folder holding its profile, artifacts and temporary files. */
  dir: string;
  close(): Promise<void>;
}

/**
 * Launch the bundled Chromium with its files in a folder of the run's temporary folder (see
 * the header). `timeout`: how long it may take to start.
 */
export async function launchChromium(options: ChromiumOptions & { timeout?: number } = {}): Promise<LaunchedChromium> {
  const launch = await chromiumLaunchOptions(options);
  const dir = tempSubdir('chromium-');
  const remove = () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  // however the process ends: the browser first, then its folder. The run's folder that holds
  // it goes at exit too, and its removal may have run first and failed on the browser still
  // writing (a folder that fills as it is removed): so that is removed again, the browser gone.
  const forget = onExit(() => {
    killBrowsersIn(dir);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true, maxRetries: 5 });
  });
  let browser: Browser;
  try {
    // playwright makes its folders in os.tmpdir(), which reads TMPDIR
    browser = await withTmpdir(dir, () =>
      chromium.launch({
        executablePath: launch.executablePath,
        args: launch.args,
        env: { ...launch.env, TMPDIR: dir },
        ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      }),
    );
  } catch (e) {
    forget();
    killBrowsersIn(dir);
    remove();
    throw e;
  }
  return {
    browser,
    dir,
    close: async () => {
      try {
        await browser.close();
      } finally {
        forget();
        remove();
      }
    },
  };
}

/**
 * End, at once, every browser this process launched with its files in `dir` (found by its
 * command line, which names its profile folder there), and wait a little for it to be gone:
 * called where nothing asynchronous can run any more (a signal, process exit). Chromium leads
 * its own process group (playwright starts it detached), so killing the group ends its zygote,
 * renderers and GPU process with it. Linux only, as the bundled browser is.
 */
export function killBrowsersIn(dir: string, waitMs = 2000): void {
  const all = processes();
  const leaders = all.filter((p) => p.ppid === process.pid && p.cmdline.includes(dir)).map((p) => p.pid);
  const group = all.filter((p) => leaders.includes(p.pgid)).map((p) => p.pid);
  for (const pid of leaders) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (const end = Date.now() + waitMs; [...leaders, ...group].some(pidAlive) && Date.now() < end; ) Atomics.wait(wait, 0, 0, 10);
}

/** The processes of this machine, as /proc shows them (none where there is no /proc). */
function processes(): { pid: number; ppid: number; pgid: number; cmdline: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // after the command's name in parentheses: state, ppid, pgrp
      const [, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [{ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), cmdline: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ') }];
    } catch {
      return []; // it ended while we looked
    }
  });
}

/**
 * The environment that makes a child process's Vulkan loader find SwiftShader (set it when
 * spawning: the loader reads LD_LIBRARY_PATH only at process start).
 */
export function swiftshaderVulkanEnv(files: ChromiumFiles, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env = definedEnv(base);
  env.VK_ICD_FILENAMES = files.vulkan.icdFile;
  env.LD_LIBRARY_PATH = prependPath(files.vulkan.loaderDir, env.LD_LIBRARY_PATH);
  return env;
}

/**
 * Unpacks the browser once (about 200 MB) and returns where its files are. A second call,
 * in this process or another, finds the finished folder and returns at once.
 */
export async function unpackChromium(cacheDir?: string): Promise<ChromiumFiles> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new UsageError(`the bundled Chromium (${PACKAGE}) runs on linux x64 only, not on ${process.platform} ${process.arch}`);
  }
  const pkg = packageInfo();
  const dir = path.join(cacheDir ?? defaultCacheDir(pkg.dir), `chromium-${pkg.version}`);
  if (!fs.existsSync(path.join(dir, 'chromium'))) await unpackInto(dir, path.join(pkg.dir, 'bin'));
  const files = filesIn(dir);
  writeFontconfig(files.fontconfigFile, dir);
  return files;
}

function filesIn(dir: string): ChromiumFiles {
  return {
    dir,
    executablePath: path.join(dir, 'chromium'),
    libraryDir: path.join(dir, 'lib'),
    vulkan: {
      icdFile: path.join(dir, 'vk_swiftshader_icd.json'),
      driver: path.join(dir, 'libvk_swiftshader.so'),
      loader: path.join(dir, 'libvulkan.so.1'),
      loaderDir: dir,
    },
    fontconfigFile: path.join(dir, 'fonts.conf'),
  };
}

function packageInfo(): { dir: string; version: string } {
  let entry: string;
  try {
    entry = require.resolve(PACKAGE);
  } catch {
    throw new UsageError(`the bundled Chromium is missing: ${PACKAGE} is not installed (run npm ci)`);
  }
  // its exports do not include package.json, so walk up from the entry point to it
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    const { name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version: string };
    if (name === PACKAGE) return { dir, version };
  }
  throw new UsageError(`the bundled Chromium is broken: no package.json of ${PACKAGE} above ${entry}`);
}

/** node_modules/.cache/attnbench in the node_modules that holds the package. */
function defaultCacheDir(packageDir: string): string {
  const parts = packageDir.split(path.sep);
  const nodeModules = parts.lastIndexOf('node_modules');
  const root = nodeModules >= 0 ? parts.slice(0, nodeModules + 1).join(path.sep) : path.dirname(packageDir);
  return path.join(root, '.cache', 'attnbench');
}

/**
 * The browser and SwiftShader sit in one folder (Chromium loads libvk_swiftshader.so and
 * libvulkan.so.1 from its own folder); the system libraries go to lib/. We unpack into a
 * private folder and rename it into place, so a killed unpack never leaves a half-written
 * browser that a later call would reuse, and two processes unpacking at once both succeed.
 */
async function unpackInto(dir: string, bin: string): Promise<void> {
  const partial = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.mkdirSync(partial, { recursive: true });
    await Promise.all([
      pipeline(fs.createReadStream(path.join(bin, 'chromium.br')), zlib.createBrotliDecompress(), fs.createWriteStream(path.join(partial, 'chromium'), { mode: 0o755 })),
      pipeline(fs.createReadStream(path.join(bin, 'swiftshader.tar.br')), zlib.createBrotliDecompress(), tarFs.extract(partial)),
      // its entries are lib/*.so*
      pipeline(fs.createReadStream(path.join(bin, 'al2023.tar.br')), zlib.createBrotliDecompress(), tarFs.extract(partial)),
    ]);
    try {
      fs.renameSync(partial, dir);
    } catch (e) {
      // another process finished first: its copy is as good as ours
      if (!fs.existsSync(path.join(dir, 'chromium'))) throw e;
    }
  } catch (e) {
    throw new UsageError(`cannot unpack the bundled Chromium into ${dir}: ${(e as Error).message}`);
  } finally {
    fs.rmSync(partial, { recursive: true, force: true });
  }
}

/**
 * Fonts for the page: DejaVu from the dejavu-fonts-ttf package, so text is drawn on a machine
 * with no fonts installed, then whatever the system has. Without the system's configuration
 * (a bare machine has no /etc/fonts) fontconfig knows no generic family: a page's system-ui
 * or sans-serif text then got the first font of the folder, DejaVu Math TeX Gyre (measured),
 * and with no font at all Chromium's renderer dies on the first form control. So the generic
 * families fall back to DejaVu last (`default`: the system's own choices come first), and a
 * request naming no generic family gets sans-serif, as the system's 49-sansserif.conf does.
 * Rewritten on every call (it names node_modules' current path), atomically, since several
 * browsers may start at once.
 */
export function fontconfigText(dejavu: string, cacheDir: string, system = '/etc/fonts/fonts.conf'): string {
  const fallback = (generic: string, family: string) => `  <alias binding="same"><family>${generic}</family><default><family>${family}</family></default></alias>`;
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
    '<fontconfig>',
    `  <dir>${escapeXml(dejavu)}</dir>`,
    `  <include ignore_missing="yes">${escapeXml(system)}</include>`,
    '  <match target="pattern">',
    '    <test qual="all" name="family" compare="not_eq"><string>sans-serif</string></test>',
    '    <test qual="all" name="family" compare="not_eq"><string>serif</string></test>',
    '    <test qual="all" name="family" compare="not_eq"><string>monospace</string></test>',
    '    <edit name="family" mode="append_last"><string>sans-serif</string></edit>',
    '  </match>',
    fallback('sans-serif', 'DejaVu Sans'),
    fallback('system-ui', 'DejaVu Sans'),
    fallback('serif', 'DejaVu Serif'),
    fallback('monospace', 'DejaVu Sans Mono'),
    `  <cachedir>${escapeXml(cacheDir)}</cachedir>`,
    '</fontconfig>',
    '',
  ].join('\n');
}

function writeFontconfig(file: string, dir: string): void {
  const dejavu = path.dirname(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'));
  const text = fontconfigText(dejavu, path.join(dir, 'fontconfig-cache'));
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function definedEnv(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  return env;
}

const prependPath = (dir: string, list: string | undefined) => (list ? `${dir}${path.delimiter}${list}` : dir);
