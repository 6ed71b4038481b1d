/**
 * attnbench as another project's dependency: `npm pack`'s files, installed under
 * node_modules/attnbench of a consumer folder (its own dependencies linked from ours, as an
 * install would provide them), imported by name from JavaScript and type-checked from
 * TypeScript, and its CLI run. The program is the README's example: two variants, one speedup.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { EVENT_LIMIT_MS, ROOT, TEST_LIMIT_MS, tmpDir } from './helpers.ts';

const EXAMPLE = `import { runLayers } from 'attnbench';

// two variants at a tiny shape; quick ceilings, few repeats and no profiled runs, so it takes seconds
const run = await runLayers(
  { variants: ['multi-head', 'multi-query'], batch: [1], seq: [32], heads: 4, headDim: 16, mode: 'seed', repeats: 5, budgetMs: 1000, warmup: 1, threads: 1, graphOpt: 'all', profileRuns: 0, verify: false, seed: 1 },
  { progress: false, quickCeilings: true, log: () => {} },
);
const mq = run.results.find((r) => r.attention === 'multi-query');
const s = mq.speedup;
console.log(\`multi-query: \${s.ratio.toFixed(2)}× the speed of \${s.baseline} (\${s.low.toFixed(2)}–\${s.high.toFixed(2)})\`);
console.log(JSON.stringify({ method: run.environment.ceilings.method, results: run.results.map((r) => ({ samples: r.ms.samples.length, profileRuns: r.profileRuns, stages: r.stages.length })) }));
`;

const TYPED = `import { parseVariant, LayerResultFile, type LayerResult, type LayersConfig } from 'attnbench';
const spec = parseVariant('grouped-query:4');
const kind: string = spec.kind;
const config: Pick<LayersConfig, 'variants' | 'heads'> = { variants: [kind], heads: 8 };
const parsed = LayerResultFile.safeParse({});
const first: LayerResult | undefined = parsed.success ? parsed.data.results[0] : undefined;
// @ts-expect-error: the declarations are real, so a wrong type is caught
const wrong: number = spec.kind;
console.log(config, first, wrong);
`;

/** A consumer folder with attnbench installed from `npm pack`'s tarball, offline. */
function consumer(): string {
  const dir = tmpDir('attnbench-consumer-');
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('bin/attnbench.js'), 'the package carries dist/ and the launcher');
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'and no sources or tests');
  const modules = path.join(dir, 'node_modules');
  const pkg = path.join(modules, 'attnbench');
  fs.mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', path.join(dir, packed[0]!.filename), '-C', pkg, '--strip-components=1']);
  // its dependencies, as an install would put them beside it
  for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name !== '.bin' && name !== '.cache' && name !== 'attnbench') fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
  }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return dir;
}

test('another project installs attnbench, imports it by name, and runs two variants', { timeout: TEST_LIMIT_MS }, () => {
  const dir = consumer();
  fs.writeFileSync(path.join(dir, 'example.js'), EXAMPLE);
  const r = spawnSync(process.execPath, ['example.js'], { cwd: dir, encoding: 'utf8', timeout: 2 * EVENT_LIMIT_MS });
  assert.equal(r.status, 0, r.stderr);
  const [line, json] = r.stdout.split('\n');
  const m = /^multi-query: (\d+\.\d\d)× the speed of multi-head \((\d+\.\d\d)–(\d+\.\d\d)\)$/.exec(line!);
  assert.ok(m, r.stdout);
  const [ratio, low, high] = [Number(m[1]), Number(m[2]), Number(m[3])];
  assert.ok(low <= ratio && ratio <= high && low > 0.1 && high < 50, `a speedup inside its interval, both plausible (${line})`);
  // what the options asked for reached the run: quick probes, no profiled runs, five timed runs each
  const got = JSON.parse(json!) as { method: string; results: { samples: number; profileRuns: number; stages: number }[] };
  assert.match(got.method, /QUICK probes/, 'quickCeilings (an option, not a configuration field) gave quick probes');
  assert.deepEqual(got.results, [0, 1].map(() => ({ samples: 5, profileRuns: 0, stages: 0 })), 'profileRuns: 0 profiled nothing, and repeats: 5 timed five runs of each variant');

  // its types: declarations that resolve by name, under the strict settings a consumer may use
  fs.writeFileSync(path.join(dir, 'typed.ts'), TYPED);
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')] }, files: ['typed.ts'] }),
  );
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);

  // and its CLI, which runs the compiled code (there is no src/ to fall back on)
  const cli = spawnSync(process.execPath, [path.join(dir, 'node_modules/attnbench/bin/attnbench.js'), '--version'], { cwd: dir, encoding: 'utf8' });
  assert.equal(cli.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  fs.rmSync(dir, { recursive: true, force: true });
});
