/**
 * The decoder's ONNX graphs. Weights are graph inputs (wrapped by the binding, never
 * copied; the prefill and decode sessions share one copy in JS), and every attention
 * block comes from the variant's layout in `src/attention/layouts.ts`:
 *
 *  - prefill (and each step of `--no-kv-cache`): the layouts' full-mode `build` over the
 *    whole sequence, with a per-row mask (causal + left padding); returns the logits of
 *    the last position and, for the cache, every layer's K and V as one tensor.
 *  - decode step: the layouts' `buildDecode`, one new token per row against the caches
 *    (graph inputs the JS side owns); returns the logits and the new K/V rows of every
 *    layer as one small tensor, which the JS side appends in place.
 *
 * Node names carry stages: embed, norm, the layouts' attention stages, mlp, kv, lmhead.
 */
import { GraphBuilder, MS_DOMAIN } from '../engine/graph.ts';
import { decodeTensorNames, layoutOf, type DecodeIO, type TensorNames } from '../attention/layouts.ts';
import { headDim } from './config.ts';
import { attentionShape, type PackedModel } from './weights.ts';

/** Graph input names of one decode step (besides the weights). */
export const DECODE_INPUTS = {
  tokens: 'tokens',
  positions: 'positions',
  mask: 'mask',
  seqlensK: 'seqlens_k',
  totalLength: 'total_length',
  kCache: (i: number) => `k_cache_${i}`,
  vCache: (i: number) => `v_cache_${i}`,
} as const;

function declareWeights(g: GraphBuilder, pm: PackedModel): void {
  for (const [name, t] of Object.entries(pm.tensors)) g.input(name, t.dims);
}

const layerNorm = (g: GraphBuilder, x: string, p: string, eps: number) =>
  g.inStage('norm', () => g.node('LayerNormalization', [x, `${p}_g`, `${p}_b`], { axis: -1, epsilon: { float: eps } }));


function gelu(g: GraphBuilder, pm: PackedModel, x: string): string {
  // GPT-2's gelu_new and BigCode's gelu_pytorch_tanh are the tanh approximation (FastGelu)
  return pm.config.activation === 'gelu' ? g.node('Gelu', [x], {}, { domain: MS_DOMAIN }) : g.node('FastGelu', [x], {}, { domain: MS_DOMAIN });
}

/** The MLP on rows [rows, nm]. */
function mlp(g: GraphBuilder, pm: PackedModel, x: string, p: string): string {
  return g.inStage('mlp', () => {
    // stays [features, rows] between the two products: fc_t·xᵀ + b, GELU, proj_t·u + b, one transpose back
    const col = (b: string) => g.node('Reshape', [b, g.ints([-1, 1])]);
    const u = gelu(g, pm, g.node('Gemm', [`${p}fc_t`, x, col(`${p}fc_b`)], { transB: 1 }));
    return g.node('Transpose', [g.node('Gemm', [`${p}proj_t`, u, col(`${p}proj_b`)])], { perm: [1, 0] });
  });
}

/** Final norm and the tied LM head on [rows, nm] → logits [rows, vocab]. */
function lmHead(g: GraphBuilder, pm: PackedModel, h: string): string {
  const x = layerNorm(g, h, 'lnf', pm.config.layerNormEps);
  // wte·xᵀ with the embedding as the streamed operand (a MatMul: a Gemm without C would be swapped back)
  return g.inStage('lmhead', () => g.node('Transpose', [g.node('MatMul', ['wte', g.node('Transpose', [x], { perm: [1, 0] })])], { perm: [1, 0] }));
}

const attnNames = (i: number): TensorNames => (k) => `h${i}.attn.${k}`;

/** One decode step for `rows` sequences (caches of any length T). */
export function buildDecodeGraph(pm: PackedModel, rows: number): Uint8Array {
  const c = pm.config;
  const G = pm.kvHeads;
  const D = headDim(c);
  const layout = layoutOf(pm.spec);
  const shape = attentionShape(c, G, rows, 1);
  const g = new GraphBuilder(`attnbench-decoder-step-${pm.spec.kind}`);
  const I = DECODE_INPUTS;
  g.input(I.tokens, [rows], 'int64');
  g.input(I.positions, [rows], 'int64');
  g.input(I.mask, [rows, 'T']);
  g.input(I.seqlensK, [rows], 'int32');
  g.input(I.totalLength, [], 'int32');
  for (let i = 0; i < c.layers; i++) {
    g.input(I.kCache(i), [rows, G, 'T', D]);
    g.input(I.vCache(i), [rows, G, 'T', D]);
  }
  declareWeights(g, pm);

  let h = g.inStage('embed', () => g.node('Add', [g.node('Gather', ['wte', I.tokens]), g.node('Gather', ['wpe', I.positions])]));
  const kvRows: string[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `h${i}.`;
    const a = layerNorm(g, h, `${p}ln1`, c.layerNormEps);
    const io: DecodeIO = { kCache: I.kCache(i), vCache: I.vCache(i), mask: I.mask, seqlensK: I.seqlensK, totalLength: I.totalLength };
    const att = layout.buildDecode(g, a, shape, io, attnNames(i));
    kvRows.push(g.inStage('kv', () => g.node('Unsqueeze', [g.node('Concat', [att.k, att.v], { axis: 1 }), g.ints([0])])));
    h = g.node('Add', [h, att.out], {}, { stage: 'attention-residual' });
    h = g.node('Add', [h, mlp(g, pm, layerNorm(g, h, `${p}ln2`, c.layerNormEps), p)], {}, { stage: 'mlp' });
  }
  g.output(lmHead(g, pm, h), 'logits');
  g.output(kvRows.length === 1 ? kvRows[0]! : g.node('Concat', kvRows, { axis: 0 }, { stage: 'kv' }), 'kv');
  return g.toBytes();
}

/**
 * The whole sequence at once: tokens and positions [rows, seq] ([seq, rows] for a layout
 * with Megatron's sequence-major hidden states), mask [rows, seq, seq]. Outputs `logits`
 * of the last position [rows, vocab] and, with `present`, K/V [layers, rows, seq, 2·g·hs].
 */
export function buildPrefillGraph(pm: PackedModel, rows: number, seq: number, present: boolean): Uint8Array {
  const c = pm.config;
  const nm = c.hidden;
  const layout = layoutOf(pm.spec);
  const shape = attentionShape(c, pm.kvHeads, rows, seq);
  const sbm = layout.hiddenOrder === 'sbm';
  const g = new GraphBuilder(`attnbench-decoder-prefill-${pm.spec.kind}`);
  const order = sbm ? [seq, rows] : [rows, seq];
  g.input('tokens', order, 'int64');
  g.input('positions', order, 'int64');
  g.input('mask', [rows, seq, seq]);
  declareWeights(g, pm);

  const flat = (x: string) => g.node('Reshape', [x, g.ints([rows * seq, nm])]);
  const unflat = (x: string) => g.node('Reshape', [x, g.ints([...order, nm])]);
  let h = g.inStage('embed', () => g.node('Add', [g.node('Gather', ['wte', 'tokens']), g.node('Gather', ['wpe', 'positions'])]));
  const kv: string[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `h${i}.`;
    const a = layerNorm(g, h, `${p}ln1`, c.layerNormEps);
    const base = attnNames(i);
    const n = decodeTensorNames(g, layout, (k) => (k === 'mask' ? 'mask' : base(k)));
    const onPresent = (k: string, v: string) =>
      kv.push(g.inStage('kv', () => g.node('Unsqueeze', [g.node('Concat', [k, v], { axis: 2 }), g.ints([0])])));
    const att = layout.build(g, a, shape, 'full', n, { batchMask: true, ...(present ? { present: onPresent } : {}) });
    h = g.node('Add', [h, att], {}, { stage: 'attention-residual' });
    const m = layerNorm(g, h, `${p}ln2`, c.layerNormEps);
    h = g.node('Add', [h, g.inStage('mlp', () => unflat(mlp(g, pm, flat(m), p)))], {}, { stage: 'mlp' });
  }
  const last = g.inStage('lmhead', () => g.node('Gather', [h, g.ints([seq - 1], true)], { axis: sbm ? 0 : 1 }));
  g.output(lmHead(g, pm, last), 'logits');
  if (present) g.output(kv.length === 1 ? kv[0]! : g.node('Concat', kv, { axis: 0 }, { stage: 'kv' }), 'present');
  return g.toBytes();
}
