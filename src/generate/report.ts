/**
 * What `attnbench generate` prints: per attention type the seed's dict line (its field
 * names, Python's repr style), built here from the result file, then the summary table.
 */
import { EOS_TOKEN } from '../model/config.ts';
import type { GenerateResult, GenerateResultFile } from '../results/schema.ts';
import { generationTable } from '../results/tables.ts';
import { markdownTable } from '../table/table.ts';

const py = (v: unknown): string => (typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'string' ? `'${v}'` : String(v));

/** The seed's dict for one type, in the seed's field order (times in seconds; generate_text_batch is the median generation). */
export function seedDict(f: GenerateResultFile, r: GenerateResult): Record<string, unknown> {
  return {
    get_test_batch: f.resolved.promptSeconds,
    generate_text_batch: r.generateSeconds.median,
    decode_batch: r.textSeconds,
    input_batch_size: f.resolved.batch,
    input_batch_length: f.resolved.promptLength,
    max_gen_length: f.resolved.promptLength + f.resolved.maxNewTokens,
    num_beams: f.config.numBeams,
    do_sample: f.config.doSample,
    pad_token_id: EOS_TOKEN,
    dtype: 'float32',
    // the seed wrote 'cuda' and the GPU's name; a WebGPU run names its provider and adapter
    device: f.environment.device.kind === 'webgpu' ? 'webgpu' : 'cpu',
    device_name: f.environment.device.kind === 'webgpu' ? f.environment.device.description : f.environment.cpu,
  };
}

/** The seed's block for one type: a banner line, then its dict. */
export function seedBlock(f: GenerateResultFile, r: GenerateResult): string {
  const dict = Object.entries(seedDict(f, r))
    .map(([k, v]) => `'${k}': ${py(v)}`)
    .join(', ');
  return `${'-'.repeat(20)} attention_type == ${r.attention}${'-'.repeat(21)}\n{${dict}}\n`;
}

/** Everything `attnbench generate` prints on stdout. */
export function formatGenerate(f: GenerateResultFile, printText: boolean): string {
  let out = f.results.map((r) => seedBlock(f, r)).join('');
  if (printText) {
    for (const r of f.results) {
      out += `\n${r.attention}: generated text\n`;
      r.texts.forEach((t, i) => (out += `[${i}] ${JSON.stringify(t)}\n`));
    }
  }
  return out + '\n' + markdownTable(generationTable(f)) + '\n';
}
