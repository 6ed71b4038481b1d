/** The one check of `--threads`, shared by every command that runs the engine. */
import os from 'node:os';
import { UsageError } from './errors.ts';

/** Refuse a thread count far above the machine's cores (a typo, not an experiment). */
export function checkThreads(threads: number, cores = os.cpus().length): void {
  if (threads > cores * 4) throw new UsageError(`--threads: ${threads} is far above this machine's ${cores} cores`);
}
