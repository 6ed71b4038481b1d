/**
 * The WebGPU device layer without a GPU: naming why no adapter came up (from Dawn's warnings
 * as measured with onnxruntime-node 1.30), the order of the Vulkan candidates, the
 * launcher's cached choice and how the worker reads it, the adapter record without the
 * optional webgpu package, the verification rule, and the fit checks.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { adapterFromManifest, type AdapterLimits } from '../src/device/adapter.ts';
import { currentWebGpu, providerChoice, launchWebGpu, WEBGPU_VAR, type WebGpuChoice } from '../src/device/choice.ts';
import { checkFits, decoderPrograms, layerPrograms } from '../src/device/limits.ts';
import { classify, refusal, type ProbeResult } from '../src/device/probe.ts';
import { judge, verdict, VERIFY_TOLERANCE } from '../src/device/verify.ts';
import { driverKind, readIcd, setupFingerprint, vulkanCandidates, type BundledVulkan } from '../src/device/vulkan.ts';
import { machine } from '../src/report/chart-style.ts';
import { environment, webgpuDevice } from '../src/results/environment.ts';
import { DeviceRecord } from '../src/results/schema.ts';
import { tmpDir } from './helpers.ts';

const ORT = 'Failed to get a WebGPU adapter: No supported adapters';

test('each measured failure is told apart', () => {
  assert.equal(classify(["Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory"], ORT), 'no-loader');
  assert.equal(classify(['Warning: vkCreateInstance: Found no drivers!', 'Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER'], ORT), 'no-driver');
  assert.equal(classify(['Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.', ' - While initializing adapter (backend=BackendType::Vulkan)'], ORT), 'rejected');
  assert.equal(classify([], 'wrong MatMul result (max error 3)'), 'wrong-result');
  assert.equal(classify([], ORT), 'other');
});

test('the refusal is one line naming each attempt and how to fix the last', () => {
  const lvp22: ProbeResult = {
    candidate: { source: 'system', loader: '/usr/lib/x86_64-linux-gnu/libvulkan.so.1', icds: [{ manifest: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', library: 'libvulkan_lvp.so', kind: 'lavapipe', apiVersion: '1.1.230' }], env: {} },
    ok: false,
    failure: 'rejected',
    detail: `Warning: Vulkan shaderUniform*ArrayDynamicIndexing required. | ${ORT}`,
  };
  const line = refusal([lvp22]);
  assert.ok(!line.includes('\n'));
  assert.match(line, /^--device webgpu: no usable WebGPU adapter: system \(lavapipe\): the engine rejected the adapter \(Vulkan shaderUniform\*ArrayDynamicIndexing required\.\); .*bookworm-backports/);
  const noLoader: ProbeResult = { ...lvp22, failure: 'no-loader', candidate: { ...lvp22.candidate, loader: null } };
  assert.match(refusal([noLoader]), /no Vulkan loader \(libvulkan\.so\.1\); run npm ci .*apt-get install libvulkan1$/);
  const noDriver: ProbeResult = { ...lvp22, failure: 'no-driver' };
  assert.match(refusal([lvp22, noDriver]), /system \(lavapipe\): the engine rejected .*; system \(lavapipe\): the Vulkan loader found no driver; install a Vulkan driver/);
  assert.match(refusal([]), /no Vulkan driver found and no SwiftShader/);
});

test('drivers are named from their library; a manifest\'s relative library is relative to it', () => {
  assert.equal(driverKind('./libvk_swiftshader.so'), 'swiftshader');
  assert.equal(driverKind('/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so'), 'lavapipe');
  assert.equal(driverKind('libGLX_nvidia.so.0'), 'nvidia');
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'icd.json'), JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: './libvk_swiftshader.so', api_version: '1.0.5' } }));
  assert.deepEqual(readIcd(path.join(dir, 'icd.json')), { manifest: path.join(dir, 'icd.json'), library: path.join(dir, 'libvk_swiftshader.so'), kind: 'swiftshader', apiVersion: '1.0.5' });
  fs.writeFileSync(path.join(dir, 'bad.json'), '{}');
  assert.equal(readIcd(path.join(dir, 'bad.json')), null);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A bundled SwiftShader stand-in: a manifest and a loader file in a folder (nothing is loaded here). */
function fakeBundle(): BundledVulkan & { dir: string } {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'vk_swiftshader_icd.json'), JSON.stringify({ ICD: { library_path: './libvk_swiftshader.so', api_version: '1.0.5' } }));
  fs.writeFileSync(path.join(dir, 'libvulkan.so.1'), '');
  return { dir, icdFile: path.join(dir, 'vk_swiftshader_icd.json'), loaderDir: dir };
}

test('candidates: the user\'s drivers first (with the bundled loader where the system has none), the bundled SwiftShader last', () => {
  const b = fakeBundle();
  const user = path.join(b.dir, 'user_icd.json');
  fs.writeFileSync(user, JSON.stringify({ ICD: { library_path: '/opt/mesa/libvulkan_lvp.so' } }));
  const env = { VK_DRIVER_FILES: user, LD_LIBRARY_PATH: '/opt/x' };
  const [first, last, ...rest] = vulkanCandidates(env, b);
  assert.equal(rest.length, 0);
  assert.equal(first!.source, 'env');
  assert.deepEqual(first!.icds.map((i) => i.kind), ['lavapipe']);
  assert.equal(first!.loader === path.join(b.dir, 'libvulkan.so.1'), Boolean(first!.env.LD_LIBRARY_PATH), 'borrowed loader and its folder go together');
  if (first!.env.LD_LIBRARY_PATH) assert.equal(first!.env.LD_LIBRARY_PATH, `${b.dir}:/opt/x`, 'no loader on this machine: the bundled one is borrowed');
  assert.equal(last!.source, 'swiftshader');
  assert.deepEqual(last!.env, { LD_LIBRARY_PATH: `${b.dir}:/opt/x`, VK_DRIVER_FILES: b.icdFile, VK_ICD_FILENAMES: b.icdFile });
  assert.deepEqual(vulkanCandidates({ VK_DRIVER_FILES: user }, null).map((c) => c.source), ['env'], 'no bundle, no SwiftShader');
  fs.rmSync(b.dir, { recursive: true, force: true });
});

const CHOICE: WebGpuChoice = {
  source: 'swiftshader',
  loader: '/x/libvulkan.so.1',
  drivers: [],
  env: { VK_DRIVER_FILES: '/x/icd.json', LD_LIBRARY_PATH: '/x' },
  adapter: adapterFromManifest([{ manifest: '/x/icd.json', library: '/x/libvk_swiftshader.so', kind: 'swiftshader', apiVersion: '1.0.5' }]),
  probeMs: 900,
  cached: false,
};

test('the launcher reuses a cached choice while nothing it depends on changed, and the worker reads it back', () => {
  const b = fakeBundle();
  const cacheFile = path.join(b.dir, 'cache', 'webgpu-choice.json');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  fs.mkdirSync(path.dirname(cacheFile));
  fs.writeFileSync(cacheFile, JSON.stringify({ fingerprint: setupFingerprint(env, b), choice: CHOICE }));
  // a hit starts no probe: the fake bundle's loader is an empty file that could never run one
  const hit = launchWebGpu(env, b, { cacheFile });
  assert.ok(hit.ok);
  assert.equal(hit.choice.cached, true);
  assert.equal(hit.env.VK_DRIVER_FILES, '/x/icd.json');
  assert.equal(hit.env.PATH, process.env.PATH);
  const back = currentWebGpu(hit.env)!;
  assert.equal(back.source, 'swiftshader');
  assert.deepEqual(providerChoice('webgpu', hit.env), { provider: 'webgpu', source: 'swiftshader', adapter: CHOICE.adapter, software: true });
  assert.deepEqual(providerChoice('cpu', hit.env), { provider: 'cpu' });
  assert.deepEqual(providerChoice('webgpu', {}), { provider: 'webgpu', source: 'unknown', adapter: null, software: false });
  assert.equal(currentWebGpu({ [WEBGPU_VAR]: 'not json' }), null);
  // what the choice depends on: the Vulkan variables and the bundled driver
  assert.notEqual(setupFingerprint({ ...env, VK_ICD_FILENAMES: '/y.json' }, b), setupFingerprint(env, b));
  assert.notEqual(setupFingerprint(env, null), setupFingerprint(env, b));
  fs.rmSync(b.dir, { recursive: true, force: true });
});

test('without the webgpu package the record comes from the driver manifest: software only when every driver is', () => {
  const icd = (kind: 'swiftshader' | 'lavapipe' | 'nvidia') => ({ manifest: `/m/${kind}.json`, library: `lib${kind}.so`, kind, apiVersion: '1.3' });
  const ss = adapterFromManifest([icd('swiftshader')]);
  assert.equal(ss.from, 'driver-manifest');
  assert.equal(ss.software, true);
  assert.equal(ss.limits, null);
  assert.equal(ss.isFallbackAdapter, null);
  assert.equal(adapterFromManifest([icd('lavapipe'), icd('nvidia')]).software, false, 'Dawn prefers the GPU');
  assert.equal(adapterFromManifest([]).software, false);
});

test('verification: beyond the tolerance, or not a number, is wrong', () => {
  assert.equal(VERIFY_TOLERANCE, 1e-4);
  assert.deepEqual(judge(3e-7, 'float64'), { error: 3e-7, against: 'float64', tolerance: 1e-4, wrong: false });
  assert.equal(judge(0.13, 'cpu').wrong, true);
  assert.equal(judge(Number.NaN, 'cpu').wrong, true);
  assert.equal(judge(2e-4, 'cpu', 1e-3).wrong, false);
});

test("a result's verdict is judged by the same rule, and records a broken output as the largest double", () => {
  assert.deepEqual(verdict(3e-7, 'float64 reference', 2, 32), { maxRelError: 3e-7, tolerance: VERIFY_TOLERANCE, ok: true, against: 'float64 reference', batch: 2, seq: 32 });
  assert.equal(verdict(2e-4, 'cpu provider', 1, 16).ok, false);
  for (const broken of [Number.NaN, Infinity]) {
    const v = verdict(broken, 'cpu provider', 1, 16);
    assert.deepEqual([v.maxRelError, v.ok], [Number.MAX_VALUE, false], String(broken));
    assert.equal(judge(broken, 'cpu').wrong, !v.ok, 'the device tests and the results agree');
  }
});

const base = { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupsPerDimension: 65535 };
// as read through the webgpu package (docs/webgpu.md §1)
const SWIFTSHADER: AdapterLimits = { ...base, maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30, maxStorageBuffersPerShaderStage: 12 };
const LAVAPIPE: AdapterLimits = { ...base, maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27, maxStorageBuffersPerShaderStage: 16 };
const H200: AdapterLimits = { ...base, maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 31 - 4, maxStorageBuffersPerShaderStage: 16 };
const shape = (batch: number, seq: number, kvHeads = 16) => ({ batch, seq, heads: 16, kvHeads, headDim: 64 });

test('fit: the seed grid\'s small end fits every adapter; a score matrix over maxBufferSize is refused, naming it', () => {
  for (const l of [SWIFTSHADER, LAVAPIPE, H200]) assert.equal(checkFits(layerPrograms(shape(8, 512), 'seed'), l), null);
  // [16, 16, 1984, 1984] float32 = 3.75 GiB
  const why = checkFits(layerPrograms(shape(16, 1984), 'seed'), SWIFTSHADER);
  assert.match(why!, /scores tensor \[16, 16, 1984, 1984\] is 3\.75 GiB, over this adapter's largest buffer \(maxBufferSize 1\.00 GiB\)/);
  assert.equal(checkFits(layerPrograms(shape(16, 1984), 'seed'), H200), null);
});

test('fit: lavapipe binds 128 MiB pieces, at most 16 per program', () => {
  // b8 s1024: scores 512 MiB = 4 segments, q and out 32 MiB each: 6 per MatMul, fits
  assert.equal(checkFits(layerPrograms(shape(8, 1024), 'full'), LAVAPIPE), null);
  // b16 s1984: scores 3.75 GiB = 30 segments > 16
  assert.match(checkFits(layerPrograms(shape(16, 1984), 'seed'), LAVAPIPE)!, /q·kᵀ MatMul would bind 3\d storage-buffer segments .* over this adapter's 16 per program/);
});

test('fit: the seed\'s generation fits; a prefill whose scores outgrow a buffer is refused', () => {
  // --preset seed: 8 rows, prompt 16, up to 1024 positions, 16 heads of 64, GPT-2's vocabulary; multi-head (g = 16)
  const seed = { rows: 8, seq: 1, capacity: 1024, heads: 16, kvHeads: 16, headDim: 64, hidden: 1024, inner: 4096, vocab: 50257 };
  for (const l of [SWIFTSHADER, LAVAPIPE, H200]) assert.equal(checkFits(decoderPrograms(seed), l), null);
  const longPrefill = { ...seed, rows: 16, seq: 2048, capacity: 2304 };
  assert.match(checkFits(decoderPrograms(longPrefill), SWIFTSHADER)!, /scores tensor \[16, 16, 2048, 4352\] is 8\.50 GiB, over this adapter's largest buffer/);
});

test("a WebGPU run's device record: the adapter, its driver, whether it is software; the report marks a software one beside every chart", () => {
  const swiftshader = { ...CHOICE.adapter, from: 'webgpu-package' as const, vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true, software: true };
  const d = webgpuDevice({ [WEBGPU_VAR]: JSON.stringify({ ...CHOICE, adapter: swiftshader }) });
  assert.deepEqual(DeviceRecord.parse(d), d);
  assert.equal(d.kind, 'webgpu');
  assert.equal(d.provider, 'WebGpuExecutionProvider');
  assert.equal(d.description, 'onnxruntime-node WebGPU on google swiftshader SwiftShader driver 5.0.0 (swiftshader)');
  assert.equal(d.software, true);
  assert.deepEqual(d.adapter, { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', fallback: true, driver: swiftshader.driver });
  assert.match(d.profiler!, /GPU program times/);
  assert.match(machine(environment(2, 'all', null, d)), /^onnxruntime-node WebGPU on google swiftshader .* — SOFTWARE adapter: not a GPU's speed; host /);
  // a GPU's adapter is not marked
  const h200 = { ...swiftshader, vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200', isFallbackAdapter: false, software: false };
  const gpu = webgpuDevice({ [WEBGPU_VAR]: JSON.stringify({ ...CHOICE, source: 'env', adapter: h200 }) });
  assert.equal(gpu.software, false);
  assert.doesNotMatch(machine(environment(2, 'all', null, gpu)), /SOFTWARE/);
  // a worker started without the launcher's choice records what it knows: nothing about the adapter
  assert.deepEqual(webgpuDevice({}).adapter, null);
  assert.equal(webgpuDevice({}).description, 'onnxruntime-node WebGPU on an unrecorded adapter');
});
