/**
 * attnbench's typed API: what the command line does, as functions a program can call.
 *
 *   import { runLayers } from 'attnbench';
 *   const file = await runLayers({ variants: ['multi-head', 'multi-query-1'], batch: [8], seq: [512] });
 *
 * Configurations are zod schemas with defaults (give only the fields you care about);
 * results are the validated result files, typed from their schemas.
 */

// the attention variants and their graphs
export { kvHeads, MODES, parseVariant, variantLabel, type Mode, type VariantKind, type VariantSpec } from './attention/spec.ts';
export { ALIASES, findVariant, LAYOUTS, layoutOf, register, VARIANT_KINDS, variantsHelp } from './attention/registry.ts';
export { groupKvHeads, type Variant } from './attention/variant.ts';
export { buildLayer, layerInputs, layerShape, outputToLogical, type LayerModel } from './attention/layer.ts';
export type { Layout, PhysicalTensors } from './attention/layouts.ts';
export type { StepBuilder } from './attention/step.ts';
export { randomParams, type LayerShape, type LogicalParams } from './attention/params.ts';
export { maxRelError, referenceAttention } from './attention/reference.ts';
export { layerCost, type LayerCost } from './attention/cost.ts';
export { Engine, nodeRuntime, toFeeds, type EngineOptions, type GraphOpt } from './engine/session.ts';
export type { HostTensor, HostTensors, Runtime, RuntimeSession } from './engine/runtime.ts';

// measuring
export { LayersConfig, MAIN_JOB_GRID, type LayersConfigInput } from './config/layers.ts';
export { GenerateConfig, PRESETS, type GenerateConfigInput, type PresetName } from './config/generate.ts';
export { runLayers, type LayersRunOptions } from './commands/run-layers.ts';
export { runGenerate, type GenerateRunOptions } from './generate/run.ts';
export { DecodeConfig, type DecodeConfigInput } from './config/decode.ts';
export { runDecode, type DecodeRunOptions } from './commands/run-decode.ts';
export { measureCeilings, type ProbeOptions } from './roofline/node-ceilings.ts';
export { Ceilings } from './roofline/probes.ts';
export { ceilingRates, floorMs, type Cost, type Rates } from './roofline/floor.ts';
export { ratioInterval } from './timing/interval.ts';

// result files: their schemas (zod), the types inferred from them, reading and writing
export {
  DECODE_SCHEMA,
  DecodeResult,
  DecodeResultFile,
  Environment,
  Failure,
  GENERATE_SCHEMA,
  GenerateResult,
  GenerateResultFile,
  GenerationResolved,
  LAYERS_SCHEMA,
  LayerConfig,
  LayerResult,
  LayerResultFile,
  Stage,
  StepPoint,
  type StageResult,
} from './results/schema.ts';
export { Samples, Summary, summarize } from './timing/stats.ts';
export { ModelConfig } from './model/config.ts';
export { readLayerFile, readRun, writeDecodeFile, writeGenerateFile, writeLayerFile, type DecodeRun, type GenerateRun, type LayerRun, type Run } from './results/io.ts';
export { jsonSchemas } from './results/json-schema.ts';

// tables
export { csvTable, formatTable, htmlTable, jsonTable, markdownTable, type Cell, type Column, type Table, type TableFormat } from './table/table.ts';
export { decodeTable, generationTable, layerTable, speedupText } from './results/tables.ts';

// reports and comparisons
export { compareRuns, formatComparison, gateFailure, regressions, type Comparison, type CompareRow } from './report/compare.ts';
export { loadRun, loadRuns } from './report/load.ts';
export { fromLegacy, toLegacy } from './results/seed-format.ts';
export { UsageError } from './core/errors.ts';

import { compareRuns, type Comparison } from './report/compare.ts';
import { loadRun } from './report/load.ts';

/**
 * Draw result files into `dir` (SVG and PNG charts, index.html, summary.md); returns the
 * path of index.html. The charting libraries load on the first call, not with the API.
 */
export async function report(files: readonly string[], dir: string): Promise<string> {
  const { report: draw } = await import('./report/report.ts');
  return draw(files, dir);
}

/** Compare two result files: B/A per configuration present in both, with each side's spread. */
export const compare = (a: string, b: string): Comparison => compareRuns(loadRun(a), loadRun(b));

// the browser that comes with npm ci (tests, and runs in a browser)
export { chromiumLaunchOptions, swiftshaderVulkanEnv, unpackChromium, type ChromiumFiles, type ChromiumLaunch } from './browser/chromium.ts';
