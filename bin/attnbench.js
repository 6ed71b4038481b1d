#!/usr/bin/env node
// Launcher. It re-executes Node with glibc's malloc told to keep freed memory (no mmap for
// large blocks, no trimming), because on this kind of machine the first write to freshly
// mapped pages costs about 170 ms per 64 MiB and would dominate the timings. The result
// files record these settings. Set ATTNBENCH_MALLOC=default to measure without them.
//
// The worker runs the compiled dist/ (built by npm ci's prepare and by npm test). In a
// checkout whose src/ has a file newer than that build, it runs src/ through tsx instead, so
// an edit is never silently ignored; ATTNBENCH_SOURCE=tsx forces that.
//
// Signals: SIGINT, SIGTERM and SIGHUP are passed on to the worker, and the launcher then dies
// of the same signal (a shell reports 130 and 143). The worker dies with the launcher, even
// with one killed by SIGKILL (bin/worker-guard.js). Under npm (npx attnbench, npm run),
// npm's `sh -c` stands between npm and us and dies of npm's SIGTERM without passing it on,
// so there the launcher also ends the worker when its own parent goes away.
//
// WebGPU: a command line with `--device webgpu` (or `--device=webgpu`) needs a worker started
// with a working Vulkan setup in its environment (the loader's folder on LD_LIBRARY_PATH,
// which the C library reads only at a process's start, and the driver manifests). So the
// launcher chooses one BEFORE it starts the worker (src/device/choice.ts: the user's
// variables, the system's drivers, then the SwiftShader that npm ci brings; cached), and
// refuses with one line and exit code 2 when none works.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { webGpuEnv } from './webgpu-env.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const env = { ...process.env, ATTNBENCH_LAUNCHER_PID: String(process.pid) };
if (env.ATTNBENCH_MALLOC !== 'default') {
  env.MALLOC_MMAP_MAX_ ??= '0';
  env.MALLOC_TRIM_THRESHOLD_ ??= '68719476736';
}

const run = entry();
if (wantsWebGpu(process.argv.slice(2)) && !env.ATTNBENCH_WEBGPU) Object.assign(env, await chooseWebGpu(run.fromSource));

const guard = ['--import', new URL('./worker-guard.js', import.meta.url).href];
const child = spawn(process.execPath, [...guard, ...run.args, ...process.argv.slice(2)], { stdio: 'inherit', env });

for (const sig of SIGNALS) process.on(sig, () => child.kill(sig));
if (process.env.npm_lifecycle_script !== undefined) watchParent();

child.on('error', (e) => {
  process.stderr.write(`attnbench: cannot start node: ${e.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (code !== null) process.exit(code);
  dieOf(signal);
});

/** The node arguments that run the CLI: dist/ if it is current, else src/ through tsx. */
function entry() {
  const dist = { args: [path.join(root, 'dist/cli/main.js')], fromSource: false };
  const src = path.join(root, 'src/cli/main.ts');
  const viaTsx = () => ({ args: ['--import', import.meta.resolve('tsx/esm'), src], fromSource: true });
  if (env.ATTNBENCH_SOURCE === 'tsx') return viaTsx();
  // an installed package has no src/: dist/ is all there is
  if (!fs.existsSync(src)) return dist;
  if (fs.existsSync(dist.args[0]) && newestMtimeMs(path.join(root, 'src')) < buildStartedMs()) return dist;
  try {
    return viaTsx();
  } catch {
    process.stderr.write('attnbench: dist/ is older than src/ and tsx is not installed: run `npm run build`\n');
    process.exit(2);
  }
}

/** Does the command line ask for the WebGPU device? (Other device names are the CLI's to refuse.) */
function wantsWebGpu(args) {
  return args.some((a, i) => a === '--device=webgpu' || (a === '--device' && args[i + 1] === 'webgpu'));
}

/** The variables that give the worker a WebGPU adapter; on failure, the one-line refusal and exit code 2. */
async function chooseWebGpu(fromSource) {
  const r = await webGpuEnv({ root, fromSource, env });
  if (!r.ok) {
    process.stderr.write(`attnbench: error: ${r.refusal}\n`);
    process.exit(2);
  }
  if (!r.choice.cached) {
    const a = r.choice.adapter;
    process.stderr.write(`attnbench: WebGPU on ${a.description || a.driver} (${r.choice.source}${a.software ? ', a software adapter: not a GPU speed' : ''})\n`);
  }
  return r.env;
}

function buildStartedMs() {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'dist/build.json'), 'utf8')).startedMs;
  } catch {
    return -Infinity; // no finished build
  }
}

function newestMtimeMs(dir) {
  let newest = fs.statSync(dir).mtimeMs; // a deleted file changes its folder's time
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Exit as the worker did: killed by `signal`, so that our parent sees the same. */
function dieOf(signal) {
  for (const sig of SIGNALS) process.removeAllListeners(sig);
  process.kill(process.pid, signal);
  // a signal we cannot die of (ignored, say): the shell convention
  setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 100);
}

/** Under npm: end the worker when our parent (npm's shell) is gone, as npm's SIGTERM would have. */
function watchParent() {
  const parent = process.ppid;
  setInterval(() => {
    if (currentParent() !== parent) child.kill('SIGTERM');
  }, 200).unref();
}

function currentParent() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return process.ppid;
  }
}
