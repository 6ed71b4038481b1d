import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SINCE } from '../src/config/record.ts';
import { z } from 'zod';
import { DecodeConfig } from '../src/config/decode.ts';
import { GenerateConfig } from '../src/config/generate.ts';
import { LayersConfig } from '../src/config/layers.ts';
import { BROWSER_DEVICES, DEVICES, NODE_DEVICES } from '../src/engine/devices.ts';
import { DeviceRecord } from '../src/results/schema.ts';
import { readRun } from '../src/results/io.ts';
import { jsonSchemas } from '../src/results/json-schema.ts';
import { ROOT, tmpDir } from './helpers.ts';

test('schemas/*.schema.json are current (regenerate with npm run schemas)', () => {
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    const file = path.join(ROOT, 'schemas', `${name}.schema.json`);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), schema, `${file} is stale`);
  }
  const layers = jsonSchemas().layers as { required: string[]; properties: Record<string, unknown> };
  assert.deepEqual(layers.required.sort(), ['environment', 'results', 'schema']);
  assert.ok('failures' in layers.properties);
});

const V1 = path.join(ROOT, 'test/fixtures/generate-v1.json');

test('a generate@1 file loads, upgraded to @2: its settings typed, the seed fields no longer repeated per result', () => {
  const v1 = JSON.parse(fs.readFileSync(V1, 'utf8')) as { schema: string; results: Record<string, unknown>[] };
  assert.equal(v1.schema, 'attnbench/generate@1');
  const run = readRun(V1);
  assert.ok(run.kind === 'generate');
  const first = v1.results[0]!;
  assert.deepEqual(run.resolved.attention, v1.results.map((r) => r.attention));
  assert.equal(run.resolved.batch, first.input_batch_size);
  assert.equal(run.resolved.promptLength, first.input_batch_length);
  assert.equal(run.resolved.promptLength + run.resolved.maxNewTokens, first.max_gen_length);
  assert.equal(run.resolved.promptSeconds, first.get_test_batch);
  assert.equal(run.resolved.model, null, 'this @1 file did not record the model shape');
  assert.equal(run.config.numBeams, first.num_beams);
  assert.equal(run.config.doSample, first.do_sample);
  assert.equal(run.config.kvCache, first.useCache);
  run.results.forEach((r, i) => {
    for (const k of ['input_batch_size', 'generate_text_batch', 'device_name', 'useCache']) assert.ok(!(k in r), `${k} is gone`);
    assert.equal(r.textSeconds, v1.results[i]!.decode_batch);
    assert.deepEqual(r.decodeMsPerToken, v1.results[i]!.decodeMsPerToken, 'measurements are kept as they were');
  });
});

test('an @1 file as runGenerate@1 wrote it keeps every setting it recorded', () => {
  const v1 = JSON.parse(fs.readFileSync(V1, 'utf8')) as Record<string, unknown>;
  const model = { layers: 2, hidden: 64, heads: 4, positions: 128, vocab: 300, inner: 256, layerNormEps: 1e-5, activation: 'gelu_new' };
  v1.config = {
    preset: 'seed', model, modelDir: '/models/tiny', modelType: 'gpt2', attention: ['multi-head', 'multi-query', 'grouped-query:2'], batch: 2, promptLength: 8, prompts: ['hi'],
    maxNewTokens: 16, minNewTokens: 4, doSample: true, temperature: 0.8, topK: 40, topP: 0.9, numBeams: 1, lengthPenalty: 1.5, earlyStopping: 'never', useCache: false,
    seed: 7, repeats: 3, threads: 2, cacheChunk: 128,
  };
  const file = path.join(tmpDir(), 'old.json');
  fs.writeFileSync(file, JSON.stringify(v1));
  const run = readRun(file);
  assert.ok(run.kind === 'generate');
  assert.deepEqual(run.resolved.model, model);
  assert.equal(run.resolved.modelType, 'gpt2');
  assert.equal(run.resolved.minNewTokens, 4);
  assert.deepEqual(
    { ...run.config },
    {
      preset: 'seed', attention: ['multi-head', 'multi-query', 'grouped-query:2'], layers: 2, hidden: 64, heads: 4, positions: 128, vocab: 300, model: '/models/tiny', prompt: ['hi'],
      promptLength: 8, batch: 2, threads: 2, kvCache: false, doSample: true, temperature: 0.8, topK: 40, topP: 0.9, seed: 7, numBeams: 1, lengthPenalty: 1.5,
      earlyStopping: 'never', maxNewTokens: 16, minNewTokens: 4, repeats: 3, cacheChunk: 128,
      // what @1 did without saying so: weights fed as inputs, no profiled step
      weights: 'input', profileStep: false, device: 'cpu',
      // what every file before the precision axes measured
      weightDtype: ['float32'], kvDtype: ['float32'],
    },
  );
});

test('the generation result records its configuration typed: every field of the config schema, and no default read back from the reader\'s machine', () => {
  const generate = jsonSchemas().generate as { properties: { config: { required: string[]; properties: Record<string, { default?: unknown }> } } };
  const config = generate.properties.config;
  for (const [k, field] of Object.entries(GenerateConfig.shape)) {
    assert.ok(k in config.properties, `config.${k} is recorded`);
    // fields added after files were written without them default to what every older file measured (float32), never to the reader's machine
    if (k in SINCE) assert.deepEqual(config.properties[k]!.default, ['float32'], `config.${k}: an older file measured float32`);
    else assert.equal(config.properties[k]!.default, undefined, `config.${k} has no default in the record`);
    // (those read as float32 where absent: required everywhere else exactly when the config gives a default)
    assert.equal(config.required.includes(k), !(field instanceof z.ZodOptional) && !(k in SINCE), `config.${k} is required exactly when the config gives it a default`);
  }
});

test('a layers@1 file loads, upgraded to @2: the host share split into what it measured, unmeasured figures null, no floor from @1 ceilings', () => {
  const run = readRun(path.join(ROOT, 'test/fixtures/layers-v1.json'));
  assert.ok(run.kind === 'layers');
  const v1 = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/layers-v1.json'), 'utf8')) as { results: { hostShare: number; totalMs: { median: number } }[]; environment: { device: string } };
  assert.equal(run.environment!.device.description, v1.environment.device);
  assert.equal(run.environment!.device.kind, 'cpu');
  assert.equal(run.environment!.ceilings, null, "@1's ceilings (medians, a copy bandwidth) bound nothing");
  run.results.forEach((r, i) => {
    assert.equal(r.outsideKernelsShare, v1.results[i]!.hostShare, "our runs' host share was the share outside the kernels");
    assert.equal(r.seedCpuShare, undefined);
    assert.equal(r.ms.median, v1.results[i]!.totalMs.median, 'measurements are kept');
    assert.equal(r.taskFloorMs, null);
    assert.equal(r.speedup === null, r.attention === 'multi-head');
  });
  assert.equal(run.kind === 'layers' && run.results.length > 0, true);
});

test('one device list: every device a run can choose is a kind its result records, browser-webgpu-native included', () => {
  assert.deepEqual([...DEVICES], [...NODE_DEVICES, ...BROWSER_DEVICES]);
  const record = (kind: string) => DeviceRecord.shape.kind.safeParse(kind).success;
  for (const d of [...DEVICES, 'unknown']) assert.ok(record(d), d);
  assert.ok(!record('browser-webgpu-jsep'), 'and nothing else');
  assert.deepEqual(LayersConfig.shape.device.unwrap().options, [...DEVICES]);
  assert.deepEqual(DecodeConfig.shape.device.unwrap().options, [...DEVICES]);
  assert.deepEqual(GenerateConfig.shape.device.unwrap().options, [...NODE_DEVICES]);
});

/** A result file's JSON as it lies on disk. */
const raw = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as { schema: string; results: Record<string, unknown>[]; failures?: Record<string, unknown>[] };

test('a comparison record has one name per field in every kind: older files read with the attention type, samples, profiled runs and speedup renamed, every value kept', () => {
  const layers = raw('test/fixtures/layers-v2.json');
  assert.equal(layers.schema, 'attnbench/layers@2');
  const l = readRun(path.join(ROOT, 'test/fixtures/layers-v2.json'));
  assert.ok(l.kind === 'layers');
  l.results.forEach((r, i) => {
    const old = layers.results[i]!;
    assert.deepEqual([r.attention, r.ms, r.profileRuns, r.speedup], [old.variant, old.totalMs, old.profiledRuns, old.speedup]);
    for (const k of ['variant', 'totalMs', 'profiledRuns']) assert.ok(!(k in r), `${k} is renamed`);
  });

  const decode = raw('test/fixtures/decode-v1.json');
  assert.equal(decode.schema, 'attnbench/decode@1');
  const d = readRun(path.join(ROOT, 'test/fixtures/decode-v1.json'));
  assert.ok(d.kind === 'decode' && d.results.length === decode.results.length);
  d.results.forEach((r, i) => assert.deepEqual([r.attention, r.ms, r.profileRuns, r.flags], [decode.results[i]!.attention, decode.results[i]!.stepMs, decode.results[i]!.profiledRuns, decode.results[i]!.flags]));

  const generate = raw('test/fixtures/generate-v2.json');
  assert.equal(generate.schema, 'attnbench/generate@2');
  const g = readRun(path.join(ROOT, 'test/fixtures/generate-v2.json'));
  assert.ok(g.kind === 'generate');
  g.results.forEach((r, i) => {
    const old = generate.results[i]!;
    assert.deepEqual([r.speedup, r.speedupAtMaxContext, r.generateSpeedup], [old.speedupVsMha, old.speedupVsMhaAtMaxContext, old.generateSpeedupVsMha]);
  });
  assert.ok(g.results.some((r) => r.speedup !== null), 'the fixture holds speedups to carry over');
});

test('a failure and a journal written by an earlier attnbench read with the record\'s names', () => {
  const layers = raw('test/fixtures/layers-v2.json');
  const dir = tmpDir();
  const withFailure = path.join(dir, 'failed.json');
  fs.writeFileSync(withFailure, JSON.stringify({ ...layers, failures: [{ variant: 'multi-query', batch: 2, seq: 8, error: 'out of memory' }] }));
  const run = readRun(withFailure);
  assert.ok(run.kind === 'layers');
  assert.deepEqual(run.failures, [{ attention: 'multi-query', weightDtype: 'float32', batch: 2, seq: 8, error: 'out of memory' }]);

  const journal = path.join(dir, 'sweep.json.journal.jsonl');
  const lines = [{ kind: 'header', version: 1, identity: { run: 'layers' } }, ...layers.results.slice(0, 2).map((result) => ({ kind: 'result', session: 0, result }))];
  fs.writeFileSync(journal, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const journaled = readRun(journal);
  assert.deepEqual(journaled.results.map((r) => (r as { attention: string }).attention), layers.results.slice(0, 2).map((r) => r.variant));
});

test('an upgrade fills what an older file did not record with the configuration\'s own defaults', () => {
  const v1 = JSON.parse(fs.readFileSync(V1, 'utf8')) as Record<string, unknown>;
  v1.config = {};
  const file = path.join(tmpDir(), 'bare.json');
  fs.writeFileSync(file, JSON.stringify(v1));
  const run = readRun(file);
  assert.ok(run.kind === 'generate');
  const defaults = GenerateConfig.parse({});
  for (const k of ['temperature', 'topK', 'topP', 'seed', 'lengthPenalty', 'earlyStopping', 'cacheChunk', 'preset'] as const) assert.deepEqual(run.config[k], defaults[k], `config.${k}`);

  const layers = readRun(path.join(ROOT, 'test/fixtures/layers-v1.json'));
  assert.ok(layers.kind === 'layers');
  assert.equal(layers.config?.profileRuns, layers.results[0]!.profileRuns, 'the profiled runs its results recorded');
});
