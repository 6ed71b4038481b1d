/**
 * A safetensors writer for the tests (the project itself only reads checkpoints): tensors
 * serialised as the reference writer does, header padded with spaces to 8 bytes, F16 by
 * round-to-nearest-even.
 */

export interface TensorToWrite {
  dtype?: 'F32' | 'F16' | 'F64' | 'I64';
  shape: number[];
  data: ArrayLike<number>;
}

/** Serialise tensors as a safetensors file (header padded with spaces to 8 bytes, as the reference writer does). */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = t.dtype ?? 'F32';
    let bytes: Uint8Array;
    if (dtype === 'F32') bytes = new Uint8Array(Float32Array.from(t.data).buffer);
    else if (dtype === 'F64') bytes = new Uint8Array(Float64Array.from(t.data).buffer);
    else if (dtype === 'I64') bytes = new Uint8Array(BigInt64Array.from(Array.from(t.data), (x) => BigInt(Math.round(x))).buffer);
    else {
      const u16 = new Uint16Array(t.data.length);
      for (let i = 0; i < t.data.length; i++) u16[i] = f32ToF16(t.data[i]!);
      bytes = new Uint8Array(u16.buffer);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** float32 → IEEE half (round to nearest even). */
function f32ToF16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  let e = ((u >>> 23) & 0xff) - 127 + 15;
  let m = u & 0x7fffff;
  if (((u >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    m = (m | 0x800000) >> (1 - e);
    return sign | ((m + 0x1000 + ((m >> 13) & 1) - 1) >> 13);
  }
  const r = m + 0xfff + ((m >> 13) & 1);
  if (r & 0x800000) {
    e += 1;
    if (e >= 31) return sign | 0x7c00;
    return sign | (e << 10);
  }
  return sign | (e << 10) | (r >> 13);
}
