/**
 * Will a layer or a decoder fit the adapter? Checked before any work, from the shapes alone.
 *
 * What the WebGPU provider does with big tensors (measured, docs/webgpu.md §7): one tensor
 * is one GPU buffer, so it must be ≤ maxBufferSize; a buffer larger than
 * maxStorageBufferBindingSize is bound as ⌈bytes / binding size⌉ segments, and one program
 * may bind at most maxStorageBuffersPerShaderStage of them in all (inputs and outputs), or
 * the run fails with "Too many storage buffers in shader". WebGPU reports no memory size,
 * so total memory is not checked here (the engine's allocation fails instead).
 */
import { F32 } from '../core/constants.ts';
import type { AdapterLimits } from './adapter.ts';

export interface ProgramNeed {
  /** What the program is, for the refusal ("the q·kᵀ MatMul"). */
  what: string;
  /** Its tensors (float32): name and dims. */
  tensors: { name: string; dims: number[] }[];
}

/** A layer's shape (the attention folder's LayerShape has these fields). */
export interface LayerDims {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** A decoder step's shape: `seq` new tokens per row against a cache of `capacity` positions. */
export interface DecoderDims {
  rows: number;
  seq: number;
  capacity: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  inner: number;
  vocab: number;
}

const bytesOf = (dims: readonly number[]) => F32 * dims.reduce((a, b) => a * b, 1);
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/** The programs of a layer that hold its largest tensors (shapes as the hand-arranged layouts use them). */
export function layerPrograms(s: LayerDims, mode: 'seed' | 'full'): ProgramNeed[] {
  const { batch: B, seq: S, heads: H, kvHeads: G, headDim: D } = s;
  const nm = H * D;
  const width = (H + 2 * G) * D;
  const scores = [B, H, S, S];
  const progs: ProgramNeed[] = [
    { what: 'the q·k·v projection', tensors: [{ name: 'hidden', dims: [B, S, nm] }, { name: 'w_qkv', dims: [nm, width] }, { name: 'qkv', dims: [B, S, width] }] },
    { what: 'the q·kᵀ MatMul', tensors: [{ name: 'q', dims: [B, H, S, D] }, { name: 'k', dims: [B, G, D, S] }, { name: 'scores', dims: scores }] },
    { what: 'the weights·v MatMul', tensors: [{ name: 'scores', dims: scores }, { name: 'v', dims: [B, G, S, D] }, { name: 'out', dims: [B, H, S, D] }] },
  ];
  if (mode === 'full') progs.push({ what: 'the masked softmax', tensors: [{ name: 'scores', dims: scores }, { name: 'mask', dims: [S, S] }, { name: 'probabilities', dims: scores }] });
  return progs;
}

/** The programs of one decoder step (prefill: seq = prompt length) that hold its largest tensors. */
export function decoderPrograms(s: DecoderDims): ProgramNeed[] {
  const { rows: B, seq: S, capacity: T, heads: H, kvHeads: G, headDim: D, hidden: nm, inner, vocab } = s;
  const scores = [B, G, S * (H / G), T + S];
  return [
    { what: 'the cache update (ScatterND)', tensors: [{ name: 'k cache', dims: [B, G, T, D] }, { name: 'new k', dims: [B, G, S, D] }, { name: 'present k', dims: [B, G, T, D] }] },
    { what: 'the q·kᵀ MatMul against the cache', tensors: [{ name: 'q', dims: [B, G, S * (H / G), D] }, { name: 'k cache', dims: [B, G, T, D] }, { name: 'scores', dims: scores }] },
    { what: 'the weights·v MatMul against the cache', tensors: [{ name: 'scores', dims: scores }, { name: 'v cache', dims: [B, G, T, D] }, { name: 'out', dims: [B, G, S * (H / G), D] }] },
    { what: 'the MLP', tensors: [{ name: 'hidden', dims: [B * S, nm] }, { name: 'w_fc', dims: [nm, inner] }, { name: 'fc', dims: [B * S, inner] }] },
    { what: 'the LM head', tensors: [{ name: 'last hidden', dims: [B, nm] }, { name: 'wte', dims: [vocab, nm] }, { name: 'logits', dims: [B, vocab] }] },
  ];
}

/** null when every program fits; else one line naming the tensor or program and the limit it exceeds. */
export function checkFits(programs: readonly ProgramNeed[], l: AdapterLimits): string | null {
  for (const p of programs) {
    for (const t of p.tensors) {
      const b = bytesOf(t.dims);
      if (b > l.maxBufferSize) return `the ${t.name} tensor [${t.dims.join(', ')}] is ${gib(b)}, over this adapter's largest buffer (maxBufferSize ${gib(l.maxBufferSize)})`;
    }
    const bindings = p.tensors.reduce((a, t) => a + Math.ceil(bytesOf(t.dims) / l.maxStorageBufferBindingSize), 0);
    if (bindings > l.maxStorageBuffersPerShaderStage) {
      return `${p.what} would bind ${bindings} storage-buffer segments of at most ${gib(l.maxStorageBufferBindingSize)}, over this adapter's ${l.maxStorageBuffersPerShaderStage} per program (maxStorageBuffersPerShaderStage)`;
    }
  }
  return null;
}
