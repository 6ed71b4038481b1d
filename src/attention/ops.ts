/**
 * The few ONNX nodes every attention graph is made of, written once for the layer graphs
 * (`variants/`, `layouts.ts`) and the decode steps (`step.ts`). The two ways a projection is
 * written have two names, since the engine runs them differently: `matmulAdd` (MatMul, then
 * an Add of the bias, as the seed's layer graphs do) and `gemm` (one Gemm node, whose constant
 * B operand the engine pre-packs at session creation, as the decode steps do).
 */
import type { GraphBuilder } from '../engine/graph.ts';

export const reshape = (g: GraphBuilder, x: string, dims: readonly number[]) => g.node('Reshape', [x, g.ints(dims)]);
export const transpose = (g: GraphBuilder, x: string, perm: number[]) => g.node('Transpose', [x], { perm });
export const matmul = (g: GraphBuilder, a: string, b: string) => g.node('MatMul', [a, b]);
export const split = (g: GraphBuilder, x: string, axis: number, sizes: number[]) =>
  g.nodeMulti('Split', [x, g.ints(sizes)], { axis }, { outputs: sizes.length });

/** `x @ w (+ b)` as a MatMul and an Add: a layer graph's projection. */
export function matmulAdd(g: GraphBuilder, x: string, w: string, b: string | undefined): string {
  const y = matmul(g, x, w);
  return b ? g.node('Add', [y, b]) : y;
}

/** `x·w + b` as one Gemm (w [in, out], or [out, in] with `transB`): a constant w is the engine's pre-packed B operand. */
export const gemm = (g: GraphBuilder, x: string, w: string, b: string, transB = false) =>
  g.node('Gemm', [x, w, b], transB ? { transB: 1 } : {});

/** One axis of a tensor's shape as a 1-element int64 tensor. */
export const dim = (g: GraphBuilder, x: string, axis: number) => g.node('Shape', [x], { start: axis, end: axis + 1 });

/** A shape made of constants and 1-element dims. */
export const shapeOf = (g: GraphBuilder, parts: (number[] | string)[]) =>
  g.node('Concat', parts.map((p) => (typeof p === 'string' ? p : g.ints(p))), { axis: 0 });
