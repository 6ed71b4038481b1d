/** The typed API (src/index.ts): a program that runs two variants and takes the speedup, as the README shows. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as api from '../src/index.ts';

test('two variants through the API: a valid result file, and the speedup of one over the other', async () => {
  const lines: string[] = [];
  const file = await api.runLayers(
    { variants: ['multi-head', 'multi-query-1'], batch: [2], seq: [16], heads: 4, headDim: 8, repeats: 1, profileRuns: 0 },
    { quickCeilings: true, progress: false, log: (l) => lines.push(l) },
  );
  assert.equal(api.LayerResultFile.parse(file).schema, api.LAYERS_SCHEMA, 'the result is a valid layer result file');
  assert.deepEqual(file.results.map((r) => [r.attention, r.kvHeads, r.ms.n]), [['multi-head', 4, 1], ['multi-query-1', 1, 1]]);
  assert.deepEqual(
    file.config,
    { variants: ['multi-head', 'multi-query-1'], batch: [2], seq: [16], heads: 4, headDim: 8, mode: 'seed', repeats: 1, budgetMs: 6000, warmup: 2, weights: 'constant', weightDtype: ['float32'], profileRuns: 0, device: 'cpu', seed: 1 },
    'the config as run, defaults filled in',
  );
  assert.ok(lines.some((l) => /^layers: 2 configurations/.test(l)), 'progress goes to the log, not stdout');

  const [mha, mqa1] = file.results;
  const speedup = mha!.ms.median / mqa1!.ms.median;
  assert.ok(Number.isFinite(speedup) && speedup > 0, `speedup ${speedup}`);
  assert.equal(mqa1!.speedup!.ratio, speedup, 'the result carries the same ratio, measured in the same rounds');
  assert.equal(mha!.speedup, null, 'multi-head has no speedup over itself');
  const md = api.markdownTable(api.layerTable(file.results));
  assert.match(md, new RegExp(`\\| multi-query-1 \\| 2 \\| 16 \\| 1 \\|.*\\| ${speedup.toFixed(2)} \\[`));
});

test('the API refuses bad configurations with a one-line UsageError naming the field', async () => {
  await assert.rejects(api.runLayers({ variants: ['multi-headz'] }), (e: Error) => e instanceof api.UsageError && /unknown variant 'multi-headz'/.test(e.message));
  await assert.rejects(api.runLayers({ batch: [0] }), (e: Error) => e instanceof api.UsageError && /^--batch: /.test(e.message));
  await assert.rejects(api.runGenerate({ topP: 2 }), (e: Error) => e instanceof api.UsageError && /--top-p must be in \(0, 1\]/.test(e.message));
  assert.throws(() => api.parseVariant('grouped-query'), api.UsageError);
});

test('a misspelled key, in a configuration or in the options, is refused by name with the nearest known key', async () => {
  const refused = (re: RegExp) => (e: Error) => e instanceof api.UsageError && re.test(e.message);
  await assert.rejects(api.runLayers({ profiledRuns: 0 } as api.LayersConfigInput), refused(/^unknown option 'profiledRuns' \(did you mean 'profileRuns'\?\)$/));
  // an option put in the configuration is no configuration field
  await assert.rejects(api.runLayers({ quickCeilings: true } as api.LayersConfigInput), refused(/unknown option 'quickCeilings'/));
  await assert.rejects(api.runLayers({}, { quickCeiling: true } as api.LayersRunOptions), refused(/unknown option 'quickCeiling' \(did you mean 'quickCeilings'\?\)/));
  await assert.rejects(api.runDecode({ contexts: [64] } as api.DecodeConfigInput), refused(/unknown option 'contexts' \(did you mean 'context'\?\)/));
  await assert.rejects(api.runDecode({}, { overwite: true } as api.DecodeRunOptions), refused(/unknown option 'overwite' \(did you mean 'overwrite'\?\)/));
  await assert.rejects(api.runGenerate({ numBeam: 2 } as api.GenerateConfigInput), refused(/unknown option 'numBeam' \(did you mean 'numBeams'\?\)/));
  await assert.rejects(api.runGenerate({}, { resume: true } as api.GenerateRunOptions), refused(/unknown option 'resume' \(known: out, overwrite, /));
  await assert.rejects(api.measureCeilings({ threads: 1, graphOpt: 'all', quik: true } as api.ProbeOptions), refused(/unknown option 'quik' \(did you mean 'quick'\?\)/));
  // the schemas themselves refuse it, for a program that parses a configuration on its own
  assert.throws(() => api.LayersConfig.parse({ sequence: [64] }), /unknown option 'sequence' \(did you mean 'seq'\?\)/);
  assert.throws(() => api.GenerateConfig.parse({ xyzzy: 1 }), /unknown option 'xyzzy' \(known: preset, /);
});

test('the schemas and the variants are exported as they are used', () => {
  assert.deepEqual(api.VARIANT_KINDS.slice(0, 3), ['multi-head', 'multi-query', 'multi-query-1']);
  assert.equal(api.variantLabel(api.parseVariant('MultiQuery1')), 'multi-query-1');
  const layer = api.buildLayer(api.parseVariant('grouped-query:2'), api.layerShape(api.parseVariant('grouped-query:2'), { batch: 1, seq: 4, heads: 4, headDim: 8 }), 'seed');
  assert.ok(layer.model.length > 0 && layer.stages.includes('qkv'));
  assert.equal(api.GenerateConfig.parse({}).preset, 'quick');
  assert.deepEqual(Object.keys(api.jsonSchemas()), ['layers', 'generate', 'decode']);
  assert.deepEqual(api.DecodeConfig.parse({}).attention, ['multi-head', 'multi-query-1', 'grouped-query:2']);
  assert.equal(typeof api.runDecode, 'function');
  assert.equal(typeof api.report, 'function');
  assert.equal(typeof api.compare, 'function');
});

test('a run faster than its floor probes the ceilings again: the bound was wrong, not the code fast', async () => {
  const real = await api.measureCeilings({ threads: 2, graphOpt: 'all', quick: true });
  // ceilings a thousand times too low, as if probed in a terrible minute: every run beats its floor
  const low = { ...real, matmulGflops: real.matmulGflops / 1000, readGBps: real.readGBps / 1000, copyGBps: real.copyGBps / 1000, probes: [] };
  const lines: string[] = [];
  const file = await api.runLayers(
    { variants: ['multi-head', 'multi-query-1'], batch: [2], seq: [16], heads: 4, headDim: 8, repeats: 3, profileRuns: 0 },
    { ceilings: low, quickCeilings: true, progress: false, log: (l) => lines.push(l) },
  );
  assert.ok(lines.some((l) => /result\(s\) beat a bound .*probing again \(1\/3\)/.test(l)), lines.join('\n'));
  const final = file.environment.ceilings!;
  assert.ok(final.probes.length >= 1 && final.matmulGflops > low.matmulGflops * 10, `ceilings probed again: ${final.matmulGflops} GFLOP/s from ${final.probes.length} probing(s)`);
  for (const r of file.results) {
    assert.equal(r.taskFloorMs, api.floorMs({ flops: r.flops, bytes: r.bytes }, api.ceilingRates(final)), 'floors recomputed against the final ceilings');
    assert.ok(r.flags.length === 0 || lines.some((l) => /^warning: .* still beat a bound/.test(l)), 'a bound still broken is said, never hidden');
  }
});
