/**
 * A run in the page: the checks a browser needs (a device the page can give, threads only
 * when cross-origin isolated, an adapter for WebGPU), the ceilings measured here through the
 * chosen build, then the very protocol Node runs (src/measure/) over onnxruntime-web — every
 * configuration verified, finished ones kept in storage and handed to the host (the headless
 * driver) before the next starts, probed again between configurations after two minutes, and
 * stopped between configurations by a cancel.
 */
import { BROWSER_DEVICES, isBrowserDevice, ORT_BUILDS, type BrowserDevice } from '../browser/backends.ts';
import type { HelloReply, PageMessage, RunKind } from '../browser/protocol.ts';
import type { DecodeConfig } from '../config/decode.ts';
import type { LayersConfig } from '../config/layers.ts';
import { GIB } from '../core/constants.ts';
import { formatGiB } from '../core/footprint.ts';
import { UsageError } from '../core/errors.ts';
import type { Runtime } from '../engine/runtime.ts';
import { decodeModel, decodeShapes, decodeSweep } from '../measure/decode.ts';
import { protocolOptions } from '../measure/layer.ts';
import { runShapes, runSweep, sweepJobs, validateGrid } from '../measure/sweep.ts';
import type { DecodeResult, LayerResult } from '../results/schema.ts';
import { ceilingsFrom, probeWith, QUICK_PROBES, type Ceilings, type MatmulShape, type ProbeSizes } from '../roofline/probes.ts';
import { adapterName, pageEnvironment, timerStepMs, webgpuAdapter, type Adapter, type PageEnvironmentInput } from './environment.ts';
import { FORMS, parseRun } from './form.ts';
import { loadOrt, webRuntime, type Ort } from './ort-runtime.ts';
import { hasUnsaved, loadStored, saveStored, type StoredRun } from './store.ts';

export type Host = (m: PageMessage) => Promise<unknown>;

export interface RunUi {
  signal: AbortSignal;
  progress(p: { doneMs: number; totalMs: number; label: string }): void;
  /** The stored run changed (a configuration finished). */
  stored(s: StoredRun): void;
}

export type RunOutcome = 'done' | 'cancelled' | 'refused';

/** A refusal: one line, for the person and for the host. */
export class Refusal extends Error {}

/** Probe sizes a page can afford: a software GPU cannot take a 2048³ product 17 times in reasonable time. */
export function pageProbeSizes(device: BrowserDevice, adapter: Adapter | null, quick: boolean): ProbeSizes {
  if (quick) return QUICK_PROBES;
  if (ORT_BUILDS[device].provider === 'wasm') return { square: 1024, readMiB: 64, streamMiB: 32, copyMiB: 64, runs: 10 };
  return adapter?.software ? { square: 256, readMiB: 16, streamMiB: 8, copyMiB: 16, runs: 5 } : { square: 2048, readMiB: 256, streamMiB: 64, copyMiB: 64, runs: 10 };
}

/** Probe the ceilings again between configurations once this long has passed since the last probing (as in Node). */
const REPROBE_AFTER_MS = 120_000;

/** A page's WebAssembly memory ends at 4 GiB; refuse what would not fit with room to spare. */
function checkPageMemory(what: string, bytes: number): void {
  if (bytes > 3 * GIB) throw new UsageError(`${what}: needs about ${formatGiB(bytes)} GiB, more than a page's WebAssembly memory (4 GiB) can hold`);
}

interface Checked {
  kind: RunKind;
  config: Record<string, unknown> & { device: string; threads: number; graphOpt: 'none' | 'basic' | 'extended' | 'all' };
  query: string;
  device: BrowserDevice;
  adapter: Adapter | null;
}

/** Everything that can be refused before a build is loaded. */
async function check(kind: RunKind, params: URLSearchParams): Promise<Checked> {
  let parsed;
  try {
    parsed = parseRun(FORMS[kind], params);
  } catch (e) {
    throw e instanceof UsageError ? new Refusal(e.message) : e;
  }
  const config = parsed.config as Checked['config'];
  const device = config.device;
  if (!isBrowserDevice(device)) throw new Refusal(`--device ${device}: the page runs onnxruntime-web; choose ${BROWSER_DEVICES.join(', ')}`);
  if (config.dump !== undefined) throw new Refusal(`--dump is not available with --device ${device} (the tensors stay in the page)`);
  const stored = loadStored();
  if (hasUnsaved(stored) && (stored.kind !== kind || stored.query !== parsed.query)) {
    throw new Refusal('this browser still holds finished configurations of another run: download or discard them first');
  }
  if (config.threads > 1 && globalThis.crossOriginIsolated !== true) {
    throw new Refusal(`--threads ${config.threads} needs a cross-origin isolated page (crossOriginIsolated is false: the server sent no COOP/COEP headers)`);
  }
  const adapter = ORT_BUILDS[device].provider === 'webgpu' ? await webgpuAdapter() : null;
  if (ORT_BUILDS[device].provider === 'webgpu' && !adapter) {
    throw new Refusal('no WebGPU adapter: navigator.gpu.requestAdapter() returned null (Chromium needs --enable-unsafe-webgpu, or a GPU)');
  }
  return { kind, config, query: parsed.query, device, adapter };
}

/** One run in the page: what it runs on, what it has stored, and whom it tells. */
interface PageRun {
  kind: RunKind;
  c: Checked;
  rt: Runtime;
  /** A GPU's reference where the float64 one would take too long: the build's own CPU provider. */
  reference: Runtime | undefined;
  env: Omit<PageEnvironmentInput, 'ceilings'>;
  stored: StoredRun;
  host: Host | undefined;
  ui: RunUi;
}

/** Run what `params` describe; refusals are thrown as Refusal (one line). */
export async function runInPage(kind: RunKind, params: URLSearchParams, host: Host | undefined, ui: RunUi): Promise<RunOutcome> {
  const c = await check(kind, params);
  const ort = await loadOrt(c.device, c.config.threads);
  const { rt, reference, env } = pageRuntimes(c, ort, host !== undefined);
  const reply = ((await host?.({ type: 'hello', kind, environment: pageEnvironment({ ...env, ceilings: null }) })) ?? {}) as HelloReply;
  const run: PageRun = { kind, c, rt, reference, env, stored: resumedRun(kind, c.query), host, ui };
  const probeOnce = ceilingProber(run, params.get('probes') === 'quick');
  const ceilings = await probeOnce(run.stored.environment?.ceilings ?? null, run.stored.environment ? 'resume' : 'start');
  ui.stored(run.stored);
  const cancelled = kind === 'layers' ? await layersInPage(run, reply, ceilings, probeOnce) : await decodeInPage(run, reply, ceilings);
  run.stored.finished = !cancelled;
  saveStored(run.stored);
  ui.stored(run.stored);
  await host?.({ type: 'done', outcome: cancelled ? 'cancelled' : 'done' });
  return cancelled ? 'cancelled' : 'done';
}

/** The runtime a run measures on, its reference on a GPU, and what its environment records. */
function pageRuntimes(c: Checked, ort: Ort, headless: boolean): Pick<PageRun, 'rt' | 'reference' | 'env'> {
  const where = c.adapter ? ` on ${adapterName(c.adapter)}${c.adapter.software ? ' (software)' : ''}` : `, ${c.config.threads} thread(s)`;
  const rt = webRuntime(ort, { device: c.device, graphOpt: c.config.graphOpt, name: `${ORT_BUILDS[c.device].describe}${where}` });
  // a GPU is checked against the build's own CPU provider where the float64 reference would take too long
  const reference = c.adapter ? webRuntime(ort, { device: c.device, graphOpt: c.config.graphOpt, name: 'its WASM CPU provider', cpu: true }) : undefined;
  const env = { ort, device: c.device, threads: c.config.threads, graphOpt: c.config.graphOpt, adapter: c.adapter, timerStepMs: timerStepMs(), headless };
  return { rt, reference, env };
}

/** The stored run to continue: the same run's (its failed configurations run again), or a new one. */
function resumedRun(kind: RunKind, query: string): StoredRun {
  const previous = loadStored();
  return previous && previous.kind === kind && previous.query === query
    ? { ...previous, failures: [], finished: false, downloaded: false }
    : { kind, query, environment: null, results: [], failures: [], finished: false, downloaded: false };
}

/** Probe the ceilings (adding to `prev`'s probings), store them, and tell the host. */
function ceilingProber(run: PageRun, quick: boolean): (prev: Ceilings | null, label: string) => Promise<Ceilings> {
  const { c, rt, stored } = run;
  const sizes = pageProbeSizes(c.device, c.adapter, quick);
  const shapes = run.kind === 'layers' ? layerShapes(c.config as unknown as LayersConfig) : decodeShapes(decodeModel(c.config as unknown as DecodeConfig), Math.max(...(c.config as unknown as DecodeConfig).batch));
  return async (prev, label) => {
    run.ui.progress({ doneMs: 0, totalMs: 1, label: `measuring the ceilings (${label})` });
    const probe = await probeWith(rt, { sizes, shapes, label, quick });
    const ceilings = ceilingsFrom([...(prev?.probes ?? []), probe], null, { runtime: rt.name, sizes, quick });
    stored.environment = pageEnvironment({ ...run.env, ceilings });
    saveStored(stored);
    await run.host?.({ type: 'ceilings', ceilings });
    return ceilings;
  };
}

/** What a layer sweep and a decode comparison share: the protocol, the progress, and where finished results go. */
function common(run: PageRun, ceilings: Ceilings) {
  const { stored, ui, host } = run;
  return {
    options: {
      ...protocolOptions({ ...(run.c.config as unknown as LayersConfig | DecodeConfig), verify: true }, ceilings),
      signal: ui.signal,
      checkMemory: checkPageMemory,
      onProgress: (p: { doneMs: number; totalMs: number; label: string }) => {
        ui.progress(p);
        void host?.({ type: 'progress', doneMs: p.doneMs, totalMs: p.totalMs, label: p.label });
      },
    },
    keep: async (results: readonly (LayerResult | DecodeResult)[], failures: readonly StoredRun['failures'][number][]) => {
      stored.results.push(...results);
      stored.failures.push(...failures);
      saveStored(stored);
      ui.stored(stored);
    },
  };
}

/** A layer sweep in the page, probing again between configurations; true if cancelled. */
async function layersInPage(run: PageRun, reply: HelloReply, ceilings: Ceilings, probeOnce: ReturnType<typeof ceilingProber>): Promise<boolean> {
  const { options, keep } = common(run, ceilings);
  const config = run.c.config as unknown as LayersConfig;
  const grid = { variants: validateGrid(config), batch: config.batch, seq: config.seq, heads: config.heads, headDim: config.headDim, mode: config.mode };
  const out = await runSweep(run.rt, grid, {
    ...options,
    ...(run.reference ? { reference: run.reference } : {}),
    done: [...(run.stored.results as LayerResult[]), ...(reply.layers ?? [])],
    reprobe: { afterMs: REPROBE_AFTER_MS, probe: (prev) => probeOnce(prev, 'between configurations') },
    sink: async (results, failures) => {
      await keep(results, failures);
      await run.host?.({ type: 'layers', results: [...results], failures: [...failures] });
    },
  });
  return out.cancelled;
}

/** A decode comparison in the page; true if cancelled. */
async function decodeInPage(run: PageRun, reply: HelloReply, ceilings: Ceilings): Promise<boolean> {
  const { options, keep } = common(run, ceilings);
  const out = await decodeSweep(run.rt, run.c.config as unknown as DecodeConfig, {
    ...options,
    done: [...(run.stored.results as DecodeResult[]), ...(reply.decode ?? [])],
    sink: async (results, failures) => {
      await keep(results, failures);
      await run.host?.({ type: 'decode', results: [...results], failures: [...failures] });
    },
  });
  return out.cancelled;
}

/** The products a layer sweep multiplies, for the compute probe. */
const layerShapes = (c: LayersConfig): MatmulShape[] =>
  runShapes(sweepJobs({ variants: validateGrid(c), batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, mode: c.mode }));

