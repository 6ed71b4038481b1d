/**
 * `multi-query-separate`: the seed's TODO — multi-query-1 with three projections (q, k and v
 * each its own matmul) instead of one fused one, to see what the fusion buys.
 */
import { outputProjection, projectionProduct, same, UNFUSED_LAYOUT, type Layout, type PhysicalTensors } from '../layouts.ts';
import { gemm, matmulAdd } from '../ops.ts';
import { modelDim } from '../params.ts';
import { groupedStep, preScaled, type StepBuilder } from '../step.ts';
import type { Variant } from '../variant.ts';
import { MQA1_OUTPUT, mqa1Core } from './multi-query-1.ts';

const layout: Layout = {
  ...UNFUSED_LAYOUT,
  ...MQA1_OUTPUT,
  hiddenOrder: 'bsm',
  // q, then k and v (the same shape)
  projections: (s) => [projectionProduct(s, modelDim(s)), projectionProduct(s, s.headDim)],
  pack(p, s, mode) {
    const nm = modelDim(s);
    const D = s.headDim;
    const t: PhysicalTensors = {
      w_q: { dims: [nm, nm], data: p.wq },
      w_k: { dims: [nm, D], data: p.wk },
      w_v: { dims: [nm, D], data: p.wv },
    };
    if (mode === 'full') {
      Object.assign(t, { b_q: { dims: [nm], data: p.bq! }, b_k: { dims: [D], data: p.bk! }, b_v: { dims: [D], data: p.bv! } });
      Object.assign(t, outputProjection(p, s));
    }
    return t;
  },
  build(g, x, s, mode, n = same) {
    const bias = (b: string) => (mode === 'full' ? n(b) : undefined);
    const [q, k, v] = g.inStage('qkv', () => [
      matmulAdd(g, x, n('w_q'), bias('b_q')),
      matmulAdd(g, x, n('w_k'), bias('b_k')),
      matmulAdd(g, x, n('w_v'), bias('b_v')),
    ]);
    return mqa1Core(g, n, q!, k!, v!, s, mode);
  },
};

const step: StepBuilder = {
  order: 'bsm',
  build(g, x, s, io, n) {
    const [q, k, v] = g.inStage('qkv', () => [gemm(g, x, n('w_q'), n('b_q')), gemm(g, x, n('w_k'), n('b_k')), gemm(g, x, n('w_v'), n('b_v'))]);
    return groupedStep(g, n, s, io, q!, k!, v!);
  },
  pack: preScaled(layout),
  leftPadding: true,
};

export const multiQuerySeparate: Variant = {
  name: 'multi-query-separate',
  aliases: [],
  grouped: false,
  modes: ['seed', 'full'],
  kvHeads: () => 1,
  layout,
  step,
};
