/**
 * The benchmark page, built from the project's own sources with esbuild: the graph builder
 * (onnx-proto), the attention layouts and the decoder, the float64 references, the
 * measurement protocol, the configurations and their parsers, the result schemas and the
 * report's charts — the same modules the CLI runs — plus the page's own code (src/page/).
 *
 * Those modules must stay platform-neutral, and the guard plugin enforces it: a Node
 * built-in or onnxruntime-node imported from anywhere fails the build, naming the importer.
 * onnxruntime-web and the charting runtime are not bundled: the page loads the chosen build
 * and vega from the server at run time.
 *
 * Where the page comes from (`pageFolder`): an installed package, or a checkout whose CLI
 * runs the compiled dist/, serves dist/page/, built by scripts/build.js with the rest of
 * dist/; a checkout whose CLI runs src/ (an edit newer than dist/: see bin/attnbench.js)
 * builds the page from src/ into a fresh folder, so a stale page is never served.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type * as esbuildTypes from 'esbuild';
import { UsageError } from '../core/errors.ts';
import { tempSubdir } from '../core/temp.ts';
import { ORT_URL_PREFIX } from './backends.ts';

/** src/ (through tsx) or dist/ (compiled), and the checkout or package above it. */
const SRC = path.resolve(import.meta.dirname, '..');
const ROOT = path.dirname(SRC);
/** The page's own sources: in a checkout only (the package ships the built page, dist/page/). */
const PAGE_SRC = path.join(ROOT, 'src', 'page');

/** Imports that only work in Node. */
const NODE_ONLY = /^(node:|onnxruntime-node$)|^(fs|os|path|child_process|url|module|zlib|http|https|net|crypto|worker_threads|stream)(\/|$)/;

/** Fails the build on a Node-only import, naming who imports it. */
export const platformGuard: esbuildTypes.Plugin = {
  name: 'attnbench-platform-guard',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (!NODE_ONLY.test(args.path)) return undefined;
      const who = path.relative(ROOT, args.importer) || args.importer;
      return { errors: [{ text: `${who} imports '${args.path}', which only exists in Node: the page cannot use it` }] };
    });
  },
};

export interface BuiltFile {
  name: string;
  bytes: number;
  gzipBytes: number;
}

export interface BuildResult {
  dir: string;
  files: BuiltFile[];
  /** Bytes of the bundle by input module (from esbuild's metafile), largest first. */
  inputs: { path: string; bytes: number }[];
}

export interface BuildOptions {
  outDir: string;
  minify?: boolean;
  /** Recorded in the page's result files (the CLI records the same). */
  gitCommit?: string | null;
  /** A source map beside main.js (default): for a checkout, whose src/ it points into; the package, which has no src/, ships none. */
  sourcemap?: boolean;
}

/** The files of a built page. */
export const PAGE_FILES = ['index.html', 'main.js'] as const;

/** Bundle the page into `outDir` and report its sizes. Needs esbuild (a development dependency). */
export async function buildPage(o: BuildOptions): Promise<BuildResult> {
  let esbuild: typeof esbuildTypes;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new UsageError('building the page needs esbuild (a development dependency): run npm ci in the checkout, or npm run build');
  }
  fs.mkdirSync(o.outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(PAGE_SRC, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(o.outDir, 'main.js'),
    minify: o.minify ?? true,
    sourcemap: o.sourcemap ?? true,
    metafile: true,
    logLevel: 'silent',
    // the chosen onnxruntime-web build is imported at run time from the server
    external: [`${ORT_URL_PREFIX}*`],
    define: { ATTNBENCH_GIT_COMMIT: JSON.stringify(o.gitCommit ?? null) },
    plugins: [platformGuard],
  });
  if (result.warnings.length) {
    const text = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    throw new Error(`the page bundle has warnings:\n${text.join('\n')}`);
  }
  fs.copyFileSync(path.join(PAGE_SRC, 'index.html'), path.join(o.outDir, 'index.html'));
  const files = [...PAGE_FILES, ...(o.sourcemap === false ? [] : ['main.js.map'])].map((name) => {
    const data = fs.readFileSync(path.join(o.outDir, name));
    return { name, bytes: data.length, gzipBytes: gzipSync(data).length };
  });
  const out = Object.values(result.metafile.outputs).find((x) => x.entryPoint);
  const inputs = Object.entries(out?.inputs ?? {})
    .map(([p, v]) => ({ path: p, bytes: v.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  return { dir: o.outDir, files, inputs };
}

/** A page ready to serve: its folder, and whether to remove it afterwards (a fresh build). */
export interface PageFolder {
  dir: string;
  /** Built now from src/ (a development checkout), not the package's dist/page/. */
  fresh: boolean;
  dispose(): void;
}

/** Is this module running from the compiled dist/ (an installed package, a built checkout), or from src/ through tsx? */
const runningCompiled = () => path.extname(import.meta.filename) === '.js';

/** The page to serve: dist/page/ when the CLI runs dist/ (built with it), else a fresh build of src/ in a temporary folder. */
export async function pageFolder(o: { gitCommit?: string | null; log?: (line: string) => void } = {}): Promise<PageFolder> {
  if (runningCompiled()) {
    const dir = path.join(SRC, 'page');
    if (!PAGE_FILES.every((f) => fs.existsSync(path.join(dir, f)))) throw new UsageError(`${dir} is incomplete: run npm run build`);
    return { dir, fresh: false, dispose: () => undefined };
  }
  o.log?.('building the page from src/ (a development checkout)...');
  const dir = tempSubdir('page-');
  try {
    await buildPage({ outDir: dir, ...(o.gitCommit !== undefined ? { gitCommit: o.gitCommit } : {}) });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, fresh: true, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
