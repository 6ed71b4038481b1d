/**
 * Does the decoder compute the right thing on its device? The first decode step (and the
 * prefill before it) runs on the device and on the CPU provider with the same weights and
 * tokens, and the logits' normwise error is judged against VERIFY_TOLERANCE. The decode
 * step is the one a generation repeats, and on a device it reads a cache the device wrote
 * (`cacheUpdate: 'graph'`), so checking it checks the in-graph cache update too.
 */
import { maxRelError } from '../attention/reference.ts';
import { judge, type DeviceCheck } from '../device/verify.ts';
import { DecoderModel, type TokenBatch } from '../model/model.ts';
import { DeviceKvCache } from './device-kv-cache.ts';
import { KvCache, roundUp } from './kv-cache.ts';
import { argmaxExcept } from './search.ts';
import { leftPad, type PaddedBatch } from './prompts.ts';

export interface FirstStepCheck extends DeviceCheck {
  /** The prefill's logits against the CPU's. */
  prefillError: number;
}

const tokenBatch = (b: PaddedBatch): TokenBatch => ({ rows: b.rows, seq: b.seq, tokens: b.tokens, positions: b.positions, selfMask: b.mask });

/** Prefill and one decode step of `tokens` (one per row) on `m`, with the cache its settings call for: both logits. */
async function prefillAndStep(m: DecoderModel, b: PaddedBatch, next: (prefill: Float32Array) => BigInt64Array): Promise<[Float32Array, Float32Array]> {
  const shape = { ...m.cacheShape, rows: b.rows };
  const positions = BigInt64Array.from(b.nextPosition, BigInt);
  const step = (tokens: BigInt64Array) => ({ rows: b.rows, seq: 1, tokens, positions, selfMask: new Float32Array(b.rows) });
  if (m.cacheUpdate === 'caller') {
    const pre = await m.prefill(tokenBatch(b));
    const cache = new KvCache(shape, roundUp(b.seq + 1, 256));
    cache.writePrefill(pre.kv, b.seq, b.live);
    return [pre.logits, (await m.forward(step(next(pre.logits)), cache)).logits];
  }
  const cache = await DeviceKvCache.create(shape, b.seq + 1, { device: m.device });
  try {
    const logits = async (o: Awaited<ReturnType<DecoderModel['forwardResident']>>) => o.logits ?? ((await m.download(o.logitsOnDevice!)).data as Float32Array);
    const pre = await m.forwardResident(tokenBatch(b), cache);
    cache.adopt(pre.present, b.seq, b.live);
    const preLogits = await logits(pre);
    const out = await m.forwardResident(step(next(preLogits)), cache);
    cache.adopt(out.present, 1);
    return [preLogits, await logits(out)];
  } finally {
    await cache.release();
  }
}

/**
 * The first step of `device` (a decoder on any provider) against a CPU decoder with the same
 * weights and engine settings. The step feeds every row the CPU's greedy token, so both
 * sides step from the same tokens even when the device's prefill is wrong.
 */
export async function checkFirstStep(device: DecoderModel, prompts: readonly (readonly number[])[], threads = 1): Promise<FirstStepCheck> {
  const b = leftPad(prompts, 0);
  const cpu = new DecoderModel(device.packed, { threads, graphOpt: device.settings.graphOpt ?? 'all', weights: device.weightsAs });
  try {
    let chosen: BigInt64Array | null = null;
    const greedy = (logits: Float32Array) => {
      const v = device.config.vocab;
      chosen ??= BigInt64Array.from({ length: b.rows }, (_, r) => BigInt(argmaxExcept(logits.subarray(r * v, (r + 1) * v), -1)));
      return chosen;
    };
    const [refPre, refStep] = await prefillAndStep(cpu, b, greedy);
    const [devPre, devStep] = await prefillAndStep(device, b, greedy);
    return { ...judge(maxRelError(devStep, refStep), 'cpu'), prefillError: maxRelError(devPre, refPre) };
  } finally {
    await cpu.release();
  }
}
