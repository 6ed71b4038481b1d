/**
 * The report's charts as Vega-Lite specs with their data inlined: the same spec is drawn
 * to SVG/PNG in Node and interactively in the HTML page. Layer charts come first, one set
 * per layer shape; then the generation charts; then the decode-step comparisons'.
 */
import type { Run } from '../results/io.ts';
import { withSource, type Chart } from './chart-style.ts';
import { decodeCharts } from './decode-charts.ts';
import { generateCharts } from './generate-charts.ts';
import { layerCharts } from './layer-charts.ts';
import { decodeRuns, generateRuns, shapeSections } from './sections.ts';

/** Every chart the runs support: each layer shape's (in a section of its own when there are several), then generation's, then the decode steps'. */
export function buildCharts(runs: readonly Run[]): Chart[] {
  const sections = shapeSections(runs);
  const layer = sections.flatMap((s) => withSource(layerCharts(s.runs, sections.length > 1 ? s : undefined), s.runs));
  const gruns = generateRuns(runs);
  const druns = decodeRuns(runs);
  return [...layer, ...withSource(generateCharts(gruns), gruns), ...withSource(decodeCharts(druns), druns)];
}
