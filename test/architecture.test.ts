/**
 * Data flows one way: every folder of src/ may import only from the folders before it in
 * LAYERS and from itself; folders in the same group are peers that must
 * not import each other. The README's "Layout of the code" lists the folders in this order.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.ts';

/** The order, bottom first. `index` is src/index.ts, the typed API. */
export const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['table'],
  ['timing'],
  ['engine'],
  ['device'],
  ['precision'],
  ['roofline'],
  ['attention'],
  ['model'],
  ['config'],
  ['results'],
  ['measure'],
  ['browser'],
  ['generate', 'commands'],
  ['report'],
  ['page'],
  ['index'],
  ['cli'],
];

const rank = new Map(LAYERS.flatMap((group, i) => group.map((name) => [name, i] as const)));

/** The folder (layer) of a path relative to src/: its first segment, or `index` for src/index.ts. */
const layerOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel.replace(/\.ts$/, ''));

/** Every module specifier in a TypeScript source: static imports and re-exports, side-effect imports, dynamic imports. */
export function specifiers(source: string): string[] {
  const re = /(?:^|[;\s])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  return [...source.matchAll(re)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** The imports that break the order, as "file: imports 'spec' (why)". `files` maps a path relative to src/ to its source. */
export function violations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [rel, source] of files) {
    const from = layerOf(rel);
    if (!rank.has(from)) {
      out.push(`src/${rel}: its folder '${from}' is not in the order (add it to LAYERS and the README)`);
      continue;
    }
    for (const spec of specifiers(source)) {
      if (!spec.startsWith('.')) continue; // a package
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
      if (target.startsWith('..')) {
        out.push(`src/${rel}: imports '${spec}', outside src/`);
        continue;
      }
      const to = layerOf(target);
      if (to === from) continue;
      if (!rank.has(to)) out.push(`src/${rel}: imports '${spec}' from '${to}', a folder not in the order`);
      else if (rank.get(to)! > rank.get(from)!) out.push(`src/${rel}: imports '${spec}' from '${to}', which comes after '${from}'`);
      else if (rank.get(to) === rank.get(from)) out.push(`src/${rel}: imports '${spec}' from its peer '${to}'`);
    }
  }
  return out;
}

function sources(): Map<string, string> {
  const dir = path.join(ROOT, 'src');
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  return new Map(files.map((f) => [f.split(path.sep).join('/'), fs.readFileSync(path.join(dir, f), 'utf8')]));
}

test('no module in src/ imports from a folder after its own, or from a peer', () => {
  const files = sources();
  assert.ok(files.size > 40, `read ${files.size} modules`);
  assert.deepEqual(violations(files), []);
});

test('the check finds upward, peer and outside imports, in every form of import', () => {
  const planted = new Map([
    ['model/model.ts', "import type { KvCache } from '../generate/kv-cache.ts';\nimport { headDim } from './config.ts';"],
    ['generate/run.ts', "export { profileLayer } from '../commands/layer.ts';"],
    ['core/files.ts', "const m = await import('../results/io.ts');"],
    ['report/report.ts', "import '../cli/main.ts';"],
    ['table/table.ts', "import { x } from '../../test/helpers.ts';"],
    ['cli/main.ts', "import { runLayers } from '../index.ts';\nimport { z } from 'zod';"],
  ]);
  assert.deepEqual(violations(planted), [
    "src/model/model.ts: imports '../generate/kv-cache.ts' from 'generate', which comes after 'model'",
    "src/generate/run.ts: imports '../commands/layer.ts' from its peer 'commands'",
    "src/core/files.ts: imports '../results/io.ts' from 'results', which comes after 'core'",
    "src/report/report.ts: imports '../cli/main.ts' from 'cli', which comes after 'report'",
    "src/table/table.ts: imports '../../test/helpers.ts', outside src/",
  ]);
});

test("the README's Layout of the code lists the folders of src/ in this order", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf('## Layout of the code'));
  const listed = [...block.matchAll(/^src\/(\w+)(?:\/|\.ts)/gm)].map((m) => m[1]!);
  assert.deepEqual(listed, LAYERS.flat());
  const folders = fs.readdirSync(path.join(ROOT, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  assert.deepEqual([...folders].sort(), LAYERS.flat().filter((l) => l !== 'index').sort(), 'every folder of src/ is in the order');
});
