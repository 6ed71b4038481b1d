/**
 * The runs of a report grouped for drawing: by kind, and layer results by the layer they
 * measure (a report draws each shape on its own). Platform-neutral: the browser page draws
 * the report's charts of what it measured with the same code.
 */
import type { DecodeRun, GenerateRun, LayerRun, Run } from '../results/io.ts';
import type { LayerResult } from '../results/schema.ts';

export const layerRuns = (runs: readonly Run[]) => runs.filter((r): r is LayerRun => r.kind === 'layers');
export const generateRuns = (runs: readonly Run[]) => runs.filter((r): r is GenerateRun => r.kind === 'generate');
export const decodeRuns = (runs: readonly Run[]) => runs.filter((r): r is DecodeRun => r.kind === 'decode');

/** The layer a result measures: what must be equal for two results to share an axis. */
export interface LayerShape {
  mode: LayerResult['mode'];
  heads: number;
  headDim: number;
}

const shapeKey = (s: LayerShape) => `${s.mode} ${s.heads}x${s.headDim}`;

/** "seed mode, 16 heads of 64". */
export const shapeTitle = (s: LayerShape) => `${s.mode} mode, ${s.heads} heads of ${s.headDim}`;

/** The layer runs that measure one shape (each run cut to its results of that shape). */
export interface ShapeSection {
  shape: LayerShape;
  /** A file-name-safe id ("seed-16x64"). */
  id: string;
  title: string;
  runs: LayerRun[];
}

/**
 * Layer results grouped by the layer they measure, in the order first seen. Times,
 * speedups and rooflines of different layers on one axis would compare different work,
 * so a report draws each group in a section of its own. A run's failures go with the
 * first section it appears in.
 */
export function shapeSections(runs: readonly Run[]): ShapeSection[] {
  const sections = new Map<string, ShapeSection>();
  for (const run of layerRuns(runs)) {
    const byShape = new Map<string, LayerResult[]>();
    for (const r of run.results) {
      const key = shapeKey(r);
      // appended in place: copying the list per result made this quadratic (minutes for 50,000 results)
      const list = byShape.get(key);
      if (list) list.push(r);
      else byShape.set(key, [r]);
    }
    [...byShape].forEach(([key, results], i) => {
      const shape = { mode: results[0]!.mode, heads: results[0]!.heads, headDim: results[0]!.headDim };
      const section = sections.get(key) ?? { shape, id: key.replace(' ', '-'), title: shapeTitle(shape), runs: [] };
      section.runs.push({ ...run, results, failures: i === 0 ? run.failures : [] });
      sections.set(key, section);
    });
  }
  return [...sections.values()];
}
