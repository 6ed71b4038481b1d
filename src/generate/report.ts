/**
 * Printing a generation comparison: per attention type the seed's dict line (same field
 * names, Python's repr style), then a summary table with the speedups against multi-head.
 */
import type { GenerateResult } from '../results/schema.ts';

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

const f = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? '' : v.toFixed(d));
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/** Markdown summary: one row per attention type. */
export function generateTable(results: readonly GenerateResult[]): string {
  const head = [
    'attention',
    'kv heads',
    'params (M)',
    'prefill ms',
    'decode ms/step',
    '± sd',
    'n',
    'floor ms',
    '× floor',
    `ms @ max ctx`,
    'tok/s',
    'KV MiB (meas / pred)',
    'beam reorder ms',
    '× vs MHA step',
    '× @ max ctx',
    '× generate',
  ];
  const rows = results.map((r) => [
    r.attention,
    r.kvHeads,
    (r.parameters / 1e6).toFixed(2),
    f(r.prefillMs.median),
    f(r.decodeMsPerToken.median, 3),
    f(r.decodeMsPerToken.stddev, 3),
    r.decodeMsPerToken.n,
    f(r.floorMs, 3),
    f(r.vsFloor),
    r.atMaxContext ? `${f(r.atMaxContext.ms, 3)} @ ${r.atMaxContext.context}` : '',
    f(r.tokensPerSecond, 1),
    `${mib(r.kvCacheBytes.measured)} / ${mib(r.kvCacheBytes.predicted)}`,
    r.num_beams > 1 ? f(r.beamReorderMs, 1) : '',
    f(r.speedupVsMha),
    f(r.speedupVsMhaAtMaxContext),
    f(r.generateSpeedupVsMha),
  ]);
  const line = (cells: readonly unknown[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
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
  return out + '\n' + generateTable(results);
}
