/**
 * The decoder as ONE ONNX graph for prefill and decode: S new tokens per row against a KV
 * cache of T positions, both free dimensions. A prefill is a step against an empty cache
 * (T = 0), a decode step has S = 1, and `--no-kv-cache` runs the whole sequence as a
 * prefill every step — so one session serves every prompt length and every step, and the
 * weights exist once, as constants the engine pre-packs (or as graph inputs, to measure
 * what that costs: `weights: 'input'`).
 *
 * Every attention block comes from the variant's step builder (`src/attention/step.ts`).
 * The cache is a graph input the caller owns and only reads; the graph returns the logits
 * of each row's last position and the new tokens' K and V rows of every layer as one small
 * tensor [layers, rows, S, 2·g·hs], which the caller appends in place.
 *
 * Node names carry stages: embed, norm, the layouts' attention stages, mlp, kv, lmhead.
 */
import { STEP_BUILDERS, type StepIO } from '../attention/step.ts';
import type { TensorNames } from '../attention/layouts.ts';
import { GraphBuilder, MS_DOMAIN } from '../engine/graph.ts';
import { headDim } from './config.ts';
import type { PackedModel } from './weights.ts';

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
} as const;

/** How the weights enter the graph: constants (initializers, pre-packed) or inputs fed every run. */
export type WeightsAs = 'constant' | 'input';

/** Does this variant keep hidden states sequence-major ([S, rows], Megatron)? */
export const sequenceMajor = (pm: PackedModel): boolean => STEP_BUILDERS[pm.spec.kind].order === 'sbm';

/**
 * The step graph for `rows` sequences. Inputs: tokens and positions [rows, S] (or [S, rows]
 * sequence-major), cache_mask [rows, T], self_mask [rows, S, S] (causal plus padding of the
 * new tokens), per layer k/v caches [rows, g, T, hs], and the fused kernel's lengths.
 */
export function buildStepGraph(pm: PackedModel, rows: number, weights: WeightsAs): GraphBuilder {
  const c = pm.config;
  const G = pm.kvHeads;
  const nm = c.hidden;
  const step = STEP_BUILDERS[pm.spec.kind];
  const sbm = step.order === 'sbm';
  const g = new GraphBuilder(`attnbench-decoder-${pm.spec.kind}`);
  const I = STEP_INPUTS;
  g.input(I.tokens, sbm ? ['S', rows] : [rows, 'S'], 'int64');
  g.input(I.positions, sbm ? ['S', rows] : [rows, 'S'], 'int64');
  g.input(I.cacheMask, [rows, 'T']);
  g.input(I.selfMask, [rows, 'S', 'S']);
  g.input(I.seqlensK, [rows], 'int32');
  g.input(I.totalLength, [], 'int32');
  for (let i = 0; i < c.layers; i++) {
    g.input(I.kCache(i), [rows, G, 'T', headDim(c)]);
    g.input(I.vCache(i), [rows, G, 'T', headDim(c)]);
  }
  for (const [name, t] of Object.entries(pm.tensors)) {
    if (weights === 'constant') g.initializer(name, t.data, t.dims);
    else g.input(name, t.dims);
  }

  const norm = (x: string, p: string) =>
    g.inStage('norm', () => g.node('LayerNormalization', [x, `${p}_g`, `${p}_b`], { axis: -1, epsilon: { float: c.layerNormEps } }));
  // GPT-2's gelu_new and BigCode's gelu_pytorch_tanh are the tanh approximation (FastGelu)
  const gelu = (x: string) => g.node(c.activation === 'gelu' ? 'Gelu' : 'FastGelu', [x], {}, { domain: MS_DOMAIN });
  const mlp = (x: string, p: string) => g.inStage('mlp', () => g.node('Gemm', [gelu(g.node('Gemm', [x, `${p}fc`, `${p}fc_b`])), `${p}proj`, `${p}proj_b`]));

  // hidden states [rows·S, nm] (or [S·rows, nm]): every projection is one 2-D Gemm
  let h = g.inStage('embed', () => g.node('Reshape', [g.node('Add', [g.node('Gather', ['wte', I.tokens]), g.node('Gather', ['wpe', I.positions])]), g.ints([-1, nm])]));
  const shape = { rows, heads: c.heads, kvHeads: G, headDim: headDim(c) };
  const kv: string[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `h${i}.`;
    const io: StepIO = { kCache: I.kCache(i), vCache: I.vCache(i), cacheMask: I.cacheMask, selfMask: I.selfMask, seqlensK: I.seqlensK, totalLength: I.totalLength };
    const names: TensorNames = (k) => `${p}attn.${k}`;
    const att = step.build(g, norm(h, `${p}ln1`), shape, io, names);
    kv.push(g.inStage('kv', () => g.node('Unsqueeze', [g.node('Concat', [att.k, att.v], { axis: 2 }), g.ints([0])])));
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
  g.output(g.inStage('lmhead', () => g.node('Gemm', [f, 'wte'], { transB: 1 })), 'logits');
  g.output(kv.length === 1 ? kv[0]! : g.node('Concat', kv, { axis: 0 }, { stage: 'kv' }), 'kv');
  return g;
}
