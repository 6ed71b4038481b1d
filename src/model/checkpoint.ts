/**
 * Local Hugging Face checkpoints (`config.json` + `model.safetensors`) of type `gpt2` or
 * `gpt_bigcode`, mapped onto the logical weights of `weights.ts`. Nothing is fetched.
 *
 *  - gpt2: Conv1D weights are already [in, out]; c_attn's columns are q | k | v.
 *  - gpt_bigcode: nn.Linear weights are [out, in]; with `multi_query` c_attn's rows are
 *    q (nm) | k (hs) | v (hs), one K/V head; without it they are per head (q_h | k_h | v_h).
 *
 * Everything is checked before the tensors are read: files present, config valid, every
 * tensor present with the right shape and a float dtype, the file not truncated, and the
 * predicted memory free.
 */
import fs from 'node:fs';
import path from 'node:path';
import { transpose2d } from '../core/arrays.ts';
import { UsageError } from '../core/errors.ts';
import { ACTIVATIONS, checkConfig, headDim, type Activation, type ModelConfig } from './config.ts';
import { FLOAT_DTYPES, readHeader, readTensor, type SafetensorsHeader } from './safetensors.ts';
import type { BlockWeights, ModelWeights } from './weights.ts';

export type ModelType = 'gpt2' | 'gpt_bigcode';

export interface CheckpointInfo {
  dir: string;
  modelType: ModelType;
  config: ModelConfig;
  /** K/V heads the checkpoint's attention has (1 for a multi-query gpt_bigcode). */
  kvHeads: number;
  header: SafetensorsHeader;
  /** Key prefix in the file ('' or 'transformer.'). */
  prefix: string;
}

/** Parse and validate `config.json`. */
export function readModelConfig(dir: string): { modelType: ModelType; config: ModelConfig; multiQuery: boolean } {
  const file = path.join(dir, 'config.json');
  const bad = (why: string) => new UsageError(`${file}: ${why}`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${dir}: missing config.json` : `${file}: cannot read (${code ?? String(e)})`);
  }
  let j: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
    j = parsed as Record<string, unknown>;
  } catch {
    throw bad('not a JSON object (malformed config.json)');
  }
  const modelType = j.model_type;
  if (modelType !== 'gpt2' && modelType !== 'gpt_bigcode') throw bad(`model_type ${JSON.stringify(modelType)} is not supported (gpt2 or gpt_bigcode)`);
  const int = (key: string, fallback?: number): number => {
    const v = j[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`${key} must be a positive integer, got ${JSON.stringify(j[key])}`);
    return v;
  };
  const hidden = int('n_embd');
  const eps = j.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw bad(`layer_norm_epsilon must be a positive number, got ${JSON.stringify(j.layer_norm_epsilon)}`);
  const act = j.activation_function ?? (modelType === 'gpt2' ? 'gelu_new' : 'gelu_pytorch_tanh');
  if (!ACTIVATIONS.includes(act as Activation)) throw bad(`activation_function ${JSON.stringify(act)} is not supported (${ACTIVATIONS.join(', ')})`);
  const inner = j.n_inner === null || j.n_inner === undefined ? 4 * hidden : int('n_inner');
  const multiQuery = modelType === 'gpt_bigcode' ? (j.multi_query ?? true) : false;
  if (typeof multiQuery !== 'boolean') throw bad(`multi_query must be true or false, got ${JSON.stringify(j.multi_query)}`);
  if (j.scale_attn_weights === false) throw bad('scale_attn_weights=false is not supported');
  if (j.scale_attn_by_inverse_layer_idx === true) throw bad('scale_attn_by_inverse_layer_idx=true is not supported');
  if (j.tie_word_embeddings === false) throw bad('tie_word_embeddings=false is not supported (the LM head is the token embedding)');
  const config: ModelConfig = {
    layers: int('n_layer'),
    hidden,
    heads: int('n_head'),
    positions: int('n_positions'),
    vocab: int('vocab_size'),
    inner,
    layerNormEps: eps,
    activation: act as Activation,
  };
  try {
    checkConfig(config);
  } catch (e) {
    throw bad((e as Error).message);
  }
  return { modelType, config, multiQuery };
}

/** Shapes every tensor must have, keyed without the prefix. */
function expectedShapes(t: ModelType, c: ModelConfig, kv: number): Map<string, number[]> {
  const nm = c.hidden;
  const linear = (out: number, inp: number) => (t === 'gpt2' ? [inp, out] : [out, inp]);
  const m = new Map<string, number[]>([
    ['wte.weight', [c.vocab, nm]],
    ['wpe.weight', [c.positions, nm]],
    ['ln_f.weight', [nm]],
    ['ln_f.bias', [nm]],
  ]);
  for (let i = 0; i < c.layers; i++) {
    const p = `h.${i}.`;
    m.set(`${p}ln_1.weight`, [nm]).set(`${p}ln_1.bias`, [nm]).set(`${p}ln_2.weight`, [nm]).set(`${p}ln_2.bias`, [nm]);
    m.set(`${p}attn.c_attn.weight`, linear(nm + 2 * kv, nm)).set(`${p}attn.c_attn.bias`, [nm + 2 * kv]);
    m.set(`${p}attn.c_proj.weight`, linear(nm, nm)).set(`${p}attn.c_proj.bias`, [nm]);
    m.set(`${p}mlp.c_fc.weight`, linear(c.inner, nm)).set(`${p}mlp.c_fc.bias`, [c.inner]);
    m.set(`${p}mlp.c_proj.weight`, linear(nm, c.inner)).set(`${p}mlp.c_proj.bias`, [nm]);
  }
  return m;
}

/** Read and check everything but the tensor data. */
export function inspectCheckpoint(dir: string): CheckpointInfo {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--model ${dir}: not a directory`);
  const { modelType, config, multiQuery } = readModelConfig(dir);
  const file = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(file)) {
    const sharded = fs.existsSync(path.join(dir, 'model.safetensors.index.json'));
    throw new UsageError(`${dir}: missing model.safetensors${sharded ? ' (sharded checkpoints are not supported)' : ''}`);
  }
  const header = readHeader(file);
  const kvHeads = multiQuery ? 1 : config.heads;
  const kv = kvHeads * headDim(config);
  const prefix = header.tensors.has('transformer.wte.weight') ? 'transformer.' : '';
  for (const [key, shape] of expectedShapes(modelType, config, kv)) {
    const t = header.tensors.get(prefix + key);
    if (!t) throw new UsageError(`${file}: missing tensor ${prefix + key}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UsageError(`${file}: tensor ${prefix + key} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] for this config.json`);
    }
    if (!FLOAT_DTYPES.includes(t.dtype)) throw new UsageError(`${file}: tensor ${prefix + key} has dtype ${t.dtype}, expected a float type`);
  }
  return { dir, modelType, config, kvHeads, header, prefix };
}

/** Load the weights of a checked checkpoint. */
export function loadCheckpoint(info: CheckpointInfo): ModelWeights {
  const { config: c, header: h, prefix, modelType, kvHeads } = info;
  const nm = c.hidden;
  const D = headDim(c);
  const kv = kvHeads * D;
  const read = (k: string) => readTensor(h, prefix + k);
  const asInOut = (w: Float32Array, out: number, inp: number) => (modelType === 'gpt2' ? w : transpose2d(w, out, inp));
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const p = `h.${i}.`;
    const width = nm + 2 * kv;
    const wqkv = asInOut(read(`${p}attn.c_attn.weight`), width, nm); // [nm, width]
    const bqkv = read(`${p}attn.c_attn.bias`);
    // column of each of q, k, v inside c_attn's output
    const col =
      modelType === 'gpt_bigcode' && kvHeads === c.heads
        ? (part: 0 | 1 | 2, j: number) => Math.floor(j / D) * 3 * D + part * D + (j % D) // per head: q_h | k_h | v_h
        : (part: 0 | 1 | 2, j: number) => (part === 0 ? j : part === 1 ? nm + j : nm + kv + j);
    const take = (part: 0 | 1 | 2, n: number) => {
      const w = new Float32Array(nm * n);
      for (let r = 0; r < nm; r++) for (let j = 0; j < n; j++) w[r * n + j] = wqkv[r * width + col(part, j)]!;
      return { w, b: Float32Array.from({ length: n }, (_, j) => bqkv[col(part, j)]!) };
    };
    const q = take(0, nm);
    const k = take(1, kv);
    const v = take(2, kv);
    blocks.push({
      ln1: { g: read(`${p}ln_1.weight`), b: read(`${p}ln_1.bias`) },
      attn: {
        hidden: new Float32Array(0),
        wq: q.w,
        bq: q.b,
        wk: k.w,
        bk: k.b,
        wv: v.w,
        bv: v.b,
        wo: asInOut(read(`${p}attn.c_proj.weight`), nm, nm),
        bo: read(`${p}attn.c_proj.bias`),
      },
      ln2: { g: read(`${p}ln_2.weight`), b: read(`${p}ln_2.bias`) },
      fc: asInOut(read(`${p}mlp.c_fc.weight`), c.inner, nm),
      fcB: read(`${p}mlp.c_fc.bias`),
      proj: asInOut(read(`${p}mlp.c_proj.weight`), nm, c.inner),
      projB: read(`${p}mlp.c_proj.bias`),
    });
  }
  return {
    config: c,
    kvHeads,
    wte: read('wte.weight'),
    wpe: read('wpe.weight'),
    blocks,
    lnf: { g: read('ln_f.weight'), b: read('ln_f.bias') },
  };
}
