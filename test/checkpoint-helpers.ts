/**
 * Test-side writers of tiny Hugging Face checkpoints (config.json + model.safetensors), in
 * the real layouts, written independently of the loader they test: gpt2 (Conv1D weights
 * [in, out], c_attn columns q | k | v, old checkpoints' `attn.bias` mask buffers) and
 * gpt_bigcode (nn.Linear weights [out, in]; c_attn rows q | k | v with multi_query, per
 * head q_h | k_h | v_h without).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ModelWeights } from '../src/model/weights.ts';
import { encodeSafetensors, type TensorToWrite } from './safetensors-writer.ts';

const t = (shape: number[], data: ArrayLike<number>, dtype: TensorToWrite['dtype'] = 'F32'): TensorToWrite => ({ shape, data, dtype });

/** [r, c] → [c, r] */
function tr(x: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j]!;
  return out;
}

export interface WriteOptions {
  /** Keys carry `transformer.` (as GPT2LMHeadModel saves them). */
  prefix?: boolean;
  /** Store this many float tensors as F16 (the first ones) to exercise conversion. */
  dtype?: 'F32' | 'F16';
  config?: Record<string, unknown>;
}

export function writeGpt2(dir: string, w: ModelWeights, o: WriteOptions = {}): void {
  const c = w.config;
  const nm = c.hidden;
  const p = o.prefix ? 'transformer.' : '';
  const dt = o.dtype ?? 'F32';
  const tensors: Record<string, TensorToWrite> = {
    [`${p}wte.weight`]: t([c.vocab, nm], w.wte, dt),
    [`${p}wpe.weight`]: t([c.positions, nm], w.wpe, dt),
  };
  w.blocks.forEach((b, i) => {
    const h = `${p}h.${i}.`;
    const width = 3 * nm;
    const cattn = new Float32Array(nm * width);
    for (let r = 0; r < nm; r++) {
      cattn.set(b.attn.wq.subarray(r * nm, (r + 1) * nm), r * width);
      cattn.set(b.attn.wk.subarray(r * nm, (r + 1) * nm), r * width + nm);
      cattn.set(b.attn.wv.subarray(r * nm, (r + 1) * nm), r * width + 2 * nm);
    }
    Object.assign(tensors, {
      [`${h}ln_1.weight`]: t([nm], b.ln1.g, dt),
      [`${h}ln_1.bias`]: t([nm], b.ln1.b, dt),
      [`${h}attn.bias`]: t([1, 1, c.positions, c.positions], new Float32Array(c.positions ** 2).fill(1), dt), // the old mask buffer
      [`${h}attn.c_attn.weight`]: t([nm, width], cattn, dt),
      [`${h}attn.c_attn.bias`]: t([width], [...b.attn.bq!, ...b.attn.bk!, ...b.attn.bv!], dt),
      [`${h}attn.c_proj.weight`]: t([nm, nm], b.attn.wo!, dt),
      [`${h}attn.c_proj.bias`]: t([nm], b.attn.bo!, dt),
      [`${h}ln_2.weight`]: t([nm], b.ln2.g, dt),
      [`${h}ln_2.bias`]: t([nm], b.ln2.b, dt),
      [`${h}mlp.c_fc.weight`]: t([nm, c.inner], b.fc, dt),
      [`${h}mlp.c_fc.bias`]: t([c.inner], b.fcB, dt),
      [`${h}mlp.c_proj.weight`]: t([c.inner, nm], b.proj, dt),
      [`${h}mlp.c_proj.bias`]: t([nm], b.projB, dt),
    });
  });
  tensors[`${p}ln_f.weight`] = t([nm], w.lnf.g, dt);
  tensors[`${p}ln_f.bias`] = t([nm], w.lnf.b, dt);
  const config = {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    n_embd: nm,
    n_head: c.heads,
    n_layer: c.layers,
    n_positions: c.positions,
    n_ctx: c.positions,
    vocab_size: c.vocab,
    n_inner: null,
    layer_norm_epsilon: c.layerNormEps,
    activation_function: 'gelu_new',
    bos_token_id: 50256,
    eos_token_id: 50256,
    ...o.config,
  };
  write(dir, config, tensors);
}

export function writeBigcode(dir: string, w: ModelWeights, o: WriteOptions = {}): void {
  const c = w.config;
  const nm = c.hidden;
  const D = nm / c.heads;
  const multiQuery = w.kvHeads === 1;
  const kv = w.kvHeads * D;
  const p = 'transformer.';
  const tensors: Record<string, TensorToWrite> = {
    [`${p}wte.weight`]: t([c.vocab, nm], w.wte),
    [`${p}wpe.weight`]: t([c.positions, nm], w.wpe),
  };
  w.blocks.forEach((b, i) => {
    const h = `${p}h.${i}.`;
    const out = nm + 2 * kv;
    const weight = new Float32Array(out * nm); // [out, in]
    const bias = new Float32Array(out);
    // which logical matrix and column each output row of c_attn is
    const source = (row: number): [Float32Array, Float32Array, number, number] => {
      if (multiQuery) {
        if (row < nm) return [b.attn.wq, b.attn.bq!, nm, row];
        if (row < nm + D) return [b.attn.wk, b.attn.bk!, kv, row - nm];
        return [b.attn.wv, b.attn.bv!, kv, row - nm - D];
      }
      const head = Math.floor(row / (3 * D));
      const part = Math.floor((row % (3 * D)) / D);
      const col = head * D + (row % D);
      return [[b.attn.wq, b.attn.wk, b.attn.wv][part]!, [b.attn.bq!, b.attn.bk!, b.attn.bv!][part]!, nm, col];
    };
    for (let r = 0; r < out; r++) {
      const [m, bb, width, col] = source(r);
      for (let x = 0; x < nm; x++) weight[r * nm + x] = m[x * width + col]!;
      bias[r] = bb[col]!;
    }
    Object.assign(tensors, {
      [`${h}ln_1.weight`]: t([nm], b.ln1.g),
      [`${h}ln_1.bias`]: t([nm], b.ln1.b),
      [`${h}attn.c_attn.weight`]: t([out, nm], weight),
      [`${h}attn.c_attn.bias`]: t([out], bias),
      [`${h}attn.c_proj.weight`]: t([nm, nm], tr(b.attn.wo!, nm, nm)),
      [`${h}attn.c_proj.bias`]: t([nm], b.attn.bo!),
      [`${h}ln_2.weight`]: t([nm], b.ln2.g),
      [`${h}ln_2.bias`]: t([nm], b.ln2.b),
      [`${h}mlp.c_fc.weight`]: t([c.inner, nm], tr(b.fc, nm, c.inner)),
      [`${h}mlp.c_fc.bias`]: t([c.inner], b.fcB),
      [`${h}mlp.c_proj.weight`]: t([nm, c.inner], tr(b.proj, c.inner, nm)),
      [`${h}mlp.c_proj.bias`]: t([nm], b.projB),
    });
  });
  tensors[`${p}ln_f.weight`] = t([nm], w.lnf.g);
  tensors[`${p}ln_f.bias`] = t([nm], w.lnf.b);
  const config = {
    model_type: 'gpt_bigcode',
    architectures: ['GPTBigCodeForCausalLM'],
    n_embd: nm,
    n_head: c.heads,
    n_layer: c.layers,
    n_positions: c.positions,
    vocab_size: c.vocab,
    n_inner: c.inner,
    layer_norm_epsilon: c.layerNormEps,
    activation_function: 'gelu_pytorch_tanh',
    multi_query: multiQuery,
    ...o.config,
  };
  write(dir, config, tensors);
}

function write(dir: string, config: unknown, tensors: Record<string, TensorToWrite>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
}
