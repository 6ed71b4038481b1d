/**
 * A small static server on 127.0.0.1 for the benchmark page: the built page from one folder,
 * the few onnxruntime-web files the devices load (backends.ts), and the charting runtime;
 * nothing else.
 *
 * Every response carries the cross-origin isolation headers: COOP same-origin and COEP
 * require-corp on the page make `crossOriginIsolated` true, which lets onnxruntime-web use
 * SharedArrayBuffer and so more than one WASM thread; CORP same-origin on every asset lets a
 * require-corp page (and its workers: the glue .mjs is the threads' worker script) load it.
 *
 * Any web page the user visits can send requests here (`<img src="http://127.0.0.1:PORT//[">`),
 * so no request may end the server: a target that names no file of ours is a 400 (cannot be
 * read as a path) or a 404, a method other than GET and HEAD a 405, a request node's parser
 * refuses a 400; an error in answering ends that answer only. A file is streamed with
 * stream.pipeline, which closes it when the answer ends however it ends (a client that goes
 * away, a read error), so no file handle outlives its request.
 */
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline, type Duplex } from 'node:stream';
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

/** The methods the server answers; any other gets 405 naming them. */
const METHODS = ['GET', 'HEAD'];

/**
 * The path of a request target, or undefined when it is none: the origin form (`/path?query`)
 * only. A target starting `//` reads as a host to a URL parser (`//a:99999/` is a bad port,
 * `//[` a bad address), and the absolute and asterisk forms are for proxies and OPTIONS.
 */
export function targetPath(target: string | undefined): string | undefined {
  if (!target?.startsWith('/') || target.startsWith('//')) return undefined;
  return target.split(/[?#]/, 1)[0];
}

/** One line of text as the whole answer; an error answer closes the connection (its body, if any, is not read). */
function answer(res: http.ServerResponse, status: number, headers: Record<string, string>, text: string): void {
  const close = status >= 400 && status !== 404;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', ...(close ? { Connection: 'close' } : {}) }).end(`${text}\n`);
}

/** Why a file that resolveFile names cannot be served: missing (404), or this machine's trouble (out of file handles: 503; else 500). */
function openFailure(e: NodeJS.ErrnoException): { status: number; text: string } {
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR' || e.code === 'EISDIR') return { status: 404, text: 'not found' };
  if (e.code === 'EMFILE' || e.code === 'ENFILE') return { status: 503, text: `out of file handles (${e.code}); try again` };
  return { status: 500, text: `cannot read the file (${e.code ?? e.message})` };
}

/**
 * Did node's parser refuse only the method? A well-formed request line with a method it does
 * not know (BREW, say) is answered as any other method we do not serve, 405.
 */
function refusedMethod(e: NodeJS.ErrnoException & { rawPacket?: Buffer }): boolean {
  const line = e.rawPacket?.toString('latin1').split('\n', 1)[0] ?? '';
  return e.code === 'HPE_INVALID_METHOD' && /^[A-Z][A-Z-]* \/\S* HTTP\/1\.[01]\r?$/.test(line);
}

/** A whole answer written on a socket that node's parser gave up on (so there is no response object). */
function rawAnswer(status: 400 | 405): string {
  const body = status === 405 ? 'method not allowed\n' : 'bad request\n';
  const allow = status === 405 ? `Allow: ${METHODS.join(', ')}\r\n` : '';
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${allow}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

/** The one-line refusal for a port that cannot be listened on (a UsageError: exit 2). */
export function listenRefusal(port: number, e: NodeJS.ErrnoException): UsageError {
  if (e.code === 'EADDRINUSE') return new UsageError(`--port ${port}: the port is in use`);
  if (e.code === 'EACCES') return new UsageError(`--port ${port}: not permitted to listen on it${port < 1024 ? ' (ports below 1024 need root)' : ''}`);
  return new UsageError(`--port ${port}: cannot listen on 127.0.0.1:${port} (${e.code ?? e.message})`);
}

export function startServer(o: ServerOptions): Promise<PageServer> {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) return Promise.reject(new UsageError(`--port ${o.port}: not a port (0 to 65535; 0 picks a free one)`));
  const isolation = o.isolation !== false;
  const site: Site = { pageDir: o.pageDir, assets: assetDirs(), headers: { 'Cache-Control': 'no-store', ...(isolation ? ISOLATION_HEADERS : {}) } };
  return listen(pageServer(site), o.port);
}

/** What the server answers from: the page, the assets, and the headers every answer carries. */
interface Site {
  pageDir: string;
  assets: AssetDirs;
  headers: Record<string, string>;
}

/** One request's answer: a refusal, or the file it names. */
async function serve(site: Site, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { headers } = site;
  const urlPath = targetPath(req.url);
  if (urlPath === undefined) return answer(res, 400, headers, 'bad request target: a path starting with a single /');
  if (!METHODS.includes(req.method ?? '')) return answer(res, 405, { ...headers, Allow: METHODS.join(', ') }, `method ${req.method} not allowed`);
  const file = resolveFile(urlPath, site.pageDir, site.assets);
  if (!file) return answer(res, 404, headers, 'not found');
  // opened before the answer starts: a file that cannot be opened gets an answer that says so, not a cut-off 200
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (e) {
    const f = openFailure(e as NodeJS.ErrnoException);
    return answer(res, f.status, headers, f.text);
  }
  const size = await fileSize(handle);
  // a folder is not a file; a client that went away meanwhile gets nothing
  if (size < 0 || res.destroyed) {
    await handle.close();
    return res.destroyed ? undefined : answer(res, 404, headers, 'not found');
  }
  res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': String(size) });
  if (req.method === 'HEAD' || size === 0) {
    await handle.close();
    res.end();
    return;
  }
  sendBody(handle, size, res);
}

/** The size of an open file, -1 for anything but a regular file; the handle is closed if it cannot be read. */
async function fileSize(handle: fs.promises.FileHandle): Promise<number> {
  try {
    const stat = await handle.stat();
    return stat.isFile() ? stat.size : -1;
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

/**
 * The file's bytes as the body. The stream closes the handle when it ends or is destroyed;
 * pipeline destroys it when the client goes away, and destroys the answer on a read error
 * (the connection closed: a cut-off body).
 */
function sendBody(handle: fs.promises.FileHandle, size: number, res: http.ServerResponse): void {
  const body = handle.createReadStream({ start: 0, end: size - 1 });
  pipeline(body, res, (e) => {
    // a file cut short while it was sent: the client must not wait for the bytes it was promised
    if (!e && body.bytesRead !== size) res.socket?.destroy();
  });
}

/** The HTTP server of the page: every request served, a bug ending one answer and never the server. */
function pageServer(site: Site): http.Server {
  // how many answers each connection has under way, so that a refused request behind them never writes into one's body
  const busy = new WeakMap<Duplex, number>();
  const server = http.createServer((req, res) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => busy.set(socket, (busy.get(socket) ?? 1) - 1));
    serve(site, req, res).catch((e: unknown) => {
      // a bug or the machine's trouble ends this answer, never the server
      if (!res.headersSent) answer(res, 500, site.headers, `internal error (${e instanceof Error ? e.message : String(e)})`);
      else res.destroy();
    });
  });
  // a request line or header that node's parser refuses (or a connection reset mid-request): an answer if the socket can still take one
  server.on('clientError', (e: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    if (socket.writable && !busy.get(socket)) socket.end(rawAnswer(refusedMethod(e) ? 405 : 400));
    else socket.destroy();
  });
  return server;
}

/** Listen on 127.0.0.1:`port`; a port that cannot be listened on is a UsageError. */
function listen(server: http.Server, port: number): Promise<PageServer> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenRefusal(port, e)));
    server.listen(port, '127.0.0.1', () => {
      // after the start an error is one connection's (an accept refused for want of file handles): not the server's end
      server.on('error', () => undefined);
      const bound = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${bound}/`,
        port: bound,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
