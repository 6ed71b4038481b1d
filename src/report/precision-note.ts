/**
 * One sentence per decode or generation run that compares dtype combinations: which
 * combination (attention type, weights' dtype, cache's dtype) was fastest at each shape
 * measured, and what its precision costs — its error against float32, never a pass or fail:
 * how much error a use can take is the reader's to judge. Runs of one combination (every file
 * from before the precision axes) get none.
 */
import type { DecodeRun, GenerateRun, Run } from '../results/io.ts';
import type { DecodeResult, GenerateResult } from '../results/schema.ts';
import { errorText } from './dtype-series.ts';
import { decodeRuns, generateRuns } from './sections.ts';
import { evenly } from './thin.ts';

/** Shapes a sentence names one by one; beyond them, the largest context of each batch size (at most this many). */
const MAX_SHAPES = 8;

type Step = DecodeResult | GenerateResult;

const combinations = (rs: readonly Step[]) => new Set(rs.map((r) => `${r.weightDtype} ${r.kvDtype}`)).size;

/** A record's attention type and dtypes as the sentence names them: "multi-query-1 (int4 weights, int8 cache)". */
const combination = (r: Step) => `${r.attention} (${r.weightDtype} weights, ${r.kvDtype} cache)`;

/** The quickest of `rs` by `ms`, leaving out any that verified wrong (its time is no speed); undefined when none is left. */
function fastest<R extends Step>(rs: readonly R[], ms: (r: R) => number): R | undefined {
  return rs.filter((r) => r.verify?.ok !== false).reduce<R | undefined>((best, r) => (best === undefined || ms(r) < ms(best) ? r : best), undefined);
}

/** "multi-query-1 (int4 weights, int8 cache), 0.290 ms, error against float32 1.4e-2". */
const clause = <R extends Step>(r: R, ms: (r: R) => number) => `${combination(r)}, ${ms(r).toFixed(3)} ms, ${errorText(r)}`;

/** A decode run's (batch, context) shapes the sentence names: every one when they are few, else the largest context of each batch size. */
function decodeShapes(rs: readonly DecodeResult[]): { shapes: [number, number][]; largestOnly: boolean } {
  const all = [...new Map(rs.map((r) => [`${r.batch} ${r.context}`, [r.batch, r.context] as [number, number]])).values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (all.length <= MAX_SHAPES) return { shapes: all, largestOnly: false };
  const largest = new Map<number, number>();
  for (const [batch, context] of all) largest.set(batch, Math.max(context, largest.get(batch) ?? 0));
  return { shapes: evenly([...largest], MAX_SHAPES), largestOnly: true };
}

function decodeNote(run: DecodeRun): string | null {
  if (combinations(run.results) < 2) return null;
  const ms = (r: DecodeResult) => r.ms.median;
  const { shapes, largestOnly } = decodeShapes(run.results);
  const clauses = shapes.flatMap(([batch, context]) => {
    const best = fastest(run.results.filter((r) => r.batch === batch && r.context === context), ms);
    return best ? [`batch ${batch}, context ${context}: ${clause(best, ms)}`] : [];
  });
  if (clauses.length === 0) return null;
  const where = largestOnly ? ' at the largest context of each batch size' : '';
  return `Fastest dtype combination of ${run.label}${where} (median decode step, and what its precision costs against float32): ${clauses.join('; ')}.`;
}

function generateNote(run: GenerateRun): string | null {
  if (combinations(run.results) < 2) return null;
  const ms = (r: GenerateResult) => r.decodeMsPerToken.median;
  const best = fastest(run.results, ms);
  if (!best) return null;
  const shape = `batch ${run.resolved.batch}, prompt ${run.resolved.promptLength}, ${run.resolved.maxNewTokens} new tokens`;
  return `Fastest dtype combination of ${run.label} (${shape}; median decode step, and what its precision costs against float32): ${clause(best, ms)}.`;
}

/** The sentence of each decode and generation run that holds more than one dtype combination, in the report's order. */
export function precisionNotes(runs: readonly Run[]): string[] {
  return [...generateRuns(runs).map(generateNote), ...decodeRuns(runs).map(decodeNote)].filter((n): n is string => n !== null);
}
