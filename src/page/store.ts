/**
 * Finished configurations kept in the page's storage until the result file is downloaded,
 * so a reload or a crash loses nothing finished. One run at a time: starting another while
 * one holds undownloaded results is refused (download or discard it first).
 *
 * localStorage, not IndexedDB: writes are synchronous (done before the next configuration
 * starts) and a result is a few KB (its timed samples), so even the seed's 128-configuration
 * grid stays far under the ~5 MB an origin gets.
 */
import type { RunKind } from '../browser/protocol.ts';
import type { DecodeFailure, DecodeResult, Environment, Failure, LayerResult } from '../results/schema.ts';
import { decodeResultNames, layerResultNames } from '../results/upgrade.ts';

const KEY = 'attnbench.run';

export interface StoredRun {
  kind: RunKind;
  /** The configuration's query (config/query.ts): identifies the run. */
  query: string;
  /** Set once the page has measured its ceilings. */
  environment: Environment | null;
  results: (LayerResult | DecodeResult)[];
  failures: (Failure | DecodeFailure)[];
  finished: boolean;
  downloaded: boolean;
}

export function loadStored(): StoredRun | null {
  const text = localStorage.getItem(KEY);
  if (!text) return null;
  try {
    return withRecordNames(JSON.parse(text) as StoredRun);
  } catch {
    localStorage.removeItem(KEY); // unreadable (written by another version): nothing to keep
    return null;
  }
}

/**
 * A run an earlier version of the page stored, with the comparison record's names
 * (upgrade.ts): read here, where the storage is read, so that a resumed run recognises its
 * finished configurations and the tables and the file show them alike.
 */
function withRecordNames(s: StoredRun): StoredRun {
  const names = s.kind === 'layers' ? layerResultNames : decodeResultNames;
  return { ...s, results: s.results.map(names) as StoredRun['results'], failures: s.failures.map(names) as StoredRun['failures'] };
}

export function saveStored(s: StoredRun): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function discardStored(): void {
  localStorage.removeItem(KEY);
}

/** True when `s` holds results that were never downloaded. */
export const hasUnsaved = (s: StoredRun | null): s is StoredRun => !!s && !s.downloaded && (s.results.length > 0 || s.failures.length > 0);
