/**
 * What the page tells a Node host (the headless driver) while it runs. The page calls
 * `window.attnbenchHost(message)` for each message and awaits the answer, so a finished
 * configuration is in Node's journal before the next one starts: a page that dies mid-run
 * loses nothing that was finished. Platform-neutral.
 */
import type { DecodeFailure, DecodeResult, Environment, Failure, LayerResult } from '../results/schema.ts';
import type { Ceilings } from '../roofline/probes.ts';

export type RunKind = 'layers' | 'decode';

export type PageMessage =
  /** Before any work: what the page got (threads, adapter). The host answers with what it already has (`HelloReply`). */
  | { type: 'hello'; kind: RunKind; environment: Environment }
  /** The page cannot give what was asked (no adapter, not isolated): one line, the run stops. */
  | { type: 'refuse'; reason: string }
  /** The ceilings measured in the page, at the start and after each probing again. */
  | { type: 'ceilings'; ceilings: Ceilings }
  | { type: 'progress'; doneMs: number; totalMs: number; label: string }
  /** One finished configuration of a layer sweep: its results (and the variants that failed). */
  | { type: 'layers'; results: LayerResult[]; failures: Failure[] }
  /** One finished (batch, context) of a decode comparison. */
  | { type: 'decode'; results: DecodeResult[]; failures: DecodeFailure[] }
  | { type: 'done'; outcome: 'done' | 'cancelled' }
  /** An error outside any configuration (the build failed to load, ...). */
  | { type: 'fatal'; error: string };

export interface HelloReply {
  /** Results the host already has (a journal, on --resume): their configurations are skipped. */
  layers?: LayerResult[];
  decode?: DecodeResult[];
}

/** The name of the function the host exposes on `window`. */
export const HOST_FUNCTION = 'attnbenchHost';
