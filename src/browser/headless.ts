/**
 * `--device browser-*`: the same run in headless Chromium (the one @sparticuz/chromium brings
 * with npm ci, launched by chromium.ts). The driver serves the page, launches the browser,
 * opens the page with the configuration in its URL — exactly what a person would open — and
 * takes each finished configuration from the page as it comes (an exposed function the page
 * awaits), appending it to the journal before the page moves on. A page that dies mid-run
 * so loses nothing finished: `--resume` continues from the journal, as in Node.
 *
 * Refused with one line (a UsageError: exit 2) when the browser cannot start, when there is
 * no WebGPU adapter, or when threads were asked for and the page is not cross-origin
 * isolated. A page that stops talking (a lost GPU device, a hung program) is closed after
 * `silenceMs` without a message; what it finished stays in the journal.
 */
import os from 'node:os';
import type { Page } from 'playwright-core';
import { variantLabel, type VariantSpec } from '../attention/spec.ts';
import { DecodeConfig } from '../config/decode.ts';
import { LayersConfig } from '../config/layers.ts';
import { configQuery } from '../config/query.ts';
import { UsageError } from '../core/errors.ts';
import { logLine, progressBar } from '../core/progress.ts';
import { decodeModel, inDecodeOrder } from '../measure/decode.ts';
import { inGridOrder, validateGrid } from '../measure/sweep.ts';
import { underRoofline } from '../results/bounds.ts';
import { gitCommit } from '../results/environment.ts';
import { journaledLayerRun, journalPath, journalResults, type LayerJournalEntry } from '../results/io.ts';
import type { Journal } from '../results/journal.ts';
import { DECODE_SCHEMA, LAYERS_SCHEMA, LayerConfig, type DecodeFailure, type DecodeResult, type DecodeResultFile, type Environment, type Failure, type LayerResult, type LayerResultFile } from '../results/schema.ts';
import type { Ceilings } from '../roofline/probes.ts';
import { ORT_BUILDS, isBrowserDevice, type BrowserDevice } from './backends.ts';
import { pageFolder } from './bundle.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';
import { HOST_FUNCTION, type HelloReply, type PageMessage, type RunKind } from './protocol.ts';
import { startServer } from './server.ts';

/** How a headless run reports and where it writes; none of it changes what is measured. */
export interface HeadlessOptions {
  out?: string;
  resume?: boolean;
  /** Discard the finished work in a journal left by an earlier run (else refused unless resume). */
  overwrite?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
  /** Tiny ceiling probes in the page (tests): the figures then bound nothing, and the file says so. */
  quickProbes?: boolean;
  /** Serve without the isolation headers (to test the refusal). */
  isolation?: boolean;
  /** Override whether Chromium gets --enable-unsafe-webgpu (to test the refusal). */
  webgpuFlag?: boolean;
  /** Page console errors and page errors (tests assert there are none). */
  onConsoleError?: (text: string) => void;
  onResult?: (r: LayerResult) => void;
  onDecodeResult?: (r: DecodeResult) => void;
  /** A decode comparison's results already measured (its journal, on resume): the page skips them. */
  decodeDone?: readonly DecodeResult[];
  /** Closes the page: the run stops as if the page had died (what is journaled stays). */
  signal?: AbortSignal;
  /** Close a page that sends nothing for this long (default 10 minutes). */
  silenceMs?: number;
  /** How long the browser may take to start (default 60 s). */
  launchTimeoutMs?: number;
}

const deviceOf = (d: string): BrowserDevice => {
  if (!isBrowserDevice(d)) throw new UsageError(`--device ${d}: not a browser device`);
  return d;
};

/** What the page told us, in order of arrival. */
interface Collected {
  environment?: Environment;
  ceilings?: Ceilings;
}

/** The machine the browser runs on is this one: its processor and platform, which a page cannot read. */
function onThisHost(env: Environment, ceilings: Ceilings | undefined): Environment {
  return { ...env, cpu: os.cpus()[0]?.model ?? env.cpu, platform: `${os.platform()} ${os.release()} ${os.arch()} (${env.platform} as the browser says)`, ceilings: ceilings ?? env.ceilings };
}

/** A layer sweep in headless Chromium: the result file, as `runLayers` gives it in Node. */
export async function runHeadless(c: LayersConfig, o: HeadlessOptions = {}): Promise<LayerResultFile> {
  const device = deviceOf(c.device);
  const variants = validateGrid(c);
  if (c.dump) throw new UsageError(`--dump is not available with --device ${device} (the tensors stay in the page)`);
  if (o.resume && !o.out) throw new UsageError('--resume needs --out (the journal lives beside the output file)');
  const log = o.log ?? logLine;
  return journaledLayerRun(o.out, c, { resume: o.resume ?? false, overwrite: o.overwrite ?? false, log }, (journal) => sweepInPage(c, variants, device, journal, o));
}

async function sweepInPage(c: LayersConfig, variants: VariantSpec[], device: BrowserDevice, journal: Journal<LayerJournalEntry> | undefined, o: HeadlessOptions): Promise<LayerResultFile> {
  const done = journal ? journalResults(journal.entries()) : [];
  const results: LayerResult[] = [...done];
  const failures: Failure[] = [];
  const got = await drive('layers', configQuery(LayersConfig, { ...c, verify: true }), device, o, { layers: done }, (m) => {
    if (m.type !== 'layers') return;
    for (const r of m.results) {
      journal?.append({ kind: 'result', session: 0, result: r }); // before the page goes on
      results.push(r);
      o.onResult?.(r);
    }
    failures.push(...m.failures);
    for (const f of m.failures) process.stderr.write(`\nattnbench: ${f.attention} b=${f.batch} s=${f.seq}: ${f.error.split('\n')[0]}\n`);
  }, done.length);
  const grid = { variants, batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, mode: c.mode };
  const ceilings = got.ceilings ?? null;
  const file: LayerResultFile = {
    schema: LAYERS_SCHEMA,
    environment: onThisHost(got.environment!, got.ceilings),
    config: LayerConfig.parse({ ...c, variants: variants.map(variantLabel) }),
    // every result against the run's final bounds (the page may have probed again)
    results: inGridOrder(grid, results).map((r) => underRoofline(r, ceilings)),
    failures,
  };
  return file;
}

/** A decode-step comparison in headless Chromium. */
export async function runHeadlessDecode(c: DecodeConfig, o: HeadlessOptions = {}): Promise<DecodeResultFile> {
  const device = deviceOf(c.device);
  const model = decodeModel(c);
  const done = [...(o.decodeDone ?? [])];
  const results: DecodeResult[] = [...done];
  const failures: DecodeFailure[] = [];
  const got = await drive('decode', configQuery(DecodeConfig, { ...c, verify: true }), device, o, { decode: done }, (m) => {
    if (m.type !== 'decode') return;
    results.push(...m.results);
    m.results.forEach((r) => o.onDecodeResult?.(r)); // the caller journals each before the page goes on
    failures.push(...m.failures);
  }, done.length);
  const ceilings = got.ceilings ?? null;
  return {
    schema: DECODE_SCHEMA,
    environment: onThisHost(got.environment!, got.ceilings),
    config: { ...c, verify: true },
    model,
    results: inDecodeOrder(c, results).map((r) => underRoofline(r, ceilings)),
    failures,
  };
}

/**
 * Serve the page, launch Chromium, open the page with `query` plus `run=<kind>`, and serve
 * its messages until it says done. Rejects with a UsageError on a refusal, with an Error on a
 * dead or silent page; the browser, the server and a freshly built page are gone either way.
 */
async function drive(kind: RunKind, query: URLSearchParams, device: BrowserDevice, o: HeadlessOptions, reply: HelloReply, take: (m: PageMessage) => void, already: number): Promise<Collected> {
  const log = o.log ?? logLine;
  query.set('run', kind);
  if (o.quickProbes) query.set('probes', 'quick');
  const page = await pageFolder({ gitCommit: gitCommit(), log });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let browser: LaunchedChromium | undefined;
  try {
    server = await startServer({ pageDir: page.dir, port: 0, isolation: o.isolation !== false });
    browser = await launch(o.webgpuFlag ?? ORT_BUILDS[device].provider === 'webgpu', o.launchTimeoutMs ?? 60_000);
    log(`${kind}: in headless ${browser.browser.version()} (${device})${already ? `; ${already} configuration(s) already in the journal` : ''}`);
    return await talk(await browser.browser.newPage(), `${server.url}?${query}`, reply, take, o);
  } finally {
    await browser?.close();
    await server?.close();
    page.dispose();
  }
}

/** The browser in a folder of the run's own (gone with the run however it ends: chromium.ts), or the one-line refusal. */
async function launch(webgpu: boolean, timeout: number): Promise<LaunchedChromium> {
  try {
    return await launchChromium({ webgpu, timeout });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const first = (e instanceof Error ? e.message : String(e)).split('\n').find((l) => l.trim()) ?? 'unknown error';
    throw new UsageError(`the browser cannot start: ${first.trim()}`);
  }
}

/** Open the page and answer its messages until it says done. */
async function talk(page: Page, url: string, reply: HelloReply, take: (m: PageMessage) => void, o: HeadlessOptions): Promise<Collected> {
  const state: Talk = { got: {}, reply, taken: 0, bar: progressBar(o.progress !== false, '{percentage}% | {config} | elapsed {duration_formatted} | ETA {eta_formatted}') };
  let silence: NodeJS.Timeout | undefined;
  const silenceMs = o.silenceMs ?? 600_000;
  // the browser may be closing already (the run ended meanwhile): a page it took with it is closed enough
  const closeQuietly = () => void page.close().catch(() => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      const died = (why: string) =>
        reject(new Error(`the page ${why} after ${state.taken} finished configuration(s)${o.out ? `; they are in ${journalPath(o.out)}, --resume continues` : ''}`));
      const heard = () => {
        clearTimeout(silence);
        silence = setTimeout(() => {
          died(`sent nothing for ${Math.round(silenceMs / 1000)} s and was closed`);
          closeQuietly();
        }, silenceMs);
      };
      const onMessage = async (m: PageMessage): Promise<HelloReply | undefined> => {
        heard();
        return answerPage(m, state, { take, resolve, reject });
      };
      watchPage(page, o, died, closeQuietly);
      heard();
      void page.exposeFunction(HOST_FUNCTION, onMessage).then(() => page.goto(url).catch(reject), reject);
    });
  } finally {
    clearTimeout(silence);
    state.bar?.stop();
  }
  return state.got;
}

/** What a conversation with the page has gathered so far. */
interface Talk {
  got: Collected;
  reply: HelloReply;
  /** Finished configurations (results and failures) the page has sent. */
  taken: number;
  bar: ReturnType<typeof progressBar>;
}

/** One message of the page: recorded, shown, or ending the conversation; the answer to `hello` is the journal's results. */
function answerPage(m: PageMessage, t: Talk, ends: { take: (m: PageMessage) => void; resolve: () => void; reject: (e: Error) => void }): HelloReply | undefined {
  switch (m.type) {
    case 'hello':
      t.got.environment = m.environment;
      return t.reply;
    case 'ceilings':
      t.got.ceilings = m.ceilings;
      return undefined;
    case 'progress':
      if (t.bar && !t.bar.isActive) t.bar.start(Math.max(1, Math.round(m.totalMs)), 0, { config: '' });
      t.bar?.setTotal(Math.max(1, Math.round(m.totalMs)));
      t.bar?.update(Math.round(m.doneMs), { config: m.label });
      return undefined;
    case 'layers':
    case 'decode':
      ends.take(m);
      t.taken += m.results.length + m.failures.length;
      return undefined;
    case 'done':
      ends.resolve();
      return undefined;
    case 'refuse':
      ends.reject(new UsageError(m.reason));
      return undefined;
    case 'fatal':
      ends.reject(new Error(`the page failed: ${m.error}`));
      return undefined;
  }
}

/** The page's end (a crash, a close, the run's abort) and its console errors. */
function watchPage(page: Page, o: HeadlessOptions, died: (why: string) => void, closeQuietly: () => void): void {
  page.on('crash', () => died('crashed'));
  page.on('close', () => died('closed'));
  page.on('console', (m) => {
    if (m.type() === 'error') o.onConsoleError?.(m.text());
  });
  page.on('pageerror', (e) => o.onConsoleError?.(e.message));
  o.signal?.addEventListener('abort', closeQuietly, { once: true });
}
