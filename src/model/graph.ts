/**
 * The decoder as ONE ONNX graph for prefill and decode: S new tokens per row against a KV
 * cache of T positions, both free dimensions. A prefill is a step against an empty cache
 * (T = 0), a decode step has S = 1, and `--no-kv-cache` runs the whole sequence as a
 * prefill every step — so one session serves every prompt length and every step, and the
 * weights exist once, as constants the engine pre-packs (or as graph inputs, to measure
 * what that costs: `weights: 'input'`).
 *
 * Every attention block comes from the variant's step builder (its file in `src/attention/variants/`).
 * The cache is a graph input the caller owns and only reads; the graph returns the logits
 * of each row's last position and the new tokens' K and V rows of every layer as one small
 * tensor [layers, rows, S, 2·g·hs], which the caller appends in place.
 *
 * With `cacheUpdate: 'graph'` (the GPU-resident decoder, docs/webgpu.md §6) the caches are
 * fixed-capacity tensors that the graph also writes: a ScatterND per layer puts the new
 * tokens' K and V rows at the positions `cache_index` names, and the results are outputs
 * (`present_k_i`, `present_v_i`) that the caller keeps on the device and feeds back as the
 * next step's caches; the attention itself still reads the input caches (the new tokens
 * attend to themselves through their own score columns, as in the default graph). No `kv`
 * output then: nothing of the cache has to come back. `argmax` adds each row's greedy next
 * token (`next_ids`, int64 [rows]), so a greedy search need not download the logits.
 *
 * Node names carry stages: embed, norm, the layouts' attention stages, mlp, kv, lmhead.
 */
import { stepOf } from '../attention/registry.ts';
import type { StepIO } from '../attention/step.ts';
import type { TensorNames } from '../attention/layouts.ts';
import { GraphBuilder, MS_DOMAIN } from '../engine/graph.ts';
import { MASK_MIN } from '../core/constants.ts';
import { headDim } from './config.ts';
import type { PackedModel } from './weights.ts';
import { isInt, type Dtype, type IntDtype } from '../precision/dtypes.ts';
import { cacheCodes, dequantizeCache, scaleDims } from '../precision/cache-graph.ts';
import { quantizeWeights } from '../precision/weight-graph.ts';

/** Graph input names besides the weights. */
export const STEP_INPUTS = {
  tokens: 'tokens',
  positions: 'positions',
  cacheMask: 'cache_mask',
  selfMask: 'self_mask',
  seqlensK: 'seqlens_k',
  totalLength: 'total_length',
  kCache: (i: number) => `k_cache_${i}`,
  vCache: (i: number) => `v_cache_${i}`,
  /** A quantized cache's scales (src/precision/cache-graph.ts): per position and head, or the fused kernel's per channel. */
  kScale: (i: number) => `k_scale_${i}`,
  vScale: (i: number) => `v_scale_${i}`,
  /** `cacheUpdate: 'graph'`: int64 [rows, g, S, 3], the (row, head, position) each new K/V row is written to. */
  cacheIndex: 'cache_index',
} as const;

/** Graph outputs. */
export const STEP_OUTPUTS = {
  logits: 'logits',
  /** `cacheUpdate: 'caller'`: the new K/V rows [layers, rows, S, 2·g·hs]. */
  kv: 'kv',
  /** `cacheUpdate: 'graph'`: layer i's caches with the new rows written, [rows, g, capacity, hs]. */
  presentK: (i: number) => `present_k_${i}`,
  presentV: (i: number) => `present_v_${i}`,
  /** `argmax`: int64 [rows]. */
  nextIds: 'next_ids',
  /** `argmax` with `avoid`: each row's argmax over every token but `avoid` (eos before --min-new-tokens), int64 [rows]. */
  nextIdsAvoiding: 'next_ids_avoiding',
} as const;

/** Who writes the new K/V rows into the cache: the caller, in JS (the CPU decoder), or the graph (the device-resident one). */
export type CacheUpdate = 'caller' | 'graph';

export interface StepGraphOptions {
  cacheUpdate?: CacheUpdate;
  /** Also return each row's argmax token (`next_ids`). */
  argmax?: boolean;
  /**
   * With `argmax`: also each row's argmax over every token but this one (`next_ids_avoiding`),
   * so that a search that must skip eos gets ids, not the logits. Ignored outside the vocabulary.
   */
  avoid?: number;
  /** The weights' dtype (every weight product quantized: src/precision/weight-graph.ts); float32 by default. */
  weightDtype?: Dtype;
  /** The cache's dtype: int8/int4 codes and scales as inputs (src/precision/cache-graph.ts); float32 by default. */
  kvDtype?: Dtype;
  /** Also output each quantized product's input (`productInput(weight)`): what the check's reference rounds as the kernel did. */
  exposeProductInputs?: boolean;
}

/** The output that exposes the input of the quantized product of `weight` (`exposeProductInputs`). */
export const productInputOutput = (weight: string): string => `input:${weight}`;

/** How the weights enter the graph: constants (initializers, pre-packed) or inputs fed every run. */
export type WeightsAs = 'constant' | 'input';

/** Does this variant keep hidden states sequence-major ([S, rows], Megatron)? */
export const sequenceMajor = (pm: PackedModel): boolean => stepOf(pm.spec).order === 'sbm';

/**
 * The step graph for `rows` sequences. Inputs: tokens and positions [rows, S] (or [S, rows]
 * sequence-major), cache_mask [rows, T], self_mask [rows, S, S] (causal plus padding of the
 * new tokens), per layer k/v caches [rows, g, T, hs], and the fused kernel's lengths.
 */
export function buildStepGraph(pm: PackedModel, rows: number, weights: WeightsAs, o: StepGraphOptions = {}): GraphBuilder {
  const inGraph = o.cacheUpdate === 'graph';
  const c = pm.config;
  const G = pm.kvHeads;
  const nm = c.hidden;
  const step = stepOf(pm.spec);
  const sbm = step.order === 'sbm';
  const g = new GraphBuilder(`attnbench-decoder-${pm.spec.kind}`);
  const I = STEP_INPUTS;
  const kv = o.kvDtype && isInt(o.kvDtype) ? o.kvDtype : undefined;
  if (kv && inGraph) throw new Error('a quantized cache is written by the caller, not the graph');
  declareInputs(g, pm, rows, weights, sbm, inGraph, kv);

  const norm = (x: string, p: string) =>
    g.inStage('norm', () => g.node('LayerNormalization', [x, `${p}_g`, `${p}_b`], { axis: -1, epsilon: { float: c.layerNormEps } }));
  // GPT-2's gelu_new and BigCode's gelu_pytorch_tanh are the tanh approximation (FastGelu)
  const gelu = (x: string) => g.node(c.activation === 'gelu' ? 'Gelu' : 'FastGelu', [x], {}, { domain: MS_DOMAIN });
  const mlp = (x: string, p: string) => g.inStage('mlp', () => g.node('Gemm', [gelu(g.node('Gemm', [x, `${p}fc`, `${p}fc_b`])), `${p}proj`, `${p}proj_b`]));

  // hidden states [rows·S, nm] (or [S·rows, nm]): every projection is one 2-D Gemm
  let h = g.inStage('embed', () => g.node('Reshape', [g.node('Add', [g.node('Gather', ['wte', I.tokens]), g.node('Gather', ['wpe', I.positions])]), g.ints([-1, nm])]));
  const shape = { rows, heads: c.heads, kvHeads: G, headDim: headDim(c) };
  const newRows: string[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `h${i}.`;
    const io = layerIO(g, pm, i, rows, kv);
    const names: TensorNames = (k) => `${p}attn.${k}`;
    const att = step.build(g, norm(h, `${p}ln1`), shape, io, names);
    if (inGraph) writeCache(g, att.k, att.v, i, rows, G, headDim(c));
    else newRows.push(g.inStage('kv', () => g.node('Unsqueeze', [g.node('Concat', [att.k, att.v], { axis: 2 }), g.ints([0])])));
    h = g.node('Add', [h, att.out], {}, { stage: 'attention-residual' });
    h = g.node('Add', [h, mlp(norm(h, `${p}ln2`), p)], {}, { stage: 'mlp' });
  }
  // each row's last position, the final norm and the LM head tied to the token embedding
  const last = g.inStage('lmhead', () => {
    const h3 = g.node('Reshape', [h, g.ints(sbm ? [-1, rows, nm] : [rows, -1, nm])]);
    const end = g.node('Slice', [h3, g.ints([-1]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([sbm ? 0 : 1])]);
    return g.node('Reshape', [end, g.ints([rows, nm])]);
  });
  const f = norm(last, 'lnf');
  const logits = g.output(g.inStage('lmhead', () => g.node('Gemm', [f, 'wte'], { transB: 1 })), STEP_OUTPUTS.logits);
  if (!inGraph) g.output(newRows.length === 1 ? newRows[0]! : g.node('Concat', newRows, { axis: 0 }, { stage: 'kv' }), STEP_OUTPUTS.kv);
  if (o.argmax) g.output(g.node('ArgMax', [logits], { axis: 1, keepdims: 0 }, { stage: 'lmhead' }), STEP_OUTPUTS.nextIds, 'int64');
  if (o.argmax && o.avoid !== undefined && o.avoid >= 0 && o.avoid < c.vocab) {
    // the token to skip pushed to the lowest float: the first maximum of the rest, as argmaxExcept picks it in JS
    const mask = new Float32Array(c.vocab);
    mask[o.avoid] = MASK_MIN;
    const masked = g.node('Add', [logits, g.initializer('avoid_mask', mask, [c.vocab])], {}, { stage: 'lmhead' });
    g.output(g.node('ArgMax', [masked], { axis: 1, keepdims: 0 }, { stage: 'lmhead' }), STEP_OUTPUTS.nextIdsAvoiding, 'int64');
  }
  // the weights' dtype last: one pass over every constant-weight product the graph has
  if (o.weightDtype && isInt(o.weightDtype)) {
    if (weights === 'input') throw new Error('quantized weights are constants');
    const products = quantizeWeights(g, o.weightDtype);
    if (o.exposeProductInputs) for (const p of products) g.output(g.node('Identity', [p.input], {}, { outputNames: [productInputOutput(p.weight)] }));
  }
  return g;
}

/**
 * What layer i's attention step reads: its caches as float32 tensors (an int cache's codes
 * dequantized first, in the `dequantize` stage), or the fused kernel's own int cache as it is,
 * with its scales.
 */
function layerIO(g: GraphBuilder, pm: PackedModel, i: number, rows: number, kv: IntDtype | undefined): StepIO {
  const I = STEP_INPUTS;
  const io: StepIO = { kCache: I.kCache(i), vCache: I.vCache(i), cacheMask: I.cacheMask, selfMask: I.selfMask, seqlensK: I.seqlensK, totalLength: I.totalLength };
  if (!kv) return io;
  if (pm.spec.kind === 'fused-gqa') return { ...io, quantized: { bits: kv === 'int8' ? 8 : 4, kScale: I.kScale(i), vScale: I.vScale(i) } };
  const D = headDim(pm.config);
  return g.inStage('dequantize', () => ({
    ...io,
    kCache: dequantizeCache(g, I.kCache(i), I.kScale(i), kv, rows, pm.kvHeads, D),
    vCache: dequantizeCache(g, I.vCache(i), I.vScale(i), kv, rows, pm.kvHeads, D),
  }));
}

/** The step's inputs (see `buildStepGraph`), and its weights as constants or inputs. */
function declareInputs(g: GraphBuilder, pm: PackedModel, rows: number, weights: WeightsAs, sbm: boolean, inGraph: boolean, kv: IntDtype | undefined): void {
  const I = STEP_INPUTS;
  const G = pm.kvHeads;
  const D = headDim(pm.config);
  g.input(I.tokens, sbm ? ['S', rows] : [rows, 'S'], 'int64');
  g.input(I.positions, sbm ? ['S', rows] : [rows, 'S'], 'int64');
  g.input(I.cacheMask, [rows, 'T']);
  g.input(I.selfMask, [rows, 'S', 'S']);
  g.input(I.seqlensK, [rows], 'int32');
  g.input(I.totalLength, [], 'int32');
  const fused = pm.spec.kind === 'fused-gqa';
  for (let i = 0; i < pm.config.layers; i++) {
    if (kv) {
      const codes = cacheCodes(kv, D);
      g.input(I.kCache(i), [rows, G, 'T', codes.width], codes.type);
      g.input(I.vCache(i), [rows, G, 'T', codes.width], codes.type);
      g.input(I.kScale(i), scaleDims(fused, rows, G, D));
      g.input(I.vScale(i), scaleDims(fused, rows, G, D));
      continue;
    }
    g.input(I.kCache(i), [rows, G, 'T', D]);
    g.input(I.vCache(i), [rows, G, 'T', D]);
  }
  if (inGraph) g.input(I.cacheIndex, [rows, G, 'S', 3], 'int64');
  for (const [name, t] of Object.entries(pm.tensors)) {
    if (weights === 'constant') g.initializer(name, t.data, t.dims);
    else g.input(name, t.dims);
  }
}

/**
 * The new rows k, v [rows, S, g·hs] into layer i's caches: as heads [rows, g, S, hs], then
 * one ScatterND each at `cache_index`. The provider copies the input cache into the output
 * before writing (a device-side copy of the capacity per step, no transfer: §6).
 */
function writeCache(g: GraphBuilder, k: string, v: string, i: number, rows: number, G: number, D: number): void {
  g.inStage('kv', () => {
    const heads = (x: string) => g.node('Transpose', [g.node('Reshape', [x, g.ints([rows, -1, G, D])])], { perm: [0, 2, 1, 3] });
    g.output(g.node('ScatterND', [STEP_INPUTS.kCache(i), STEP_INPUTS.cacheIndex, heads(k)]), STEP_OUTPUTS.presentK(i));
    g.output(g.node('ScatterND', [STEP_INPUTS.vCache(i), STEP_INPUTS.cacheIndex, heads(v)]), STEP_OUTPUTS.presentV(i));
  });
}
