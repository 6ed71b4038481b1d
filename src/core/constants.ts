/** Numbers several layers share; each is defined here once. */

/** Bytes of one float32 element (every tensor the project builds is float32). */
export const F32 = 4;

/** Additive mask value for hidden positions (Hugging Face uses float32's minimum). */
export const MASK_MIN = -3.4028234663852886e38;

/** Bytes in a GiB, for messages about memory. */
export const GIB = 2 ** 30;
