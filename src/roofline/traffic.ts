/**
 * The bytes a graph really moves, read from the engine's profiler: for every kernel of a
 * run, its inputs and its outputs as the engine reports them. This is the traffic of the
 * implementation (its copies, transposes, splits; a cache read at its allocated capacity),
 * beside the task's own minimum (`src/attention/cost.ts`, `src/model/config.ts`).
 *
 * Three corrections keep it a floor's input, never more than what moves:
 *  - ops the engine runs as views of their input (Reshape, Squeeze, Unsqueeze, Flatten,
 *    Identity, Shape) move nothing;
 *  - a Gather reads only the rows it gathers (an embedding lookup reads 8 rows of a table,
 *    not the table): its output's bytes, read and written;
 *  - constants are not counted per kernel (a weight the engine pre-packed is no kernel input
 *    any more, one used twice is read once): the caller adds the weights' bytes once
 *    (`constantBytes`); tiny constants (shapes, axes) are left out.
 */
import type { KernelEvent, ProfiledRun } from '../engine/trace.ts';

/** Ops whose output is a view of their input. */
export const VIEW_OPS: ReadonlySet<string> = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity', 'Shape']);

/** Bytes one kernel read and wrote, constants aside (0 for views; null when the trace does not say). */
export function kernelBytes(k: KernelEvent): number | null {
  if (VIEW_OPS.has(k.op)) return 0;
  if (k.outputBytes === undefined) return null;
  if (k.op === 'Gather') return 2 * k.outputBytes;
  if (k.activationBytes === undefined) return null;
  return k.activationBytes + k.outputBytes;
}

/**
 * Bytes one run moved: every kernel's, plus `constantBytes` (pre-packed weights, read once),
 * optionally only the kernels `keep` selects. Null when the trace lacks the sizes.
 */
export function movedBytes(run: ProfiledRun, constantBytes = 0, keep: (k: KernelEvent) => boolean = () => true): number | null {
  let total = constantBytes;
  for (const k of run.kernels) {
    if (!keep(k)) continue;
    const b = kernelBytes(k);
    if (b === null) return null;
    total += b;
  }
  return total;
}
