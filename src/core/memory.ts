/**
 * The one memory refusal every command makes before it allocates: the predicted peak
 * bytes of what is about to run, against what the machine has free now.
 */
import os from 'node:os';
import { GIB } from './constants.ts';
import { UsageError } from './errors.ts';

const gib = (b: number) => (b / GIB).toFixed(1);

/** Refuse (UsageError naming `what`) when `bytes` exceed the free memory. */
export function checkMemory(what: string, bytes: number, free = os.freemem()): void {
  if (bytes > free) throw new UsageError(`${what}: needs about ${gib(bytes)} GiB of memory, only ${gib(free)} GiB free`);
}

/** Bytes as GiB with one decimal, as the refusal prints them. */
export const formatGiB = gib;
