#!/usr/bin/env node
// Launcher: re-executes Node with glibc's malloc told to keep freed memory (no mmap for
// large blocks, no trimming), because on this kind of machine the first write to freshly
// mapped pages costs about 170 ms per 64 MiB and would dominate the timings. The result
// files record these settings. Set ATTNBENCH_MALLOC=default to measure without them.
// It also loads the TypeScript sources through tsx, so there is no build step.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const env = { ...process.env };
if (env.ATTNBENCH_MALLOC !== 'default') {
  env.MALLOC_MMAP_MAX_ ??= '0';
  env.MALLOC_TRIM_THRESHOLD_ ??= '68719476736';
}
const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx/esm'), main, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});
// pass termination on, so that a killed launcher never leaves its worker running
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('error', (e) => {
  process.stderr.write(`attnbench: cannot start node: ${e.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
