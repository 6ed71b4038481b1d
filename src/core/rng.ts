/**
 * Seeded random numbers: `Rng` (uniforms and normals over xoroshiro128+, for inputs,
 * prompts and sampling) and `fastNormals` (bulk normals for model weights).
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded source of uniform and normal variates (Box–Muller over xoroshiro128+). */
export class Rng {
  private gen;
  private spare: number | undefined;
  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed);
  }
  uniform(): number {
    return uniformFloat64(this.gen);
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  fill(out: Float32Array, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = std * this.normal();
    return out;
  }
  normals(n: number, std = 1): Float32Array {
    return this.fill(new Float32Array(n), std);
  }
}

/**
 * `n` normal variates × std from a seeded xoshiro128+ (four 32-bit words) through Box–Muller:
 * the seed model's 355M weights take seconds, not the minute a general-purpose generator takes.
 */
export function fastNormals(n: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  // splitmix32 to spread the seed over the state
  let z = seed >>> 0;
  const mix = () => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  let s0 = mix() | 1;
  let s1 = mix();
  let s2 = mix();
  let s3 = mix();
  const next = () => {
    // xoshiro128+ : a uniform in [0, 1) from the top 24 bits
    const r = (s0 + s3) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return (r >>> 8) / 16777216;
  };
  for (let i = 0; i < n; i += 2) {
    const u = 1 - next();
    const v = next();
    const r = std * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
