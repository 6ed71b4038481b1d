// Preloaded into the worker (node --import) by bin/attnbench.js: the worker dies with its
// launcher. A launcher killed by SIGKILL cannot pass anything on, so the worker watches it:
// a thread (which keeps running while the main thread is busy in a long computation) checks
// every 200 ms whether the worker's parent is still the launcher, and if not, ends the
// worker with SIGTERM, then SIGKILL if that has not ended it within 2 s.
import fs from 'node:fs';
import { isMainThread, Worker, workerData } from 'node:worker_threads';

const WATCH = 'attnbenchWatchParent';

/** The parent's pid, read fresh (process.ppid may be a value cached at start-up). */
function currentParent() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // not Linux: fall back to asking whether the old parent exists
  }
}

function parentGone(parent) {
  const now = currentParent();
  if (now !== undefined) return now !== parent;
  try {
    process.kill(parent, 0);
    return false;
  } catch (e) {
    return e.code === 'ESRCH';
  }
}

function watch(parent) {
  const timer = setInterval(() => {
    if (!parentGone(parent)) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2000);
  }, 200);
}

if (isMainThread) {
  // the parent as the worker saw it at start; the thread may start later than that
  const launcher = Number(process.env.ATTNBENCH_LAUNCHER_PID) || process.ppid;
  new Worker(new URL(import.meta.url), { workerData: { [WATCH]: launcher }, execArgv: [], env: {}, stdout: false, stderr: false }).unref();
} else if (workerData?.[WATCH]) {
  watch(workerData[WATCH]);
}
