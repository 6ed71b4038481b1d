/** Loading tiny gpt2 and gpt_bigcode checkpoints that the tests write, and every way a checkpoint can be bad. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseVariant } from '../src/attention/spec.ts';
import { MASK_MIN } from '../src/core/constants.ts';
import { UsageError } from '../src/core/errors.ts';
import { checkMemory } from '../src/core/memory.ts';
import { inspectCheckpoint, loadCheckpoint } from '../src/model/checkpoint.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { DecoderModel } from '../src/model/model.ts';
import { referenceLogits } from '../src/model/reference.ts';
import { readHeader, readTensor } from '../src/model/safetensors.ts';
import { convertKvHeads, pack, randomWeights, type ModelWeights } from '../src/model/weights.ts';
import { writeBigcode, writeGpt2 } from './checkpoint-helpers.ts';
import { tmpDir } from './helpers.ts';
import { encodeSafetensors } from './safetensors-writer.ts';

const TINY: ModelConfig = { layers: 2, hidden: 32, heads: 4, positions: 40, vocab: 120, inner: 128, layerNormEps: 1e-5, activation: 'gelu_new' };

function sameWeights(a: ModelWeights, b: ModelWeights): void {
  assert.deepEqual(a.config, b.config);
  assert.equal(a.kvHeads, b.kvHeads);
  assert.deepEqual(a.wte, b.wte);
  assert.deepEqual(a.wpe, b.wpe);
  assert.deepEqual(a.lnf, b.lnf);
  a.blocks.forEach((x, i) => {
    const y = b.blocks[i]!;
    for (const k of ['wq', 'wk', 'wv', 'bq', 'bk', 'bv', 'wo', 'bo'] as const) assert.deepEqual(y.attn[k], x.attn[k], `block ${i} ${k}`);
    for (const k of ['fc', 'fcB', 'proj', 'projB'] as const) assert.deepEqual(y[k], x[k], `block ${i} ${k}`);
    assert.deepEqual(y.ln1, x.ln1);
    assert.deepEqual(y.ln2, x.ln2);
  });
}

/** The loaded model's prefill logits against the float64 reference of the weights the test wrote. */
async function checkLogits(w: ModelWeights, loaded: ModelWeights, variant: string): Promise<void> {
  const m = new DecoderModel(pack(loaded, parseVariant(variant)), { threads: 1 });
  try {
    const seq = [3, 1, 4, 1, 5, 9, 2, 6];
    const S = seq.length;
    const mask = new Float32Array(S * S).map((_, i) => (i % S <= Math.floor(i / S) ? 0 : MASK_MIN));
    const out = await m.prefill({ rows: 1, seq: S, tokens: BigInt64Array.from(seq, BigInt), positions: BigInt64Array.from(seq.map((_, i) => BigInt(i))), selfMask: mask });
    const ref = referenceLogits(w, seq).subarray((S - 1) * w.config.vocab);
    const err = Math.max(...Array.from(out.logits, (x, i) => Math.abs(x - ref[i]!))) / Math.max(...Array.from(ref, Math.abs));
    assert.ok(err < 1e-4, `${variant}: relative error ${err}`);
  } finally {
    await m.release();
  }
}

test('a gpt2 checkpoint (Conv1D weights, transformer. prefix, mask buffers) loads into the same weights and logits', async () => {
  const w = randomWeights(TINY, 4, { seed: 8, std: 0.3, biasStd: 0.1 });
  for (const prefix of [true, false]) {
    const dir = tmpDir();
    writeGpt2(dir, w, { prefix });
    const info = inspectCheckpoint(dir);
    assert.equal(info.modelType, 'gpt2');
    assert.equal(info.kvHeads, 4);
    assert.deepEqual(info.config, TINY);
    const loaded = loadCheckpoint(info);
    sameWeights(w, loaded);
    await checkLogits(w, loaded, 'multi-head');
  }
});

test('a multi-query gpt_bigcode checkpoint loads as one K/V head and runs as multi-query-1; repeated to multi-head it computes the same', async () => {
  const w = randomWeights({ ...TINY, activation: 'gelu_pytorch_tanh' }, 1, { seed: 9, std: 0.3, biasStd: 0.1 });
  const dir = tmpDir();
  writeBigcode(dir, w);
  const info = inspectCheckpoint(dir);
  assert.equal(info.modelType, 'gpt_bigcode');
  assert.equal(info.kvHeads, 1);
  const loaded = loadCheckpoint(info);
  sameWeights(w, loaded);
  await checkLogits(w, loaded, 'multi-query-1');
  await checkLogits(w, loaded, 'multi-query');
  await checkLogits(w, convertKvHeads(loaded, 4), 'multi-head');
});

test('a multi-head gpt_bigcode checkpoint (per-head q|k|v rows) loads as multi-head', async () => {
  const w = randomWeights({ ...TINY, activation: 'gelu_pytorch_tanh' }, 4, { seed: 10, std: 0.3, biasStd: 0.1 });
  const dir = tmpDir();
  writeBigcode(dir, w);
  const loaded = loadCheckpoint(inspectCheckpoint(dir));
  sameWeights(w, loaded);
  await checkLogits(w, loaded, 'multi-head');
});

test('safetensors: F16 tensors are converted, headers padded to 8 bytes, other dtypes read as float32 exactly', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'x.safetensors');
  const bytes = encodeSafetensors({
    a: { shape: [2, 2], data: [1, -2.5, 0.1, 65504], dtype: 'F16' },
    b: { shape: [3], data: [1.5, 2.25, -3], dtype: 'F64' },
    c: { shape: [0], data: [] },
  });
  fs.writeFileSync(file, bytes);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const h = readHeader(file);
  assert.deepEqual(h.tensors.get('a')!.shape, [2, 2]);
  assert.deepEqual([...readTensor(h, 'a')].map((x) => Math.round(x * 1000) / 1000), [1, -2.5, 0.1, 65504]);
  assert.deepEqual([...readTensor(h, 'b')], [1.5, 2.25, -3]);
  assert.equal(readTensor(h, 'c').length, 0);
});

/** Expect a UsageError whose one-line message matches. */
function refuses(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof UsageError, `not a UsageError: ${e}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, re);
    return true;
  });
}

test('bad checkpoints: missing files, malformed config.json, wrong shapes and dtypes, truncated or garbage safetensors, too big', () => {
  const w = randomWeights(TINY, 4, { seed: 1 });
  const good = () => {
    const dir = tmpDir();
    writeGpt2(dir, w, { prefix: true });
    return dir;
  };
  refuses(() => inspectCheckpoint(path.join(tmpDir(), 'nope')), /not a directory/);

  let dir = good();
  fs.rmSync(path.join(dir, 'config.json'));
  refuses(() => inspectCheckpoint(dir), /missing config\.json/);

  dir = good();
  fs.rmSync(path.join(dir, 'model.safetensors'));
  refuses(() => inspectCheckpoint(dir), /missing model\.safetensors/);

  dir = good();
  fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "gpt2", n_embd: 32');
  refuses(() => inspectCheckpoint(dir), /config\.json: not a JSON object/);

  dir = good();
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_embd: 'big' }));
  refuses(() => inspectCheckpoint(dir), /n_embd must be a positive integer/);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'llama' }));
  refuses(() => inspectCheckpoint(dir), /model_type "llama" is not supported/);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_head: 5 }));
  refuses(() => inspectCheckpoint(dir), /not a multiple of --heads 5/);
  // the config says hidden 64 but the tensors are 32 wide
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_embd: 64 }));
  refuses(() => inspectCheckpoint(dir), /transformer\.wte\.weight has shape \[120, 32\], expected \[120, 64\]/);

  // a tensor stored as integers
  dir = tmpDir();
  writeGpt2(dir, w);
  const file = path.join(dir, 'model.safetensors');
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  header['ln_f.bias'].dtype = 'I32';
  const json = Buffer.from(JSON.stringify(header).padEnd(n, ' '));
  assert.equal(json.length, n);
  fs.writeFileSync(file, Buffer.concat([buf.subarray(0, 8), json, buf.subarray(8 + n)]));
  refuses(() => inspectCheckpoint(dir), /ln_f\.bias has dtype I32, expected a float type/);

  // a missing tensor
  dir = tmpDir();
  writeGpt2(dir, { ...w, blocks: w.blocks.slice(0, 1) }, { config: { n_layer: 2 } });
  refuses(() => inspectCheckpoint(dir), /missing tensor h\.1\.ln_1\.weight/);

  // truncated file, garbage header
  dir = good();
  const f2 = path.join(dir, 'model.safetensors');
  fs.truncateSync(f2, fs.statSync(f2).size - 100);
  refuses(() => inspectCheckpoint(dir), /truncated: tensor transformer\.ln_f\.bias ends at byte \d+, file has \d+/);
  fs.writeFileSync(f2, Buffer.from('not a safetensors file at all'));
  refuses(() => inspectCheckpoint(dir), /header length \d+ is implausible/);
  fs.writeFileSync(f2, Buffer.alloc(5));
  refuses(() => inspectCheckpoint(dir), /truncated: 5 bytes/);

  // predicted memory above what is free
  refuses(() => checkMemory('--model big', 64 * 2 ** 30, 2 * 2 ** 30), /--model big: needs about 64\.0 GiB of memory, only 2\.0 GiB free/);
});
