/**
 * The one memory refusal every command makes before it allocates: the predicted peak
 * bytes of what is about to run, against what the machine has free now.
 */
import os from 'node:os';
import { UsageError } from './errors.ts';
import { formatGiB } from './footprint.ts';

/** Refuse (UsageError naming `what`) when `bytes` exceed the free memory. */
export function checkMemory(what: string, bytes: number, free = os.freemem()): void {
  if (bytes > free) throw new UsageError(`${what}: needs about ${formatGiB(bytes)} GiB of memory, only ${formatGiB(free)} GiB free`);
}
