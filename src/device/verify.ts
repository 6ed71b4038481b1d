/**
 * The verification rule, once: a benchmark that times wrong answers misleads its user, and
 * the WebGPU provider has given wrong ones (its fused GroupQueryAttention from sequence 32 on
 * software adapters, docs/webgpu.md §3), so every run checks what it times: a layer's
 * output, or a decoder's logits, against the float64 reference or the CPU provider's answer
 * to the same inputs. The tolerance, the judgement and the size limit of the float64
 * reference are here; the runners are beside what they run (src/measure/layer.ts,
 * src/measure/decode.ts, src/generate/verify.ts).
 */

/**
 * Normwise relative error (max |out − ref| / max |ref|) above which a result is wrong. The
 * CPU provider and correct WebGPU programs stay below 1e-6 at every shape measured (float32
 * rounding over sums of a few thousand terms: about 1e-7 on the CPU, 1e-6 on a GPU); the
 * broken fused kernel is off by 1e-1.
 */
export const VERIFY_TOLERANCE = 1e-4;

/**
 * The tolerance of a check whose products quantize their inputs (int8/int4 weights: the
 * kernel rounds each input to int8 codes, and the reference does the same in float64). The
 * reference reproduces the kernel's codes exactly where it sees the same input (a layer's
 * projection of its given input: errors under 5e-7, measured on every variant); but an input
 * the engine computed in float32 and the reference in float64 differs by ~1e-7 relative, and
 * a value that close to a half step rounds to the neighbouring code: one term moves by one
 * step of the input's quantization (max|x| / 127 of its block or tensor), which is a few 1e-4
 * of the output (measured: 1.8e-4 on a full-mode layer's output projection). 1e-3 allows such
 * flips and stays below what the quantization itself costs (int8 weights ≥ 5e-3, int4 ≥ 5e-2
 * against float32): a kernel that computed in float, skipped a scale or mixed blocks is caught.
 */
export const QUANTIZED_TOLERANCE = 1e-3;

/**
 * Largest float64 reference (multiply-adds) computed in JS: beyond it, a check runs at a
 * reduced shape, or against the CPU provider at the same shape where one is at hand.
 */
export const FLOAT64_MAX_MACS = 3e8;

/** Whether a reference of `macs` multiply-adds is computed in float64 in JS (see FLOAT64_MAX_MACS). */
export const float64Fits = (macs: number): boolean => macs <= FLOAT64_MAX_MACS;

/** The judgement: beyond the tolerance, or not a number (NaN compares false with everything: a NaN output is wrong, not right). */
export const isWrong = (error: number, tolerance = VERIFY_TOLERANCE): boolean => !(error <= tolerance);

/** What a result's check is recorded against. */
export type Against = 'float64 reference' | 'cpu provider';

/** A check as a result records it (the result schema's `Verification`). */
export interface Verdict {
  /** Normwise relative error; a NaN or infinite one is recorded as the largest double (JSON holds no NaN). */
  maxRelError: number;
  tolerance: number;
  /** Within the tolerance: a result outside it is WRONG, shown as such, and gets no speedup. */
  ok: boolean;
  against: Against;
  /** The shape it was checked at. */
  batch: number;
  seq: number;
}

/** A check's record, judged by `isWrong`. */
export function verdict(error: number, against: Against, batch: number, seq: number, tolerance = VERIFY_TOLERANCE): Verdict {
  const maxRelError = Number.isFinite(error) ? error : Number.MAX_VALUE;
  return { maxRelError, tolerance, ok: !isWrong(maxRelError, tolerance), against, batch, seq };
}

/** A device's check as the device tests read it: the raw error (NaN kept), and whether it is wrong. */
export interface DeviceCheck {
  /** Normwise relative error against the reference. */
  error: number;
  /** What the device's answer was compared with. */
  against: 'float64' | 'cpu';
  tolerance: number;
  /** Beyond the tolerance (or not a number): the result is marked wrong and gets no speedup. */
  wrong: boolean;
}

export const judge = (error: number, against: DeviceCheck['against'], tolerance = VERIFY_TOLERANCE): DeviceCheck => ({ error, against, tolerance, wrong: isWrong(error, tolerance) });
