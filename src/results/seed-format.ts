/**
 * The seed's result format (`profile_attention_types.json`), both ways.
 *
 * The seed wrote `{class: [[bs, [[sl, table]]]]}` where `table` is
 * `[["key", "cpu us", "cuda us", "all us"], [range, cpu, cuda, all]..., ["TOTAL", Σcpu, Σcuda, Σall]]`:
 * per `record_function` range, the host (CPU) time and the device (CUDA) time averaged over
 * the profiled calls, and `all` = cpu + cuda. Its notebook plots TOTAL `all` as the time of a
 * configuration and TOTAL `cpu / all` as the "cpu part".
 *
 * Mapping (documented in docs/seed-format.md):
 *   range GET_QKV / SPLIT_QKV / GET_ATTENTION_WEIGHTS / GET_ATTENTION_OUTPUT ↔ stage qkv / split / weights / output
 *   cpu us = hostMs·1000, cuda us = kernelMs·1000, all us = wallMs·1000
 *   TOTAL all / 1000 → ms (n = 1: the seed kept no repetitions) and profiledMs
 *   TOTAL cpu / TOTAL all → hostShare
 * Imported stages keep the original microseconds in `seedUs`, so import → export gives the
 * seed's bytes back. Stages the seed did not have (e.g. `other`) are written after the
 * TOTAL row, so the notebook's `table[5]` is still TOTAL; TOTAL sums every range, as the
 * seed's `get_key_totals` did.
 */
import { z } from 'zod';
import { layerCost } from '../attention/cost.ts';
import { SEED_STAGES } from '../attention/layouts.ts';
import { ALIASES } from '../attention/registry.ts';
import { kvHeads, parseVariant, variantLabel } from '../attention/spec.ts';
import { SEED_LAYER } from '../config/layers.ts';
import { UsageError } from '../core/errors.ts';
import { LAYERS_SCHEMA, type Environment, type LayerResult, type LayerResultFile, type StageResult } from './schema.ts';
import { seedRepeats } from '../timing/measure.ts';
import { underRoofline, withLayerSpeedups, type Measured } from './bounds.ts';

const HEADER = ['key', 'cpu us', 'cuda us', 'all us'] as const;
const TOTAL = 'TOTAL';

/** Seed range name ↔ our stage name, in the seed's order. */
const RANGES = ['GET_QKV', 'SPLIT_QKV', 'GET_ATTENTION_WEIGHTS', 'GET_ATTENTION_OUTPUT'] as const;
const STAGE_OF_RANGE = new Map<string, string>(RANGES.map((r, i) => [r, SEED_STAGES[i]!]));
const RANGE_OF_STAGE = new Map<string, string>(RANGES.map((r, i) => [SEED_STAGES[i]!, r]));

/** The seed's class names (`MultiHead`, ...: the CamelCase aliases) for our variants; the others keep their own names. */
const CLASS_OF_VARIANT = new Map<string, string>(
  Object.entries(ALIASES)
    .filter(([alias]) => /^[A-Z][a-z]/.test(alias))
    .map(([alias, kind]) => [kind, alias]),
);

const Row = z.tuple([z.string(), z.number(), z.number(), z.number()]);
const Table = z.array(z.array(z.union([z.string(), z.number()])));
const LegacyFile = z.record(
  z.string(),
  z.array(z.tuple([z.number().int().positive(), z.array(z.tuple([z.number().int().positive(), Table]))])),
);
type LegacyRow = z.infer<typeof Row>;

/** True for a JSON value shaped like the seed's file (used to hint at `import-legacy`). */
export function looksLegacy(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || 'schema' in json) return false;
  const values = Object.values(json);
  return values.length > 0 && values.every(Array.isArray);
}

function importEnvironment(source: string): Environment {
  return {
    cpu: 'unknown',
    platform: 'unknown (seed: PyTorch eager on CUDA)',
    node: 'n/a',
    onnxruntime: 'n/a',
    // PyTorch eager mode runs the ops as written: no graph optimisation
    graphOpt: 'none',
    malloc: {},
    gitCommit: null,
    date: 'unknown',
    device: {
      kind: 'unknown',
      provider: 'PyTorch eager on CUDA',
      description: "unknown: a CUDA GPU (by the seed's README a Tesla V100-PCIE-16GB), PyTorch eager",
      software: false,
      adapter: null,
    },
    ceilings: null,
    importedFrom: source,
  };
}

/** Convert the seed's JSON (already parsed) into a layer result file. `file` names it in errors. */
export function fromLegacy(json: unknown, file: string, shape: { heads: number; headDim: number } = SEED_LAYER): LayerResultFile {
  const schema = (json as { schema?: unknown } | null)?.schema;
  if (typeof schema === 'string') throw new UsageError(`${file}: is already a result file (schema ${schema}), not the seed's format`);
  const parsed = LegacyFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${file}: not the seed's format at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const results: Measured[] = [];
  for (const [cls, batches] of Object.entries(parsed.data)) {
    let variant: string;
    let kv: number;
    try {
      const spec = parseVariant(cls);
      variant = variantLabel(spec);
      kv = kvHeads(spec, shape.heads, shape.headDim);
    } catch (e) {
      throw new UsageError(`${file}: class '${cls}': ${(e as Error).message}`);
    }
    for (const [batch, seqs] of batches) {
      for (const [seq, table] of seqs) {
        const where = `${file}: ${cls} batch ${batch} seq ${seq}`;
        results.push(importConfig(table, where, { attention: variant, batch, seq, heads: shape.heads, kvHeads: kv, headDim: shape.headDim }));
      }
    }
  }
  if (results.length === 0) throw new UsageError(`${file}: no results`);
  // the seed kept one number per configuration: its speedups are point estimates (n = 1)
  return { schema: LAYERS_SCHEMA, environment: importEnvironment(file), results: withLayerSpeedups(results).map((r) => underRoofline(r, null)), failures: [] };
}

interface Config {
  attention: string;
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

function importConfig(table: z.infer<typeof Table>, where: string, c: Config): Measured {
  const [header, ...body] = table;
  if (JSON.stringify(header) !== JSON.stringify(HEADER)) throw new UsageError(`${where}: first row is not ${JSON.stringify(HEADER)}`);
  const rows: LegacyRow[] = body.map((r, i) => {
    const row = Row.safeParse(r);
    if (!row.success) throw new UsageError(`${where}: row ${i + 2} is not [name, cpu us, cuda us, all us]`);
    if (row.data.slice(1).some((v) => (v as number) < 0)) throw new UsageError(`${where}: row ${i + 2} has a negative time`);
    return row.data;
  });
  const total = rows.find((r) => r[0] === TOTAL);
  if (!total) throw new UsageError(`${where}: no TOTAL row`);
  if (total[3] <= 0) throw new UsageError(`${where}: TOTAL all us is ${total[3]}`);

  const stages: StageResult[] = rows
    .filter((r) => r[0] !== TOTAL)
    .map(([name, cpu, cuda, all]) => ({
      name: STAGE_OF_RANGE.get(name) ?? name.toLowerCase(),
      wallMs: all / 1000,
      kernelMs: cuda / 1000,
      hostMs: cpu / 1000,
      ops: [],
      seedUs: [cpu, cuda, all],
    }));
  const ms = total[3] / 1000;
  const cost = layerCost(c, 'seed');
  return {
    ...c,
    mode: 'seed',
    dtype: 'float32',
    weightDtype: 'float32',
    ms: { median: ms, min: ms, max: ms, p90: ms, stddev: 0, n: 1, samples: [ms] },
    budgetLimited: false,
    stages,
    profileRuns: seedRepeats(c.seq),
    profiledMs: ms,
    // the seed measured only inside its ranges: nothing is known outside them
    residualMs: null,
    // the seed's "cpu part" is PyTorch's host time (waiting on the GPU included): not our share outside the kernels
    outsideKernelsShare: null,
    seedCpuShare: total[1] / total[3],
    flops: cost.flops,
    bytes: cost.bytes,
    implementationBytes: null,
    speedup: null,
    memoryBytes: cost.memoryBytes,
  };
}

/** One stage as the seed's [cpu, cuda, all] microseconds. */
const stageUs = (s: StageResult): [number, number, number] => s.seedUs ?? [s.hostMs * 1000, s.kernelMs * 1000, s.wallMs * 1000];

function legacyTable(r: LayerResult): (readonly (string | number)[])[] {
  const seedStages = r.stages.filter((s) => RANGE_OF_STAGE.has(s.name));
  const extra = r.stages.filter((s) => !RANGE_OF_STAGE.has(s.name));
  const row = (s: StageResult): LegacyRow => [RANGE_OF_STAGE.get(s.name) ?? s.name.toUpperCase(), ...stageUs(s)];
  // summed in row order from zero, like the seed's get_key_totals, so the floats match
  const total: LegacyRow = [TOTAL, 0, 0, 0];
  for (const s of [...seedStages, ...extra]) {
    const us = stageUs(s);
    total[1] += us[0];
    total[2] += us[1];
    total[3] += us[2];
  }
  return [HEADER, ...seedStages.map(row), total, ...extra.map(row)];
}

/**
 * Layer results in the seed's format, as text byte-identical to what Python's `json.dump`
 * writes. One result per (variant, batch, seq): the format has no room for more.
 */
export function toLegacy(results: readonly LayerResult[]): string {
  if (results.length === 0) throw new UsageError('nothing to write in the seed\'s format: no results');
  const byClass = new Map<string, Map<number, Map<number, LayerResult>>>();
  for (const r of results) {
    if (r.stages.length === 0) {
      throw new UsageError(`the seed's format needs the stage split, but ${r.attention} batch ${r.batch} seq ${r.seq} has none (use --profile-runs > 0)`);
    }
    const cls = CLASS_OF_VARIANT.get(r.attention) ?? r.attention;
    const batches = byClass.get(cls) ?? byClass.set(cls, new Map()).get(cls)!;
    const seqs = batches.get(r.batch) ?? batches.set(r.batch, new Map()).get(r.batch)!;
    if (seqs.has(r.seq)) throw new UsageError(`the seed's format holds one result per configuration, but ${r.attention} batch ${r.batch} seq ${r.seq} appears twice`);
    seqs.set(r.seq, r);
  }
  const doc = Object.fromEntries(
    [...byClass].map(([cls, batches]) => [cls, [...batches].map(([b, seqs]) => [b, [...seqs].map(([s, r]) => [s, legacyTable(r)])])]),
  );
  return pyJson(doc);
}

/**
 * Python's `json.dumps` with its default separators and ASCII escapes. Numbers inside a
 * table row (`[name, cpu, cuda, all]`) print as Python prints floats (`485.0`, `1e-05`);
 * the others (batch, seq) are ints.
 */
function pyJson(v: unknown, float = false): string {
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof v === 'number') return float ? pyFloat(v) : String(v);
  if (Array.isArray(v)) {
    const row = typeof v[0] === 'string';
    return `[${v.map((x) => pyJson(x, row)).join(', ')}]`;
  }
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v).map(([k, x]) => `${pyJson(k)}: ${pyJson(x)}`).join(', ')}}`;
  }
  throw new Error(`pyJson: cannot write ${String(v)}`);
}

/** `repr(float)`: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
export function pyFloat(v: number): string {
  if (!Number.isFinite(v)) throw new UsageError(`cannot write ${v} in the seed's format`);
  const [mantissa = '', exp = '0'] = v.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const fixed = String(v); // JS prints fixed notation in this range, with the same shortest digits
  return /[.]/.test(fixed) ? fixed : `${fixed}.0`;
}
