/**
 * The benchmark page (`attnbench serve`): a layer sweep or a decode-step comparison chosen
 * with the CLI's names, run with a progress bar and a cancel button, shown as the CLI's
 * tables and the report's charts, kept in the browser's storage until its result file is
 * downloaded.
 *
 * A run is a page load with the configuration in the URL plus `run=layers|decode`: every run
 * starts in a fresh page (one onnxruntime-web build loaded, clean memory), a URL reproduces
 * it, a reload mid-run resumes it (what finished is kept), and the headless driver opens
 * exactly what a person would. `document.body.dataset.state` says where the page is
 * (loading, idle, running, done, cancelled, refused, error).
 */
import { HOST_FUNCTION, type RunKind } from '../browser/protocol.ts';
import { UsageError } from '../core/errors.ts';
import { adapterName, webgpuAdapter } from './environment.ts';
import { FORMS, formParams, parseRun, renderForm } from './form.ts';
import { Refusal, runInPage, type Host } from './runs.ts';
import { discardStored, hasUnsaved, loadStored, saveStored, type StoredRun } from './store.ts';
import { asRun, renderCharts, renderTables, resultFile } from './view.ts';

type PageState = 'loading' | 'idle' | 'running' | 'done' | 'cancelled' | 'refused' | 'error';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const host = (window as unknown as Record<string, Host | undefined>)[HOST_FUNCTION];
const KINDS: RunKind[] = ['layers', 'decode'];

const setState = (s: PageState) => void (document.body.dataset.state = s);
const showMessage = (text: string) => void ($('message').textContent = text);
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The form shown now. */
let current: RunKind = 'layers';

function showForm(kind: RunKind): void {
  current = kind;
  for (const k of KINDS) {
    $(`form-${k}`).hidden = k !== kind;
    $(`tab-${k}`).classList.toggle('active', k === kind);
  }
}

/** As many threads as the page allows: all cores when cross-origin isolated, else one. */
const pageThreads = () => (globalThis.crossOriginIsolated === true ? navigator.hardwareConcurrency || 1 : 1);

async function showStatus(): Promise<void> {
  const isolated = globalThis.crossOriginIsolated === true;
  const adapter = await webgpuAdapter().catch(() => null);
  const gpu = adapter ? `WebGPU adapter ${adapterName(adapter)}${adapter.software ? ' — a SOFTWARE adapter: its times are no GPU speed' : ''}` : 'no WebGPU adapter';
  $('status').textContent = `crossOriginIsolated ${isolated} (WASM threads: up to ${pageThreads()} of ${navigator.hardwareConcurrency || '?'} cores) · ${gpu}`;
}

// ---------------------------------------------------------------------------------------
// what is kept: the table, the charts, download and discard

function storedConfig(s: StoredRun): Record<string, unknown> {
  return parseRun(FORMS[s.kind], new URLSearchParams(s.query)).config;
}

function showStored(s: StoredRun | null, charts: boolean): void {
  const box = $('stored');
  box.hidden = !hasUnsaved(s);
  if (hasUnsaved(s)) {
    const failed = s.failures.length ? ` and ${s.failures.length} failure(s)` : '';
    $('stored-text').textContent = `This browser keeps ${s.results.length} finished configuration(s)${failed} of a${s.finished ? ' finished' : 'n unfinished'} ${FORMS[s.kind].title.toLowerCase()} on ${s.environment?.device.kind ?? '?'}, until you download them. `;
  }
  if (!s || !s.environment || (s.results.length === 0 && s.failures.length === 0)) {
    $('results').replaceChildren();
    $('charts').replaceChildren();
    return;
  }
  try {
    const run = asRun(resultFile(s, storedConfig(s)), s.environment.device.kind);
    renderTables($('results'), run);
    if (charts) void renderCharts($('charts'), run).catch((e: unknown) => showMessage(`the charts could not be drawn: ${errorText(e)}`));
  } catch (e) {
    showMessage(`the stored run cannot be shown (${errorText(e)}): download what can be, or discard it`);
  }
}

$('download').addEventListener('click', () => {
  const s = loadStored();
  if (!s) return;
  try {
    const file = resultFile(s, storedConfig(s));
    const blob = new Blob([JSON.stringify(file, null, 2) + '\n'], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `attnbench-${s.kind}-${s.environment?.device.kind ?? 'browser'}-${file.environment.date.slice(0, 19).replace(/:/g, '')}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    saveStored({ ...s, downloaded: true });
    showStored(loadStored(), false);
  } catch (e) {
    showMessage(errorText(e));
  }
});

$('discard').addEventListener('click', () => {
  discardStored();
  showStored(null, false);
});

// ---------------------------------------------------------------------------------------
// starting and running

for (const k of KINDS) $(`tab-${k}`).addEventListener('click', () => showForm(k));

$('run').addEventListener('click', () => {
  try {
    const { query } = parseRun(FORMS[current], formParams($(`form-${current}`))); // bad input is refused here, before anything starts
    const s = loadStored();
    if (hasUnsaved(s) && (s.kind !== current || s.query !== query)) throw new UsageError('this browser still holds finished configurations of another run: download or discard them first');
    // how the ceilings are probed is no part of the configuration: a page opened with probes=quick (tests) keeps it
    const probes = new URLSearchParams(location.search).get('probes');
    location.search = `run=${current}&${query}${probes ? `&probes=${encodeURIComponent(probes)}` : ''}`;
  } catch (e) {
    showMessage(errorText(e));
  }
});

function progress(p: { doneMs: number; totalMs: number; label: string }, started: number): void {
  $('progress-box').hidden = false;
  const bar = $<HTMLProgressElement>('progress');
  bar.max = Math.max(1, p.totalMs);
  bar.value = Math.min(p.doneMs, bar.max);
  const elapsed = (performance.now() - started) / 1000;
  const eta = p.doneMs > 0 ? (elapsed / p.doneMs) * (p.totalMs - p.doneMs) : NaN;
  $('progress-text').textContent = `${p.label} · elapsed ${elapsed.toFixed(0)} s${Number.isFinite(eta) ? ` · ETA ${eta.toFixed(0)} s` : ''}`;
}

async function run(kind: RunKind, params: URLSearchParams): Promise<void> {
  const controller = new AbortController();
  const cancel = $<HTMLButtonElement>('cancel');
  cancel.disabled = false;
  cancel.onclick = () => {
    controller.abort();
    cancel.disabled = true;
    $('progress-text').textContent += ' · cancelling after this configuration…';
  };
  $<HTMLButtonElement>('run').disabled = true;
  setState('running');
  const started = performance.now();
  try {
    const outcome = await runInPage(kind, params, host, {
      signal: controller.signal,
      progress: (p) => progress(p, started),
      stored: (s) => showStored(s, false),
    });
    setState(outcome);
    // the URL no longer starts a run: a reload shows what is kept, it does not run again
    history.replaceState(null, '', `?${new URLSearchParams([...params].filter(([k]) => k !== 'run'))}`);
  } catch (e) {
    showMessage(errorText(e));
    if (e instanceof Refusal) {
      setState('refused');
      await host?.({ type: 'refuse', reason: e.message });
    } else {
      setState('error');
      await host?.({ type: 'fatal', error: errorText(e) });
    }
  } finally {
    cancel.disabled = true;
    $<HTMLButtonElement>('run').disabled = false;
    showStored(loadStored(), true);
  }
}

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const kind = params.get('run') as RunKind | null;
  const shown = kind && KINDS.includes(kind) ? kind : params.has('context') ? 'decode' : 'layers';
  for (const k of KINDS) renderForm($(`form-${k}`), FORMS[k], pageThreads(), k === shown ? params : null);
  showForm(shown);
  await showStatus();
  showStored(loadStored(), !kind);
  if (kind === null) {
    setState('idle');
    return;
  }
  if (!KINDS.includes(kind)) {
    showMessage(`run=${kind}: not one of ${KINDS.join(', ')}`);
    setState('refused');
    await host?.({ type: 'refuse', reason: `run=${kind}: not one of ${KINDS.join(', ')}` });
    return;
  }
  await run(kind, params);
}

start().catch(async (e: unknown) => {
  showMessage(errorText(e));
  setState('error');
  await host?.({ type: 'fatal', error: errorText(e) });
});
