/**
 * Quantized weights in a built graph, in one pass: every product whose weight is a float32
 * constant (a MatMul's or Gemm's B, or Megatron's W·Hᵀ whose A is the weight) becomes one
 * quantized product node over the weight quantized along k (blocks.ts), plus an Add of its
 * bias (`ROUTES` says which node each dtype takes, and why). The variants, the layer graphs and the decoder build their products as
 * always; this pass is the one place that knows how a quantized product is written, so
 * every projection, the MLP and the LM head get the same treatment. Embedding lookups
 * (Gather) keep their float32 tables: a lookup reads one row per token, not the table.
 *
 * `accuracy_level` 4: the kernel quantizes its input to int8 per block and multiplies in
 * int8 (VNNI). At level 0 the 8-bit weights are dequantized on every run, 11× slower than
 * float32 (../shared/notes/precision.md); level 4 is 1.6–2.1× faster than float32.
 */
import { MS_DOMAIN, type GraphBuilder, type NodeView } from '../engine/graph.ts';
import { activationCodes, packWeight, perTensorUint8 } from './blocks.ts';
import { bitsOf, isInt, WEIGHT_BLOCK, type Dtype, type IntDtype } from './dtypes.ts';

/** MatMulNBits' accuracy level: int8 activations (see the file's comment). */
export const ACCURACY_LEVEL = 4;

/**
 * How each quantized dtype multiplies, chosen by bench/int8-routes.ts (docs/performance.md):
 *  - int8: com.microsoft DynamicQuantizeMatMul, the weight int8 per output column (one
 *    block of all k), the input quantized per tensor to uint8 by the kernel. At every shape
 *    of the decoder it ran 1.25–1.45× faster than MatMulNBits 8-bit at accuracy level 4
 *    (e.g. [8,1024]×[1024,3072]: 0.170 against 0.237 ms, float32 0.433), and faster than
 *    4-bit MatMulNBits too; its weight is a little smaller (a scale per column, not per 32).
 *  - int4: com.microsoft MatMulNBits, bits 4, block 32, accuracy level 4 (int8 activations
 *    per block): the only 4-bit product the engine has.
 * `block` is the weight's quantization block along k (0: all of k); `input` how the kernel
 * quantizes its input, which a reference must do alike.
 */
export const ROUTES = {
  int8: { op: 'DynamicQuantizeMatMul', block: 0, input: 'per-tensor uint8' },
  int4: { op: 'MatMulNBits', block: WEIGHT_BLOCK, input: 'int8 per block of 32' },
} as const satisfies Record<IntDtype, { op: string; block: number; input: string }>;

/** Bytes of a [k, n] weight at dtype `d` as its product holds it: codes and a float32 scale per block (float: its elements). */
export function weightBytes(k: number, n: number, d: Dtype): number {
  if (!isInt(d)) return (k * n * bitsOf(d)) / 8;
  const block = ROUTES[d].block || k;
  return n * Math.ceil(k / block) * ((block * bitsOf(d)) / 8 + 4);
}

/** The weight [k, n] as a quantized product holds it, dequantized (what a reference multiplies by). */
export const dequantizedWeight = (w: Float32Array, k: number, n: number, d: IntDtype): Float32Array => packWeight(w, k, n, d, ROUTES[d].block || k).dequantized;

/** A product's input as the kernel of dtype `d` sees it (x [rows, k], row-major), dequantized. */
export const productInput = (d: IntDtype) => (x: ArrayLike<number>, rows: number, k: number): Float64Array =>
  d === 'int8' ? perTensorUint8(x) : activationCodes(x, rows, k, WEIGHT_BLOCK);

/** What the pass did: each quantized weight's shape and the bytes it now takes (codes and scales). */
export interface QuantizedProduct {
  weight: string;
  /** The product's input tensor (a reference that follows the kernel's rounding reads it: src/model/reference.ts). */
  input: string;
  k: number;
  n: number;
  bytes: number;
}

/** Which operand of a product is a float32 constant weight, and how it is laid out. */
function weightOperand(g: GraphBuilder, n: NodeView): { x: string; w: string; bias?: string; transposedWeight: boolean; weightFirst: boolean } | undefined {
  const isWeight = (name: string | undefined) => name !== undefined && g.floatInitializer(name)?.dims.length === 2;
  if (n.op === 'MatMul' && n.domain === '' && isWeight(n.inputs[1])) return { x: n.inputs[0]!, w: n.inputs[1]!, transposedWeight: false, weightFirst: false };
  if (n.op !== 'Gemm' || (n.floats.alpha ?? 1) !== 1 || (n.floats.beta ?? 1) !== 1) return undefined;
  const [a, b, c] = n.inputs;
  const bias = c === undefined || c === '' ? {} : { bias: c };
  const tA = n.ints.transA ?? 0;
  const tB = n.ints.transB ?? 0;
  if (tA === 0 && isWeight(b)) return { x: a!, w: b!, ...bias, transposedWeight: tB === 1, weightFirst: false };
  // W·Hᵀ (Megatron's projection): the weight [n, k] first, the input transposed
  if (tA === 0 && tB === 1 && isWeight(a)) return { x: b!, w: a!, ...bias, transposedWeight: true, weightFirst: true };
  return undefined;
}

/**
 * Rewrite every constant-weight product of `g` to dtype `d` (float32: nothing to do). Returns
 * what it quantized.
 */
export function quantizeWeights(g: GraphBuilder, d: Dtype): QuantizedProduct[] {
  if (!isInt(d)) return [];
  const done: QuantizedProduct[] = [];
  const packed = new Map<string, string[]>();
  g.rewrite((node) => {
    const p = weightOperand(g, node);
    if (!p) return false;
    const w = g.floatInitializer(p.w)!;
    const [k, n] = p.transposedWeight ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    let names = packed.get(p.w);
    if (!names) {
      names = d === 'int8' ? int8Weight(g, p.w, w.data, k, n, p.transposedWeight) : int4Weight(g, p.w, w.data, k, n, p.transposedWeight);
      packed.set(p.w, names);
      done.push({ weight: p.w, input: p.x, k, n, bytes: names.reduce((a, x) => a + g.initializerBytesOf(x), 0) });
    }
    const out = node.outputs[0]!;
    const attrs: Record<string, number> = d === 'int8' ? {} : { K: k, N: n, bits: 4, block_size: WEIGHT_BLOCK, accuracy_level: ACCURACY_LEVEL };
    g.inStage(node.stage, () => {
      const last = !p.bias && !p.weightFirst;
      let y = g.nodeMulti(ROUTES[d].op, [p.x, ...names], attrs, { domain: MS_DOMAIN, ...(last ? { outputNames: [out] } : {}) })[0]!;
      if (p.weightFirst) y = g.node('Transpose', [y], { perm: [1, 0] }, p.bias ? {} : { outputNames: [out] });
      if (p.bias) g.node('Add', [y, p.bias], {}, { outputNames: [out] });
    });
    return true;
  });
  return done;
}

/**
 * A weight's codes and scales, computed once per weight array and dtype for as long as the
 * array lives: a run builds a type's graph several times (its timed session, its profiled one,
 * its check), and quantizing 10⁸ weights in JS takes seconds each time.
 */
const PACKED = new WeakMap<ArrayBufferLike, Map<string, { codes: Uint8Array; scales: Float32Array }>>();

function packedOnce(w: Float32Array, d: IntDtype, k: number, n: number, transposed: boolean, make: () => { codes: Uint8Array; scales: Float32Array }) {
  let byKey = PACKED.get(w.buffer);
  if (!byKey) PACKED.set(w.buffer, (byKey = new Map()));
  const key = `${w.byteOffset}:${w.length}:${d}:${k}:${n}:${transposed}`;
  let p = byKey.get(key);
  if (!p) byKey.set(key, (p = make()));
  return p;
}

/** DynamicQuantizeMatMul's B: int8 codes [k, n], one scale per column (symmetric: no zero point). */
function int8Weight(g: GraphBuilder, name: string, w: Float32Array, k: number, n: number, transposed: boolean): string[] {
  const q = packedOnce(w, 'int8', k, n, transposed, () => {
    const p = packWeight(w, k, n, 'int8', k, transposed, false);
    // packWeight's codes are offset by 128 and laid out [n, k]; this kernel takes signed codes [k, n]
    const codes = new Int8Array(k * n);
    for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) codes[i * n + j] = p.codes[j * k + i]! - 128;
    return { codes: new Uint8Array(codes.buffer), scales: p.scales };
  });
  return [g.rawInitializer(`${name}.q8`, 'int8', q.codes, [k, n]), g.rawInitializer(`${name}.scales`, 'float', new Uint8Array(q.scales.buffer), [n])];
}

/** MatMulNBits' B and scales: 4-bit codes [n, blocks, 16], a scale per block of 32. */
function int4Weight(g: GraphBuilder, name: string, w: Float32Array, k: number, n: number, transposed: boolean): string[] {
  const q = packedOnce(w, 'int4', k, n, transposed, () => {
    const p = packWeight(w, k, n, 'int4', WEIGHT_BLOCK, transposed, false);
    return { codes: p.codes, scales: p.scales };
  });
  const blocks = Math.ceil(k / WEIGHT_BLOCK);
  return [g.rawInitializer(`${name}.q4`, 'uint8', q.codes, [n, blocks, WEIGHT_BLOCK / 2]), g.rawInitializer(`${name}.scales`, 'float', new Uint8Array(q.scales.buffer), [n * blocks])];
}
