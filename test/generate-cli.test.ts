/** `attnbench generate` end to end through the real launcher, and its bad-input contract (exit 2, one line, nothing written). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { randomWeights } from '../src/model/weights.ts';
import { GenerateResultFile } from '../src/results/schema.ts';
import { writeBigcode, writeGpt2 } from './checkpoint-helpers.ts';
import { cli, tmpDir } from './helpers.ts';

const TINY = ['--layers', '2', '--hidden', '32', '--heads', '4', '--positions', '64', '--vocab', '300'];

test('attnbench generate: a tiny comparison prints the seed dicts and a table, and writes a valid result', () => {
  const out = path.join(tmpDir(), 'gen.json');
  const r = cli(['generate', ...TINY, '--attention', 'MultiHead,multi-query-1,grouped-query:2', '--batch', '3', '--prompt-length', '5', '--max-length', '21', '--repeats', '2', '--threads', '1', '--out', out, '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /-{20} attention_type == multi-head-{21}\n\{'get_test_batch': [\d.e-]+, 'generate_text_batch': [\d.e-]+, 'decode_batch': [\d.e-]+, 'input_batch_size': 3, 'input_batch_length': 5, 'max_gen_length': 21, 'num_beams': 1, 'do_sample': False, 'pad_token_id': 50256, 'dtype': 'float32', 'device': 'cpu', 'device_name': '[^']*'\}/);
  assert.match(r.stdout, /\| multi-query-1 \| 1 \|/);
  const file = GenerateResultFile.parse(JSON.parse(fs.readFileSync(out, 'utf8')));
  assert.deepEqual(file.results.map((x) => x.attention), ['multi-head', 'multi-query-1', 'grouped-query:2']);
  const [mha, mqa, gqa] = file.results;
  assert.equal(mha!.speedup, null, 'multi-head has no speedup over itself');
  const s = mqa!.speedup!;
  assert.ok(s.ratio > 0 && s.low <= s.ratio && s.ratio <= s.high && s.n === 2 && s.method === 'paired-bootstrap', JSON.stringify(s));
  assert.deepEqual(file.results.map((x) => x.kvHeads), [4, 1, 2]);
  assert.ok(mha!.parameters > gqa!.parameters && gqa!.parameters > mqa!.parameters, 'K/V projections shrink');
  for (const x of file.results) {
    assert.equal(x.sequences.length, 3);
    assert.ok(x.sequences.every((s) => s.length === 21));
    assert.equal(x.decodeMsPerToken.n, 2 * 15, 'two repeats of 15 decode steps (16 new tokens, the first from the prefill)');
    assert.equal(x.steps.length, 15);
    assert.equal(x.steps.at(-1)!.context, 20);
    assert.equal(x.kvCacheBytes.predicted, 2 * 2 * 3 * x.kvHeads * 8 * 20 * 4);
    assert.ok(x.kvCacheBytes.measured >= x.kvCacheBytes.predicted);
    assert.ok(x.taskFloorMs! > 0 && x.vsTaskFloor! > 0 && x.peakRssBytes > 0 && x.tokensPerSecond > 0);
    const p = x.profiledStep!;
    assert.ok(p.context === 20 && p.capacity >= 20 && p.bytes! > 0 && p.stages.length > 0, 'a decode step profiled at the largest context');
    assert.equal(x.generateSeconds.n, 2);
    assert.equal(x.texts.length, 3);
  }
  assert.equal(file.environment.ceilings !== null, true);

  // --no-kv-cache recomputes every step and must give the same greedy tokens
  const out2 = path.join(tmpDir(), 'nocache.json');
  const r2 = cli(['generate', ...TINY, '--attention', 'multi-head', '--batch', '3', '--prompt-length', '5', '--max-length', '21', '--repeats', '1', '--threads', '1', '--no-kv-cache', '--out', out2, '--no-progress']);
  assert.equal(r2.status, 0, r2.stderr);
  const nocacheFile = GenerateResultFile.parse(JSON.parse(fs.readFileSync(out2, 'utf8')));
  const nocache = nocacheFile.results[0]!;
  assert.equal(nocacheFile.config.kvCache, false);
  assert.deepEqual(nocache.sequences, mha!.sequences);
  assert.equal(nocache.taskFloorMs, null);
  assert.equal(nocache.profiledStep, null);
});

test('attnbench generate --model: a tiny gpt_bigcode checkpoint, a text prompt, beam search, sampling, --print-text', () => {
  const dir = tmpDir();
  const cfg = { layers: 1, hidden: 16, heads: 2, positions: 32, vocab: 50257, inner: 64, layerNormEps: 1e-5, activation: 'gelu_pytorch_tanh' as const };
  writeBigcode(dir, randomWeights(cfg, 1, { seed: 3, std: 0.5 }));
  const base = ['generate', '--model', dir, '--prompt', 'Hello world', '--prompt', 'Multi-query attention is', '--max-new-tokens', '6', '--repeats', '1', '--threads', '1', '--no-progress'];
  const beams = cli([...base, '--num-beams', '3', '--attention', 'multi-query-1,multi-head', '--print-text']);
  assert.equal(beams.status, 0, beams.stderr);
  assert.match(beams.stdout, /'num_beams': 3/);
  assert.match(beams.stdout, /multi-head: generated text\n\[0\] ".*"\n\[1\] /);
  assert.match(beams.stdout, /\| multi-head \| 2 \|/);
  const out = path.join(dir, 'g.json');
  const sample = cli([...base, '--do-sample', '--top-k', '10', '--top-p', '0.9', '--seed', '7', '--out', out]);
  assert.equal(sample.status, 0, sample.stderr);
  const file = GenerateResultFile.parse(JSON.parse(fs.readFileSync(out, 'utf8')));
  assert.equal(file.results[0]!.attention, 'multi-query-1', "the checkpoint's own type by default");
  // "Hello world" is 2 tokens, left-padded to the longer prompt
  const longest = file.resolved.promptLength;
  assert.deepEqual(file.results[0]!.sequences[0]!.slice(longest - 2, longest), [15496, 995]);
  assert.ok(file.results[0]!.sequences[0]!.slice(0, longest - 2).every((t) => t === 50256));
});

/** One bad-input case: exit 2, a one-line error naming the problem, no result file. */
function refused(args: string[], re: RegExp): void {
  const out = path.join(tmpDir(), 'never.json');
  const r = cli(['generate', ...args, '--out', out, '--no-progress']);
  assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
  assert.equal(fs.existsSync(out), false, 'nothing written');
}

test('bad input: one-line error, exit 2, nothing written', () => {
  refused([...TINY, '--attention', 'grouped-query:3'], /grouped-query:3': 3 K\/V heads do not divide 4 heads/);
  refused([...TINY, '--attention', 'multi-headz'], /unknown variant 'multi-headz'/);
  refused([...TINY, '--prompt-length', '70'], /a prompt of 70 tokens is longer than --positions 64/);
  refused([...TINY, '--prompt-length', '16', '--max-length', '16'], /--max-length 16 is not above the prompt length 16/);
  refused([...TINY, '--max-length', '80'], /exceeds --positions 64/);
  refused([...TINY, '--num-beams', '2', '--do-sample'], /--num-beams > 1 with --do-sample .* not supported/);
  refused([...TINY, '--top-p', '1.5'], /--top-p must be in \(0, 1\]/);
  refused([...TINY, '--max-new-tokens', '5', '--min-new-tokens', '6'], /--min-new-tokens 6 is above the 5 new tokens/);
  refused(['--layers', '2000', '--hidden', '8192', '--heads', '64'], /needs about \d+\.\d GiB of memory, only \d+\.\d GiB free/);
  refused([...TINY, '--vocab', '50257', '--attention', 'fused-gqa:2', '--prompt', 'a', '--prompt', 'a longer prompt'], /fused-gqa needs prompts of equal length/);

  const empty = tmpDir();
  refused(['--model', empty], /missing config\.json/);
  const dir = tmpDir();
  writeGpt2(dir, randomWeights({ layers: 1, hidden: 16, heads: 2, positions: 32, vocab: 300, inner: 64, layerNormEps: 1e-5, activation: 'gelu_new' }, 2, { seed: 1 }));
  refused(['--model', dir, '--layers', '3'], /--layers cannot be combined with --model/);
  fs.writeFileSync(path.join(dir, 'config.json'), '{ not json');
  refused(['--model', dir], /config\.json: not a JSON object/);
});
