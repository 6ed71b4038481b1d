#!/usr/bin/env node
// Run a benchmark script under the same conditions as the tool (glibc malloc settings, tsx,
// and with `--device webgpu` the Vulkan setup the launcher would choose):
//   node bench/run.js layers-vs-torch [flags]
//   node bench/run.js webgpu-decode --device webgpu
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { webGpuEnv } from '../bin/webgpu-env.js';

const [name, ...args] = process.argv.slice(2);
if (!name) {
  process.stderr.write('usage: node bench/run.js <layers-vs-torch|generate|precision|int8-routes|webgpu-decode|webgpu-traffic|browser> [flags]\n');
  process.exit(2);
}
const env = { ...process.env, MALLOC_MMAP_MAX_: process.env.MALLOC_MMAP_MAX_ ?? '0', MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? '68719476736' };
if (process.env.ATTNBENCH_MALLOC === 'default') {
  delete env.MALLOC_MMAP_MAX_;
  delete env.MALLOC_TRIM_THRESHOLD_;
}
if (args.some((x, i) => x === '--device=webgpu' || (x === '--device' && args[i + 1] === 'webgpu'))) {
  const r = await webGpuEnv({ root: fileURLToPath(new URL('..', import.meta.url)), fromSource: true, env });
  if (!r.ok) {
    process.stderr.write(`${r.refusal}\n`);
    process.exit(2);
  }
  Object.assign(env, r.env);
}
const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx/esm'), script, ...args], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
