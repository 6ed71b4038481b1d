/**
 * A small static server on 127.0.0.1 for the benchmark page: the built page from one folder,
 * the few onnxruntime-web files the devices load (backends.ts), and the charting runtime;
 * nothing else.
 *
 * Every response carries the cross-origin isolation headers: COOP same-origin and COEP
 * require-corp on the page make `crossOriginIsolated` true, which lets onnxruntime-web use
 * SharedArrayBuffer and so more than one WASM thread; CORP same-origin on every asset lets a
 * require-corp page (and its workers: the glue .mjs is the threads' worker script) load it.
 */
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { CHART_FILES, LIB_URL_PREFIX, ORT_FILES, ORT_URL_PREFIX } from './backends.ts';

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  // WebAssembly.instantiateStreaming refuses any other type
  '.wasm': 'application/wasm',
};

export interface ServerOptions {
  /** The folder holding the built page (index.html, main.js). */
  pageDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve without the isolation headers (to show what the page does without them). */
  isolation?: boolean;
}

export interface PageServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Where the files outside the page come from: onnxruntime-web's dist folder and the vega builds. */
export interface AssetDirs {
  ort: string;
  lib: Record<string, string>;
}

export function assetDirs(): AssetDirs {
  // …/onnxruntime-web/dist/ort.min.js; the vega packages' entry points lie in their build folders, beside the browser builds
  const ort = path.dirname(require.resolve('onnxruntime-web'));
  const lib = Object.fromEntries(Object.entries(CHART_FILES).map(([file, pkg]) => [file, path.join(path.dirname(require.resolve(pkg)), file)]));
  return { ort, lib };
}

/** Map a request path to a file on disk, or undefined (404). Never leaves the page folder and the listed files. */
export function resolveFile(urlPath: string, pageDir: string, assets: AssetDirs): string | undefined {
  let p: string;
  try {
    p = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (p.startsWith(ORT_URL_PREFIX)) {
    const name = p.slice(ORT_URL_PREFIX.length);
    return ORT_FILES.has(name) ? path.join(assets.ort, name) : undefined;
  }
  if (p.startsWith(LIB_URL_PREFIX)) return assets.lib[p.slice(LIB_URL_PREFIX.length)];
  const rel = p === '/' ? 'index.html' : p.slice(1);
  if (rel.includes('/') || rel.includes('\\') || rel.startsWith('.')) return undefined; // the page folder is flat
  return path.join(pageDir, rel);
}

export function startServer(o: ServerOptions): Promise<PageServer> {
  const assets = assetDirs();
  const isolation = o.isolation !== false;
  const server = http.createServer((req, res) => {
    const urlPath = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = req.method === 'GET' || req.method === 'HEAD' ? resolveFile(urlPath, o.pageDir, assets) : undefined;
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...(isolation ? ISOLATION_HEADERS : {}) };
    let stat: fs.Stats | undefined;
    try {
      stat = file ? fs.statSync(file) : undefined;
    } catch {
      stat = undefined;
    }
    if (!file || !stat?.isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': String(stat.size) });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new UsageError(`--port ${o.port}: the port is in use`) : e));
    server.listen(o.port, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
