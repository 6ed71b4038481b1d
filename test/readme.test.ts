/**
 * The README works as written: every flag it names exists on the command it names it for,
 * and its API example runs (against src/index.ts, as a dependent's import of the package
 * name would). The commands themselves are too long to run here; the suites cover them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cli, EVENT_LIMIT_MS, ROOT, tmpDir } from './helpers.ts';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const COMMANDS = ['layers', 'generate', 'decode', 'serve', 'report', 'compare', 'import-legacy'];
const FLAG = /(?<![\w-])--[a-z][a-z0-9-]*/g;

/** The flags `attnbench <command> --help` lists ('' is the main job). */
function helpFlags(command: string): Set<string> {
  const r = cli([...(command ? [command] : []), '--help']);
  assert.equal(r.status, 0, r.stderr);
  return new Set(r.stdout.match(FLAG));
}

/** The README cut at its headings, each part with the commands its heading names (`attnbench x`, `` `x` ``; the main job as ''). */
function sections(): { heading: string; commands: string[]; text: string }[] {
  return README.split(/^(?=#{2,3} )/m).map((text) => {
    const heading = text.slice(0, text.indexOf('\n'));
    const named = [...heading.matchAll(/`(?:attnbench )?([a-z-]+)`/g)].map((m) => m[1]!).filter((c) => COMMANDS.includes(c));
    return { heading, commands: heading.includes('The main job') ? [''] : named, text };
  });
}

/** Each `attnbench …` command line of the README (continuation lines joined) as [command, flags]. */
function commandLines(): [string, string[]][] {
  const joined = README.replace(/\\\n\s*/g, ' ').replace(/\n {8,}(?=\[)/g, ' ');
  return [...joined.matchAll(/attnbench((?: [^\n`]*)?)/g)].map((m) => {
    const words = m[1]!.trim().split(/\s+/);
    const command = COMMANDS.includes(words[0] ?? '') ? words[0]! : '';
    return [command, m[1]!.match(FLAG) ?? []];
  });
}

test('every flag the README names exists on its command', () => {
  const help = new Map(['', ...COMMANDS].map((c) => [c, helpFlags(c)]));
  const missing: string[] = [];
  for (const [command, flags] of commandLines()) {
    for (const f of flags) if (!help.get(command)!.has(f)) missing.push(`attnbench ${command} ${f}`);
  }
  // flags mentioned in the text of a command's section belong to one of the commands it names
  for (const s of sections().filter((x) => x.commands.length > 0)) {
    for (const f of new Set(s.text.replace(/attnbench(?: [^\n`]*)?/g, '').match(FLAG))) if (!s.commands.some((c) => help.get(c)!.has(f))) missing.push(`${s.heading}: ${f}`);
  }
  assert.deepEqual(missing, []);
  assert.ok(commandLines().length > 10, 'the README shows the commands');
});

test("the README's API example runs and prints the speedup", () => {
  const block = /## The typed API[\s\S]*?```ts\n([\s\S]*?)```/.exec(README)?.[1];
  assert.ok(block, 'a ts block under "The typed API"');
  assert.match(block, /from 'attnbench'/);
  const file = path.join(tmpDir(), 'example.mts'); // an ES module: the example awaits at its top level
  fs.writeFileSync(file, block.replace(/from 'attnbench'/, `from '${pathToFileURL(path.join(ROOT, 'src/index.ts')).href}'`));
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8', timeout: 2 * EVENT_LIMIT_MS });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^multi-query-1: \d+\.\d\d× faster than multi-head\n$/);
});
