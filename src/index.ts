/**
 * attnbench's typed API: what `import … from 'attnbench'` gives a program.
 * (A minimal entry point; the restructuring of src/ replaces it with the full one.)
 */
export { parseVariant, variantLabel, UsageError, type VariantSpec, type Mode } from './attention/spec.ts';
export { buildLayer, layerShape, type LayerModel } from './attention/layer.ts';
export { runLayers, type LayersConfig } from './profile/run-layers.ts';
export { runGenerate, type GenerateConfig } from './generate/run.ts';
export { report } from './report/report.ts';
export { loadRun, loadRuns, type Run } from './report/load.ts';
export { compareRuns, type Comparison } from './report/compare.ts';
export { chromiumLaunchOptions, unpackChromium, swiftshaderVulkanEnv, type ChromiumFiles, type ChromiumLaunch } from './browser/chromium.ts';
export * from './results/schema.ts';
