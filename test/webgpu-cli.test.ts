/**
 * The commands with `--device webgpu`, end to end through the launcher, on the adapter this
 * machine gives (the SwiftShader npm ci brings, where nothing else is installed). Shapes
 * are tiny: a software adapter runs about 100× slower than the CPU provider.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { currentWebGpu } from '../src/device/choice.ts';
import { findLoader } from '../src/device/vulkan.ts';
import { readLayerFile } from '../src/results/io.ts';
import { GenerateResultFile } from '../src/results/schema.ts';
import { cli, EVENT_LIMIT_MS, ROOT, TEST_LIMIT_MS, tmpDir } from './helpers.ts';
import { webgpuEnv } from './webgpu-helpers.ts';

/** The launcher's choice on this machine (its adapter: software or not, its limits). */
const choice = async () => currentWebGpu(await webgpuEnv())!;

test('layers --device webgpu: the result carries the adapter, GPU stage times, GPU ceilings and every variant\'s check; fused-gqa at 32 is WRONG with no speedup', { timeout: TEST_LIMIT_MS }, async () => {
  const dir = tmpDir();
  const out = path.join(dir, 'layers.json');
  const args = ['layers', '--device', 'webgpu', '--mode', 'full', '--variants', 'multi-head,multi-query-1,fused-gqa:2', '--batch', '1', '--seq', '32', '--heads', '4', '--head-dim', '16'];
  const r = cli([...args, '--repeats', '3', '--warmup', '1', '--profile-runs', '2', '--out', out, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const file = readLayerFile(out);
  const { adapter } = await choice();
  const device = file.environment.device;
  assert.equal(device.kind, 'webgpu');
  assert.equal(device.adapter?.description, adapter.description);
  assert.equal(device.software, adapter.software || adapter.isFallbackAdapter === true);
  assert.match(device.profiler ?? '', /GPU program times/);
  if (device.software) assert.match(r.stderr, /SOFTWARE adapter: its times are not a GPU speed/);
  // the ceilings were probed on the GPU (its program times), with no CPU peak beside them
  const ceilings = file.environment.ceilings!;
  assert.match(ceilings.method, /WebGPU on .*GPU program times/);
  assert.equal(ceilings.peak, null);
  assert.ok(ceilings.matmulGflops > 0 && ceilings.readGBps > 0);
  assert.equal(file.config?.device, 'webgpu');
  const by = (v: string) => file.results.find((x) => x.attention === v)!;
  for (const res of file.results) {
    // stages from GPU events: each stage that ran a program has GPU time (a reshape-only stage runs none); the share outside the GPU programs is a share
    const ran = res.stages.filter((s) => s.ops.length > 0);
    assert.ok(ran.length >= 3 && ran.every((s) => s.kernelMs > 0 && s.wallMs >= s.kernelMs), `${res.attention}: ${JSON.stringify(res.stages)}`);
    assert.ok(res.outsideKernelsShare !== null && res.outsideKernelsShare >= 0 && res.outsideKernelsShare < 1);
    // checked without --verify: every variant on a device is; at this size against float64
    assert.equal(res.verify?.against, 'float64 reference');
    assert.equal(res.verify?.seq, 32);
  }
  for (const v of ['multi-head', 'multi-query-1']) assert.ok(by(v).verify!.ok && by(v).verify!.maxRelError < 1e-5, `${v}: ${by(v).verify!.maxRelError}`);
  assert.ok(by('multi-query-1').speedup !== null, 'a right result has its speedup');
  // onnxruntime-node 1.30's fused attention on a software adapter: wrong from sequence 32 (docs/webgpu.md §3)
  if (device.software) {
    const fused = by('fused-gqa:2');
    assert.equal(fused.verify!.ok, false, `fused-gqa: ${fused.verify!.maxRelError}`);
    assert.ok(fused.verify!.maxRelError > 1e-2);
    assert.equal(fused.speedup, null, 'a wrong result gets no speedup');
    const row = (JSON.parse(r.stdout) as { variant: string; check: string; speedup: string | null }[]).find((x) => x.variant === 'fused-gqa:2')!;
    assert.match(row.check, /^WRONG /);
    assert.equal(row.speedup, null);
    // the report says it under every chart and in the titles of the result tables
    const rep = cli(['report', out, '--out', path.join(dir, 'report')]);
    assert.equal(rep.status, 0, rep.stderr);
    const summary = fs.readFileSync(path.join(dir, 'report', 'summary.md'), 'utf8');
    assert.match(summary, /^## Layer results — .* — SOFTWARE adapter: not a GPU's speed$/m);
    assert.match(summary, /^\| device \| onnxruntime-node WebGPU on .* — SOFTWARE adapter: not a GPU's speed \|$/m);
    assert.match(fs.readFileSync(path.join(dir, 'report', 'total-time.svg'), 'utf8'), /SOFTWARE adapter: not a GPU(&apos;|&#39;|')s speed/);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('layers --device webgpu --weight-dtype int4: MatMulNBits on the GPU, checked against float64 (the dequantized weights, float inputs, as the GPU kernel computes) and its error against float32 beside; int8 weights are refused', { timeout: TEST_LIMIT_MS }, async () => {
  const dir = tmpDir();
  const out = path.join(dir, 'layers.json');
  const args = ['layers', '--device', 'webgpu', '--mode', 'full', '--variants', 'multi-head,multi-query-1', '--batch', '1', '--seq', '32', '--heads', '4', '--head-dim', '16'];
  const r = cli([...args, '--weight-dtype', 'float32,int4', '--repeats', '3', '--warmup', '1', '--profile-runs', '0', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const file = readLayerFile(out);
  assert.equal(file.environment.device.kind, 'webgpu');
  assert.equal(file.results.length, 4);
  for (const res of file.results.filter((x) => x.weightDtype === 'int4')) {
    assert.ok(res.verify?.ok, `${res.attention}: ${res.verify?.maxRelError}`);
    // as exact as float32 on the GPU: the reference computes what the kernel does
    assert.ok(res.verify!.maxRelError < 1e-5, `${res.attention}: ${res.verify!.maxRelError}`);
    // and the precision costs what 4 bits cost against float32
    assert.ok(res.quality!.maxRelError > 1e-2, `${res.attention}: ${res.quality!.maxRelError}`);
    assert.equal(res.speedup === null, res.attention === 'multi-head');
  }
  const int8 = cli([...args, '--weight-dtype', 'int8', '--out', path.join(dir, 'int8.json')]);
  assert.equal(int8.status, 2);
  assert.match(int8.stderr.trim(), /^attnbench: error: --weight-dtype int8 on webgpu: .*DynamicQuantizeMatMul.* no WebGPU kernel/);
  assert.ok(!fs.existsSync(path.join(dir, 'int8.json')));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('generate --device webgpu: the cache on the GPU, each type\'s first step checked against the CPU, GPU stage times of a profiled step; fused-gqa past 32 WRONG with no speedup', { timeout: TEST_LIMIT_MS }, async () => {
  const dir = tmpDir();
  const out = path.join(dir, 'generate.json');
  const tiny = ['--layers', '2', '--hidden', '32', '--heads', '4', '--positions', '64', '--vocab', '300'];
  const r = cli(['generate', '--device', 'webgpu', ...tiny, '--attention', 'multi-head,multi-query-1,fused-gqa:2', '--batch', '2', '--prompt-length', '34', '--max-new-tokens', '4', '--repeats', '2', '--out', out, '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  const file = GenerateResultFile.parse(JSON.parse(fs.readFileSync(out, 'utf8')));
  const device = file.environment.device;
  assert.equal(device.kind, 'webgpu');
  assert.equal(device.adapter?.description, (await choice()).adapter.description);
  assert.match(file.environment.ceilings!.method, /WebGPU on .*GPU program times/);
  // the seed's dict names the device it ran on
  assert.match(r.stdout, /'device': 'webgpu', 'device_name': 'onnxruntime-node WebGPU on /);
  const by = (a: string) => file.results.find((x) => x.attention === a)!;
  for (const res of file.results) {
    assert.equal(res.verify?.against, 'cpu provider');
    assert.equal(res.verify?.seq, 34);
    // the profiled step at the largest context: its stages from GPU programs, no bytes (GPU events carry none)
    const p = res.profiledStep!;
    assert.equal(p.context, 34 + 4 - 1);
    assert.equal(p.bytes, null);
    assert.ok(p.stages.filter((s) => s.kernelMs > 0).length >= 5, JSON.stringify(p.stages));
    assert.ok(res.decodeMsPerToken.n === 2 * 3 && res.decodeMsPerToken.median > 0);
  }
  for (const a of ['multi-head', 'multi-query-1']) assert.ok(by(a).verify!.ok && by(a).verify!.maxRelError < 1e-5, `${a}: ${JSON.stringify(by(a).verify)}`);
  assert.ok(by('multi-query-1').speedup !== null);
  if (device.software) {
    const fused = by('fused-gqa:2');
    assert.equal(fused.verify!.ok, false, JSON.stringify(fused.verify));
    assert.equal(fused.speedup, null);
    assert.equal(fused.generateSpeedup, null);
    assert.match(r.stdout, /\| fused-gqa:2 \|.*\| WRONG \d/);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('layers --device webgpu: a shape over the adapter\'s buffer limits is refused before any work, in one line, exit 2', { timeout: TEST_LIMIT_MS }, async (t) => {
  const { adapter } = await choice();
  if (!adapter.limits) return t.skip('the adapter\'s limits were not read (the optional webgpu package is not installed)');
  const dir = tmpDir();
  const out = path.join(dir, 'layers.json');
  // the q·kᵀ scores of batch 16 at 1984 positions: 4 GiB, over SwiftShader's and lavapipe's limits
  const r = cli(['layers', '--device', 'webgpu', '--variants', 'multi-head', '--batch', '16', '--seq', '1984', '--out', out]);
  const limit = Math.min(adapter.limits.maxBufferSize, adapter.limits.maxStorageBufferBindingSize * adapter.limits.maxStorageBuffersPerShaderStage / 3);
  if (16 * 16 * 1984 * 1984 * 4 <= limit) return t.skip('this adapter holds the shape');
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('attnbench: WebGPU on'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^attnbench: error: --device webgpu: multi-head at batch 16, seq 1984: .*(maxBufferSize|maxStorageBuffersPerShaderStage)/);
  assert.deepEqual(fs.readdirSync(dir), [], 'no file written, no journal');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('generate --device webgpu: a decoder over the adapter\'s buffer limits is refused before any work, in one line, exit 2', { timeout: TEST_LIMIT_MS }, async (t) => {
  const { adapter } = await choice();
  // the prefill's scores of 9 rows × 16 heads × 1024 tokens against 3072 keys: 1.69 GiB, over SwiftShader's 1 GiB buffers
  if (!adapter.limits || adapter.limits.maxBufferSize >= 9 * 16 * 1024 * 3072 * 4) return t.skip('this adapter holds the shape, or its limits were not read');
  const dir = tmpDir();
  const out = path.join(dir, 'generate.json');
  const r = cli(['generate', '--device', 'webgpu', '--layers', '1', '--hidden', '1024', '--heads', '16', '--vocab', '300', '--positions', '2048', '--batch', '9', '--prompt-length', '1024', '--max-length', '2048', '--out', out]);
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('attnbench: WebGPU on'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^attnbench: error: --device webgpu: the decoder at 9 rows, prompt 1024, 1024 new tokens: the scores tensor \[9, 16, 1024, 3072\] is 1\.69 GiB, over this adapter's largest buffer/);
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('generate --device webgpu: the CPU provider\'s greedy tokens, with eos skipped by the graph\'s own ArgMax (GPT-2\'s vocabulary, so eos is a token)', { timeout: TEST_LIMIT_MS }, async () => {
  const dir = tmpDir();
  const args = ['generate', '--layers', '2', '--hidden', '32', '--heads', '4', '--positions', '64', '--vocab', '50257', '--attention', 'multi-head,grouped-query:2', '--batch', '2', '--prompt-length', '8', '--max-new-tokens', '6', '--repeats', '1', '--threads', '1', '--no-progress'];
  const seqs = ['cpu', 'webgpu'].map((device) => {
    const out = path.join(dir, `${device}.json`);
    const r = cli([...args, '--device', device, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    return GenerateResultFile.parse(JSON.parse(fs.readFileSync(out, 'utf8'))).results.map((x) => x.sequences);
  });
  assert.deepEqual(seqs[1], seqs[0]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('generate --device webgpu --no-kv-cache: every type\'s greedy tokens are the CPU provider\'s (the cache-less step attends to one masked position there: the provider crashes on an empty cache)', { timeout: TEST_LIMIT_MS }, async () => {
  const dir = tmpDir();
  const args = ['generate', '--no-kv-cache', '--layers', '2', '--hidden', '32', '--heads', '4', '--positions', '64', '--vocab', '300', '--attention', 'multi-head,fused-gqa:2', '--batch', '2', '--prompt-length', '8', '--max-new-tokens', '4', '--repeats', '1', '--threads', '1', '--no-progress'];
  const files = Object.fromEntries(
    ['cpu', 'webgpu'].map((device) => {
      const out = path.join(dir, `${device}.json`);
      const r = cli([...args, '--device', device, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      return [device, GenerateResultFile.parse(JSON.parse(fs.readFileSync(out, 'utf8')))];
    }),
  );
  for (const [i, cpu] of files.cpu!.results.entries()) {
    const gpu = files.webgpu!.results[i]!;
    assert.equal(gpu.attention, cpu.attention);
    assert.deepEqual(gpu.sequences, cpu.sequences, `${cpu.attention}: the greedy tokens`);
    assert.ok(gpu.verify!.ok && gpu.verify!.maxRelError < 1e-5, `${gpu.attention}: ${JSON.stringify(gpu.verify)}`);
    assert.equal(cpu.verify, undefined, 'a CPU run is the reference, not checked');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--device: an unknown name is refused in one line with exit 2, for layers and generate', () => {
  for (const cmd of ['layers', 'generate']) {
    const r = cli([cmd, '--device', 'tpu']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: option '--device <name>' argument 'tpu' is invalid\. Allowed choices are cpu, webgpu/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('--device webgpu in a process started without a Vulkan setup (not through the launcher): refused before any file, exit 2', { timeout: TEST_LIMIT_MS }, (t) => {
  if (findLoader(undefined)) return t.skip('this machine has a system Vulkan loader: a process gets an adapter without the launcher');
  const dir = tmpDir();
  const env = { ...process.env };
  for (const k of ['ATTNBENCH_WEBGPU', 'VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'LD_LIBRARY_PATH']) delete env[k];
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx/esm'), path.join(ROOT, 'src/cli/main.ts'), 'layers', '--device', 'webgpu', '--batch', '1', '--seq', '16', '--out', path.join(dir, 'r.json')], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: EVENT_LIMIT_MS,
  });
  assert.equal(r.status, 2, r.stderr);
  // Dawn prints its own warnings on stderr first (native code); attnbench's is the one last line
  const ours = r.stderr.trim().split('\n').filter((l) => l.startsWith('attnbench'));
  assert.equal(ours.length, 1, r.stderr);
  assert.match(ours[0]!, /^attnbench: error: --device webgpu: this process has no WebGPU adapter .*attnbench launcher/);
  assert.deepEqual(fs.readdirSync(dir), [], 'no journal, no result');
  fs.rmSync(dir, { recursive: true, force: true });
});
