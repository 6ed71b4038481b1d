/**
 * The report's charts as Vega-Lite specs with their data inlined: the same spec is drawn
 * to SVG/PNG in Node and interactively in the HTML page. Layer charts come first, one set
 * per layer shape; then the generation charts.
 */
import type { Run } from '../results/io.ts';
import { withSource, type Chart } from './chart-style.ts';
import { generateCharts } from './generate-charts.ts';
import { layerCharts } from './layer-charts.ts';
import { generateRuns, shapeSections } from './load.ts';

/** Every chart the runs support: each layer shape's (in a section of its own when there are several), then generation's. */
export function buildCharts(runs: readonly Run[]): Chart[] {
  const sections = shapeSections(runs);
  const layer = sections.flatMap((s) => withSource(layerCharts(s.runs, sections.length > 1 ? s : undefined), s.runs));
  const gruns = generateRuns(runs);
  return [...layer, ...withSource(generateCharts(gruns), gruns)];
}
