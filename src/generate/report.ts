/**
 * Printing a generation comparison: per attention type the seed's dict line (same field
 * names, Python's repr style), then a summary table with the speedups against multi-head.
 */
import type { GenerateResult } from '../results/schema.ts';
import { generationTable } from '../results/tables.ts';
import { markdownTable } from '../table/table.ts';

const SEED_FIELDS = [
  'get_test_batch',
  'generate_text_batch',
  'decode_batch',
  'input_batch_size',
  'input_batch_length',
  'max_gen_length',
  'num_beams',
  'do_sample',
  'pad_token_id',
  'dtype',
  'device',
  'device_name',
] as const;

const py = (v: unknown): string => (typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'string' ? `'${v}'` : String(v));

/** The seed's block for one type: a banner line, then its dict. */
export function seedBlock(r: GenerateResult): string {
  const dict = SEED_FIELDS.map((k) => `'${k}': ${py(r[k])}`).join(', ');
  return `${'-'.repeat(20)} attention_type == ${r.attention}${'-'.repeat(21)}\n{${dict}}\n`;
}

/** Everything `attnbench generate` prints on stdout. */
export function formatGenerate(results: readonly GenerateResult[], printText: boolean): string {
  let out = results.map(seedBlock).join('');
  if (printText) {
    for (const r of results) {
      out += `\n${r.attention}: generated text\n`;
      r.texts.forEach((t, i) => (out += `[${i}] ${JSON.stringify(t)}\n`));
    }
  }
  return out + '\n' + markdownTable(generationTable(results)) + '\n';
}
