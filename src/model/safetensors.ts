/**
 * The safetensors format (no well-kept reader for local files on npm, and the format is
 * small): 8 bytes little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, then the
 * raw little-endian data, offsets relative to its start.
 *
 * Reading validates the header against the file before any tensor is read (offsets inside
 * the file, sizes matching dtype × shape, no two tensors sharing bytes), and reads each
 * tensor straight into its own Float32Array (F16, BF16 and F64 are converted); a tensor
 * holding NaN or ±∞ is refused with its name, since every number computed from it would be
 * garbage.
 */
import fs from 'node:fs';
import { UsageError } from '../core/errors.ts';

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<DType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Dtypes a float weight may be stored in. */
export const FLOAT_DTYPES: readonly DType[] = ['F32', 'F16', 'BF16', 'F64'];

export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** Byte offsets in the file (already past the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  fileBytes: number;
}

/** Largest header accepted (the reference implementation's limit). */
const MAX_HEADER = 100 * 2 ** 20;

/** Read and check the header: offsets inside the file, sizes matching dtype × shape. */
export function readHeader(file: string): SafetensorsHeader {
  const bad = (why: string) => new UsageError(`${file}: ${why}`);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw bad(`cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw bad(`truncated: ${size} bytes, not even the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (n > MAX_HEADER) throw bad(`header length ${n} is implausible (not a safetensors file?)`);
    if (8 + n > size) throw bad(`truncated: header needs ${8 + n} bytes, file has ${size}`);
    const headBuf = Buffer.alloc(n);
    fs.readSync(fd, headBuf, 0, n, 8);
    let json: unknown;
    try {
      json = JSON.parse(headBuf.toString('utf8'));
    } catch {
      throw bad('header is not valid JSON (not a safetensors file?)');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('header is not a JSON object');
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    const dataStart = 8 + n;
    for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = (v ?? {}) as Record<string, string>;
        continue;
      }
      const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof t !== 'object' || t === null) throw bad(`tensor ${name}: entry is not an object`);
      if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) throw bad(`tensor ${name}: unknown dtype ${JSON.stringify(t.dtype)}`);
      const shape = t.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor ${name}: bad shape ${JSON.stringify(shape)}`);
      const off = t.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
        throw bad(`tensor ${name}: bad data_offsets ${JSON.stringify(off)}`);
      }
      const dtype = t.dtype as DType;
      const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
      if (off[1] - off[0] !== bytes) throw bad(`tensor ${name}: ${off[1] - off[0]} bytes for ${dtype} ${JSON.stringify(shape)}, which needs ${bytes}`);
      const begin = dataStart + (off[0] as number);
      const end = dataStart + (off[1] as number);
      if (end > size) throw bad(`truncated: tensor ${name} ends at byte ${end}, file has ${size}`);
      tensors.set(name, { dtype, shape: shape as number[], begin, end });
    }
    checkOverlaps(tensors, bad);
    return { file, tensors, metadata, fileBytes: size };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Refuse two tensors whose bytes overlap (a writer's bug or a crafted file: one tensor's
 * data would silently be another's). Empty tensors occupy no bytes and overlap nothing.
 */
function checkOverlaps(tensors: Map<string, TensorInfo>, bad: (why: string) => UsageError): void {
  const spans = [...tensors].filter(([, t]) => t.end > t.begin).sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1]!;
    const [name, t] = spans[i]!;
    if (t.begin < prev.end) {
      throw bad(`tensor ${name}: data_offsets overlap those of tensor ${prevName} (bytes ${t.begin}–${Math.min(t.end, prev.end)} of the file are claimed by both)`);
    }
  }
}

/** Index of the first element that is not finite (NaN, ±∞), or -1. */
export function firstNonFinite(x: Float32Array): number {
  let poison = 0; // v − v: 0 for a finite v, NaN otherwise; one cheap pass, then a search only if needed
  for (let i = 0; i < x.length; i++) poison += x[i]! - x[i]!;
  if (poison === 0) return -1;
  return x.findIndex((v) => !Number.isFinite(v));
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Read one float tensor as float32; a tensor holding NaN or ±∞ is refused, naming it. */
export function readTensor(h: SafetensorsHeader, name: string): Float32Array {
  const out = readTensorData(h, name);
  const i = firstNonFinite(out);
  if (i >= 0) throw new UsageError(`${h.file}: tensor ${name} holds ${out[i]} at element ${i}; weights that are not finite would make every result garbage`);
  return out;
}

function readTensorData(h: SafetensorsHeader, name: string): Float32Array {
  const t = h.tensors.get(name);
  if (!t) throw new UsageError(`${h.file}: missing tensor ${name}`);
  if (!FLOAT_DTYPES.includes(t.dtype)) throw new UsageError(`${h.file}: tensor ${name} has dtype ${t.dtype}, expected a float type (${FLOAT_DTYPES.join(', ')})`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  const fd = fs.openSync(h.file, 'r');
  try {
    if (t.dtype === 'F32') {
      const out = new Float32Array(count);
      readFully(fd, new Uint8Array(out.buffer), t.begin);
      return out;
    }
    const raw = new Uint8Array(t.end - t.begin);
    readFully(fd, raw, t.begin);
    const dv = new DataView(raw.buffer);
    const out = new Float32Array(count);
    if (t.dtype === 'F64') for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
    else if (t.dtype === 'F16') for (let i = 0; i < count; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
    else {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u32[i] = dv.getUint16(2 * i, true) << 16;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (n === 0) throw new Error('unexpected end of file');
    done += n;
  }
}
