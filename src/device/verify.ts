/**
 * Verification of a device's answers. A benchmark that times wrong answers misleads its
 * user, and the WebGPU provider has given wrong ones (its fused GroupQueryAttention from
 * sequence 32 on software adapters, docs/webgpu.md §3), so every device run checks what it
 * times: a layer's output, or a decoder's first step logits, against the float64 reference
 * or the CPU provider's answer to the same inputs. The runners are beside what they run
 * (src/generate/verify.ts; the WebGPU tests' layer check, test/webgpu/check-layer.ts); the rule is here, once.
 */

/**
 * Normwise relative error (max |out − ref| / max |ref|) above which a result is wrong. The
 * CPU provider and correct WebGPU programs stay below 1e-6 at every shape measured (float32
 * rounding over sums of a few thousand terms); the broken fused kernel is off by 1e-1.
 */
export const DEVICE_TOLERANCE = 1e-4;

export interface DeviceCheck {
  /** Normwise relative error against the reference. */
  error: number;
  /** What the device's answer was compared with. */
  against: 'float64' | 'cpu';
  tolerance: number;
  /** Beyond the tolerance (or not a number): the result is marked wrong and gets no speedup. */
  wrong: boolean;
}

export const judge = (error: number, against: DeviceCheck['against'], tolerance = DEVICE_TOLERANCE): DeviceCheck => ({
  error,
  against,
  tolerance,
  // NaN compares false with everything: a NaN output is wrong, not right
  wrong: !(error <= tolerance),
});
