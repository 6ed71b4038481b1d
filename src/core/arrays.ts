/** Re-arranging row-major typed arrays on the JS side (packing weights, hidden states, ids). */

type Typed = Float32Array | BigInt64Array;

/**
 * [a, b, m] → [b, a, m]: swap the two leading axes of a row-major array whose rows are
 * blocks of `m` elements (m = 1: a plain matrix transpose [a, b] → [b, a]).
 */
export function swapLeadingAxes<T extends Typed>(x: T, a: number, b: number, m = x.length / (a * b)): T {
  const out = new (x.constructor as new (n: number) => T)(x.length);
  if (m === 1) {
    // element by element: a subarray per element would cost more than the copy
    for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out[j * a + i] = x[i * b + j]!;
    return out;
  }
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out.set(x.subarray((i * b + j) * m, (i * b + j + 1) * m) as never, (j * a + i) * m);
  return out;
}

/** [r, c] → [c, r] for a row-major matrix. */
export const transpose2d = <T extends Typed>(x: T, r: number, c: number): T => swapLeadingAxes(x, r, c, 1);
