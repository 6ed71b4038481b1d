/**
 * The result files' time rule (src/results/schema.ts): a measured time lies between 1 ns and
 * a year, a part of one (a stage) may also be 0; anything else — 0, negative, absurd, not
 * finite — is refused on read and on write with the file and the field named, for layer,
 * generation and decode results and a sweep's journal alike. Within the rule, what is
 * derived from times stays finite.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { median } from 'simple-statistics';
import { UsageError } from '../src/core/errors.ts';
import { fromLegacy } from '../src/results/seed-format.ts';
import { readRun, writeLayerFile } from '../src/results/io.ts';
import { DecodeResult, LayerResultFile, RATIO_RANGE } from '../src/results/schema.ts';
import { cli, ROOT, tmpDir } from './helpers.ts';

const LAYERS = path.join(ROOT, 'test/fixtures/layers.json');
const GENERATE = path.join(ROOT, 'test/fixtures/generate.json');
const SEED = path.join(ROOT, 'test/fixtures/seed-excerpt.json');
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

type Json = Record<string, any>;

/** The fixture `from` with `edit` applied, written to a new file; returns its path. */
function edited(from: string, name: string, edit: (f: Json) => void): string {
  const f = JSON.parse(fs.readFileSync(from, 'utf8')) as Json;
  edit(f);
  const p = path.join(tmpDir(), name);
  fs.writeFileSync(p, JSON.stringify(f, null, 2));
  return p;
}

/** Reading `file` fails with one line: `FILE: invalid at FIELD: MESSAGE`. */
function refused(file: string, field: string, message: RegExp): void {
  assert.throws(
    () => readRun(file),
    (e: Error) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.ok(!e.message.includes('\n'), e.message);
      assert.ok(e.message.startsWith(`${file}: invalid at ${field}: `), e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

test('layer results: a time of 0, below 0 or absurd (1e308 ms) is refused, naming the file and the field', () => {
  const measured = /a measured time must be between 1 ns and a year \(0\.000001 to 31557600000 ms\); it is /;
  refused(edited(LAYERS, 'zero.json', (f) => (f.results[2].ms.samples[0] = 0)), 'results.2.ms.samples.0', new RegExp(measured.source + '0$'));
  refused(edited(LAYERS, 'neg.json', (f) => (f.results[0].ms.median = -0.122)), 'results.0.ms.median', new RegExp(measured.source + '-0\\.122$'));
  refused(edited(LAYERS, 'huge.json', (f) => (f.results[1].ms.max = 1e308)), 'results.1.ms.max', new RegExp(measured.source + '1e\\+308$'));
  refused(edited(LAYERS, 'profiled.json', (f) => (f.results[1].profiledMs = 0)), 'results.1.profiledMs', measured);
  refused(edited(LAYERS, 'stage.json', (f) => (f.results[4].stages[1].kernelMs = -0.001)), 'results.4.stages.1.kernelMs', /a time must be between 0 and a year \(0 to 31557600000 ms\); it is -0\.001$/);
  refused(edited(LAYERS, 'speedup.json', (f) => (f.results[1].speedup.high = 1e300)), 'results.1.speedup.high', /a ratio of two times must be between .*; it is 1e\+300$/);

  // so the report never draws one: it refuses the file in one line, exit 2, nothing written
  const negative = edited(LAYERS, 'neg.json', (f) => (f.results[0].stages[0].wallMs = -0.122));
  const out = path.join(tmpDir(), 'report');
  const r = cli(['report', negative, '--out', out]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `attnbench: error: ${negative}: invalid at results.0.stages.0.wallMs: a time must be between 0 and a year (0 to 31557600000 ms); it is -0.122\n`);
  assert.ok(!fs.existsSync(out));
});

test('a stage of 0 ms (fused away, or too short for the profiler) and a spread of 0 are times like any other', () => {
  const file = edited(LAYERS, 'zero-stage.json', (f) => {
    f.results[0].stages[0] = { ...f.results[0].stages[0], wallMs: 0, kernelMs: 0, hostMs: 0, wallStats: { median: 0, min: 0, max: 0, p90: 0, stddev: 0, n: 3 } };
    f.results[1].ms.stddev = 0;
  });
  const run = readRun(file);
  assert.ok(run.kind === 'layers');
  assert.equal(run.results[0]!.stages[0]!.wallMs, 0);
  // the seed's format: a range of 0.0 us is a measured "too small to see", a total of 0 is no measurement
  const seed = JSON.parse(fs.readFileSync(SEED, 'utf8')) as Json;
  seed.MultiHead[0][1][0][1][2] = ['SPLIT_QKV', 0, 0, 0];
  const imported = fromLegacy(seed, SEED, { heads: 16, headDim: 64 });
  assert.equal(LayerResultFile.parse(imported).results[0]!.stages[1]!.wallMs, 0);
  seed.MultiHead[0][1][0][1][5] = ['TOTAL', 0, 0, 0];
  assert.throws(() => fromLegacy(seed, SEED, { heads: 16, headDim: 64 }), /TOTAL all us is 0/);
});

test('generation and decode results, and a journal: the same rule, in seconds where the field is seconds', () => {
  refused(edited(GENERATE, 'gen0.json', (f) => (f.results[0].generateSeconds.samples[1] = 0)), 'results.0.generateSeconds.samples.1', /a measured time must be between 1 ns and a year \(1e-9 to 31557600 s\); it is 0$/);
  refused(edited(GENERATE, 'gen-step.json', (f) => (f.results[1].decodeMsPerToken.median = 1e308)), 'results.1.decodeMsPerToken.median', /1 ns and a year .* ms\); it is 1e\+308$/);
  refused(edited(GENERATE, 'gen-ctx.json', (f) => (f.results[0].steps[3].ms = -2)), 'results.0.steps.3.ms', /it is -2$/);
  refused(edited(GENERATE, 'gen-prefill.json', (f) => (f.results[2].prefillMs.min = 0)), 'results.2.prefillMs.min', /it is 0$/);
  // a part of a generation may be 0: no cache growth, no beams
  const gen = readRun(GENERATE);
  assert.ok(gen.kind === 'generate' && gen.results.some((r) => r.cacheGrowMs === 0 && r.beamReorderMs === 0));

  const step = { median: 1, min: 1, max: 1, p90: 1, stddev: 0, n: 1, samples: [1] };
  assert.ok(DecodeResult.shape.ms.safeParse(step).success);
  for (const bad of [0, -1, 1e308, Number.POSITIVE_INFINITY, Number.NaN]) {
    const r = DecodeResult.shape.ms.safeParse({ ...step, samples: [bad] });
    assert.ok(!r.success, `a decode step of ${bad} ms`);
    assert.match(r.error.issues[0]!.message, /a measured time must be between 1 ns and a year/);
  }

  // a journal's entries reuse the layer result: its line is named
  const result = (JSON.parse(fs.readFileSync(LAYERS, 'utf8')) as Json).results[0];
  const lines = [{ kind: 'header', version: 1, identity: {} }, { kind: 'result', session: 0, result }, { kind: 'result', session: 0, result: { ...result, ms: { ...result.ms, p90: 0 } } }];
  const journal = path.join(tmpDir(), 'sweep.json.journal.jsonl');
  fs.writeFileSync(journal, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  assert.throws(() => readRun(journal), (e: Error) => e instanceof UsageError && /sweep\.json\.journal\.jsonl: line 3 is invalid at result\.ms\.p90: a measured time .*; it is 0$/.test(e.message));
});

test('the writer refuses what the reader would: no file is written with a time outside the rule', () => {
  const f = JSON.parse(fs.readFileSync(LAYERS, 'utf8')) as Json;
  f.results[0].ms.samples[2] = Number.POSITIVE_INFINITY;
  const out = path.join(tmpDir(), 'out.json');
  assert.throws(() => writeLayerFile(out, f as never), /"ms",\s+"samples",\s+2/);
  assert.ok(!fs.existsSync(out));
});

test('within the rule, what is derived from times is finite: ratios of medians, medians of samples, sums, variances', () => {
  const time = fc.double({ min: 1e-6, max: YEAR_MS, noNaN: true });
  fc.assert(
    fc.property(fc.array(time, { minLength: 1, maxLength: 50 }), fc.array(time, { minLength: 1, maxLength: 50 }), (a, b) => {
      const ratio = median(b) / median(a);
      const sum = a.reduce((s, x) => s + x, 0) * 1e6; // a million such samples
      const variance = a.reduce((s, x) => s + x * x, 0);
      return ratio >= RATIO_RANGE.min && ratio <= RATIO_RANGE.max && Number.isFinite(sum) && Number.isFinite(variance);
    }),
  );
  // what broke the gate before: B's times of 1e308 ms over A's 0.18 ms make B/A Infinity
  assert.equal(1e308 / 0.18, Number.POSITIVE_INFINITY);
});
