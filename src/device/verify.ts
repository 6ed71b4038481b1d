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
 * The tolerance of a check at a quantized precision (int8/int4 weights or cache), against the
 * float64 reference of the same quantized computation (src/precision/reference.ts,
 * src/model/reference.ts). Where the reference sees the kernel's own input it reproduces the
 * kernel's codes and its errors are float32 rounding (under 7e-7, measured on every variant
 * and dtype). Two things it cannot reproduce, measured:
 *  - a value within float32 rounding of a half step, in an input the engine computed itself,
 *    rounds to the neighbouring code in one of them: one term moves by one step of the
 *    input's quantization (max|x| / 127 of its block or tensor), a few 1e-4 of the output
 *    (1.8e-4 on a full-mode layer's output projection);
 *    the decoders' reference takes the engine's own product inputs where they agree to 1e-4,
 *    so such a flip does not cascade through the layers;
 *  - the int4 kernel (MatMulNBits at accuracy level 4) now and then leaves a product a few
 *    1e-4 away from exact integer arithmetic on the same codes (seen as rows of the next
 *    layer's input off by 5e-4), which the layers after it carry: up to 3.6e-3 of a
 *    two-layer decoder's logits over 4 seeds.
 * So int8 (both weight products and caches are exact integer arithmetic) is held to 1e-3,
 * and int4 weights to 1e-2; both stay below what the precision itself costs against float32
 * (int8 weights ≥ 5e-3, int4 ≥ 5e-2 at every shape measured), so a kernel that skipped a
 * scale, mixed blocks or read the wrong cache rows is caught.
 */
export const QUANTIZED_TOLERANCE = 1e-3;
export const INT4_WEIGHTS_TOLERANCE = 1e-2;

/** The tolerance of a check at these dtypes (see QUANTIZED_TOLERANCE). */
export function toleranceFor(weightDtype: string, kvDtype = 'float32'): number {
  if (weightDtype === 'int4') return INT4_WEIGHTS_TOLERANCE;
  return weightDtype === 'int8' || kvDtype === 'int8' || kvDtype === 'int4' ? QUANTIZED_TOLERANCE : VERIFY_TOLERANCE;
}

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
