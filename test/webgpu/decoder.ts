/**
 * WebGPU child of test/webgpu.test.ts: a tiny decoder of each type given, on the WebGPU
 * provider with its cache on the GPU (written by the step graph, fed back, never read by
 * JS), against the same weights on the CPU provider with the JS cache. Prints one JSON line
 * per run: the greedy and beam tokens of both, the first step's check, and the largest
 * difference between the GPU cache (downloaded) and the CPU cache after a generation.
 */
import { parseVariant } from '../../src/attention/spec.ts';
import { Downloader } from '../../src/engine/download.ts';
import { DeviceKvCache } from '../../src/generate/device-kv-cache.ts';
import { generate, type GenerationOptions } from '../../src/generate/generate.ts';
import { KvCache } from '../../src/generate/kv-cache.ts';
import { checkFirstStep } from '../../src/generate/verify.ts';
import { modelKvHeads, type ModelConfig } from '../../src/model/config.ts';
import { DecoderModel } from '../../src/model/model.ts';
import { pack, randomWeights } from '../../src/model/weights.ts';

const TINY: ModelConfig = { layers: 2, hidden: 32, heads: 4, positions: 64, vocab: 120, inner: 64, layerNormEps: 1e-5, activation: 'gelu_new' };
// the cache grows twice (chunks of 8) and eos is skipped for the first 3 tokens (the argmax path then reads the logits)
const OPTS: GenerationOptions = { maxNewTokens: 10, minNewTokens: 3, eos: 7, pad: 0, doSample: false, temperature: 1, topK: 0, topP: 1, seed: 1, numBeams: 1, lengthPenalty: 1, earlyStopping: false, kvCache: true, cacheChunk: 8 };
const PROMPTS = [[3, 4, 5, 6, 7, 8], [9, 10], [11, 12, 13]];

/** max |a − b| over the live part of a host cache and a device cache of the same shape. */
async function cacheDifference(host: KvCache, dev: DeviceKvCache): Promise<number> {
  const dl = new Downloader();
  let diff = 0;
  for (let i = 0; i < host.shape.layers; i++) {
    const [hk, hv] = host.tensors(i);
    const [dk, dv] = dev.tensors(i);
    for (const [h, d] of [[hk, dk], [hv, dv]] as const) {
      const got = (await dl.download(d)).data as Float32Array;
      const want = h.data as Float32Array;
      for (let j = 0; j < want.length; j++) diff = Math.max(diff, Math.abs(got[j]! - want[j]!));
    }
  }
  await dl.release();
  return diff;
}

const out = [];
for (const name of process.argv.slice(2)) {
  const spec = parseVariant(name);
  const pm = pack(randomWeights(TINY, modelKvHeads(TINY, spec), { seed: 5, std: 0.4, biasStd: 0.1 }), spec);
  const cpu = new DecoderModel(pm, { threads: 1 });
  const gpu = new DecoderModel(pm, { threads: 1, device: 'webgpu', argmax: true });
  const beams = { ...OPTS, numBeams: 3, maxNewTokens: 6 };
  const row = {
    variant: name,
    cacheUpdate: gpu.cacheUpdate,
    greedy: { cpu: (await generate(cpu, PROMPTS, OPTS)).generated, gpu: (await generate(gpu, PROMPTS, OPTS)).generated },
    beam: { cpu: (await generate(cpu, PROMPTS.slice(0, 2), beams)).generated, gpu: (await generate(gpu, PROMPTS.slice(0, 2), beams)).generated },
    firstStep: await checkFirstStep(gpu, PROMPTS),
    cacheDiff: 0,
  };
  // a host cache of random content, copied to the GPU; both take the same two steps, then the GPU copy is read back
  const host = new KvCache({ ...cpu.cacheShape, rows: 2 }, 16, 8);
  for (const b of [...host.k, ...host.v]) b.forEach((_, j) => (b[j] = Math.sin(j)));
  host.mask.fill(0, 0, 5);
  host.mask.fill(0, 16, 21);
  host.length = 5;
  const dev = await DeviceKvCache.fromHost(host, { device: 'webgpu' });
  for (const [t, pos] of [[17, 5], [23, 6]] as const) {
    const step = { rows: 2, seq: 1, tokens: BigInt64Array.from([t, t + 1], BigInt), positions: BigInt64Array.from([pos, pos], BigInt), selfMask: new Float32Array(2) };
    host.append((await cpu.forward(step, host)).kv);
    dev.adopt((await gpu.forwardResident(step, dev)).present, 1);
  }
  row.cacheDiff = await cacheDifference(host, dev);
  await dev.release();
  out.push(row);
  await cpu.release();
  await gpu.release();
}
console.log(JSON.stringify(out));
