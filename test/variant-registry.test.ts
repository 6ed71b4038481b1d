/**
 * A variant is one file: a throwaway one, defined here and registered through the typed API,
 * parses, shows in `layers --help` and `decode --help`, and runs through `runLayers` and
 * `runDecode` with its output checked against the float64 reference, with nothing else in
 * src/ told about it. It is grouped-query's layer graph and decode step under a name of its
 * own with a K/V-head rule of its own (at most 2 K/V heads), so the check shows the registry's
 * rule is the one applied.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as api from '../src/index.ts';
import { decodeCommand } from '../src/cli/decode.ts';
import { generateCommand } from '../src/cli/generate.ts';
import { layersCommand } from '../src/cli/layers.ts';

const base = api.findVariant('grouped-query')!;

const throwaway: api.Variant = {
  name: 'throwaway-gqa',
  aliases: ['ThrowawayGqa'],
  grouped: true,
  modes: ['seed', 'full'],
  kvHeads(heads, groups) {
    if (groups! > 2) throw new api.UsageError(`variant 'throwaway-gqa:${groups}': at most 2 K/V heads`);
    return api.groupKvHeads('throwaway-gqa', heads, groups);
  },
  layout: base.layout,
  step: base.step,
};

/** Help text with its line wrapping undone, so a list reads as one line. */
const oneLine = (help: string) => help.replace(/\s+/g, ' ');

test('before it is registered, the name is unknown and no help lists it', () => {
  assert.throws(() => api.parseVariant('throwaway-gqa:2'), /unknown variant 'throwaway-gqa:2'/);
  assert.doesNotMatch(layersCommand().helpInformation(), /throwaway/);
});

test('registered: it parses with its alias and group count, its own K/V-head rule applies, and the lists and help texts show it', () => {
  api.register(throwaway);
  assert.deepEqual(api.parseVariant('ThrowawayGqa:2'), { kind: 'throwaway-gqa', groups: 2 });
  assert.throws(() => api.parseVariant('throwaway-gqa'), /needs a K\/V head count, e.g. throwaway-gqa:4/);
  assert.equal(api.kvHeads(api.parseVariant('throwaway-gqa:2'), 4), 2);
  assert.throws(() => api.kvHeads(api.parseVariant('throwaway-gqa:4'), 4), /at most 2 K\/V heads/);
  assert.equal(api.VARIANT_KINDS.at(-1), 'throwaway-gqa', 'listed after the built-in ones');
  assert.equal(api.ALIASES.ThrowawayGqa, 'throwaway-gqa');
  assert.equal(api.LAYOUTS['throwaway-gqa'], base.layout);
  for (const cmd of [layersCommand(), decodeCommand(), generateCommand()]) {
    assert.match(oneLine(cmd.helpInformation()), /multi-head, multi-query, .*fused-gqa:g.*, throwaway-gqa:g/, `${cmd.name()} --help`);
  }
  assert.match(oneLine(layersCommand().helpInformation()), /fused-gqa:g \(--mode full only\)/, 'a variant of one mode says so in layers');
  assert.throws(() => api.register({ ...throwaway, aliases: [] }), /'throwaway-gqa' is taken/);
  assert.throws(() => api.register({ ...throwaway, name: 'other', aliases: ['MultiHead'] }), /'MultiHead' is taken/);
  assert.throws(() => api.register({ ...throwaway, name: 'Bad:name', aliases: [] }), /not lowercase words/);
});

test('it runs through layers in both modes, beside multi-head, and matches the float64 reference', async () => {
  for (const mode of ['seed', 'full'] as const) {
    const file = await api.runLayers(
      { variants: ['multi-head', 'throwaway-gqa:2'], batch: [2], seq: [8], heads: 4, headDim: 8, mode, repeats: 2, warmup: 1, profileRuns: 1, threads: 1, verify: true },
      { quickCeilings: true, progress: false, log: () => {} },
    );
    assert.deepEqual(file.failures, [], mode);
    const r = file.results.find((x) => x.attention === 'throwaway-gqa:2');
    assert.ok(r, `${mode}: a result for the throwaway variant`);
    assert.equal(r.kvHeads, 2);
    assert.equal(r.verify?.ok, true, `${mode}: its output verified against the reference`);
    assert.ok(r.speedup !== null && r.speedup.ratio > 0, `${mode}: a speedup over multi-head`);
    assert.deepEqual(r.stages.map((s) => s.name).slice(0, 4), ['qkv', 'split', 'weights', mode === 'seed' ? 'output' : 'softmax']);
  }
  await assert.rejects(api.runLayers({ variants: ['throwaway-gqa:4'], heads: 4, headDim: 8 }), /at most 2 K\/V heads/);
});

test('it runs through decode, beside multi-head, and its logits match the float64 reference', async () => {
  const file = await api.runDecode(
    { attention: ['multi-head', 'throwaway-gqa:2'], layers: 1, hidden: 32, heads: 4, vocab: 500, context: [16], batch: [2], repeats: 3, warmup: 1, profileRuns: 0, threads: 1, verify: true },
    { quickCeilings: true, progress: false, log: () => {} },
  );
  assert.deepEqual(file.failures, []);
  const r = file.results.find((x) => x.attention === 'throwaway-gqa:2');
  assert.ok(r, 'a result for the throwaway variant');
  assert.equal(r.kvHeads, 2);
  assert.equal(r.verify?.ok, true, 'its prefill and decode-step logits verified against the reference');
  assert.ok(r.speedup !== null && r.speedup.ratio > 0, 'a speedup over multi-head');
});
