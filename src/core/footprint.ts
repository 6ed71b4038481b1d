/**
 * Predicted memory, as numbers (platform-neutral: the browser page sizes its runs with it
 * too). Contenders that live side by side (attention types measured in alternation) add
 * up: every one's resident bytes, plus the largest of what one allocates and frees again on
 * the way. Where the bytes are checked against is the caller's: Node's free memory
 * (memory.ts), a page's WebAssembly memory.
 */
import { GIB } from './constants.ts';

/** What one contender holds for the whole run, and what it allocates and frees on the way (a graph serialised, a session built). */
export interface Footprint {
  label: string;
  resident: number;
  transient: number;
}

/**
 * The peak of contenders side by side: every one's resident bytes plus the largest
 * transient, since they run in turn, the engine's arena is off for them and glibc hands a
 * block one freed to the next. The one memory rule: layers, decode steps and generations.
 */
export const sideBySideBytes = (items: readonly Pick<Footprint, 'resident' | 'transient'>[]): number => items.reduce((a, t) => a + t.resident, 0) + Math.max(0, ...items.map((t) => t.transient));

/** Refuse (through `check`, naming `what` and the contenders) contenders that side by side would not fit. */
export function checkSideBySide(what: string, items: readonly Footprint[], check: (what: string, bytes: number) => void): void {
  check(`${what} ${items.map((t) => t.label).join(', ')}, side by side`, sideBySideBytes(items));
}

/** Bytes as GiB with one decimal, as the refusals print them. */
export const formatGiB = (b: number): string => (b / GIB).toFixed(1);
