/** `attnbench decode`: flags → `runDecode` → the table on stdout. */
import { Command, Option } from 'commander';
import { DecodeConfig } from '../config/decode.ts';
import { checkOutputFile } from '../core/outputs.ts';
import { parsePositiveOrAuto } from '../config/lists.ts';
import { runDecode } from '../profile/run-decode.ts';
import { decodeTable } from '../results/tables.ts';
import { formatTable, TABLE_FORMATS, type TableFormat } from '../table/table.ts';
import { quickProbes } from './env.ts';
import { addConfigOptions, configFromFlags } from './options.ts';

export function decodeCommand(): Command {
  const cmd = new Command('decode').description(
    'compare one decode step of attention types side by side (a GPT-2-style decoder, random weights, a filled KV cache) at each batch and context, the types alternating',
  );
  addConfigOptions(cmd, DecodeConfig, { repeats: { value: '<n|auto>', parse: parsePositiveOrAuto('--repeats') } })
    .addOption(new Option('--format <fmt>', 'table format on stdout').choices(TABLE_FORMATS).default('md'))
    .option('--out <file>', 'write the JSON result file (attnbench/decode@1)')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (flags: { format: TableFormat; out?: string; progress: boolean }) => {
      // an output that cannot be written is refused before the work, not after it
      if (flags.out !== undefined) checkOutputFile('--out', flags.out);
      const file = await runDecode(configFromFlags(DecodeConfig, flags), { ...(flags.out ? { out: flags.out } : {}), progress: flags.progress, quickCeilings: quickProbes() });
      process.stdout.write(formatTable(decodeTable(file.results), flags.format));
      if (flags.out) process.stderr.write(`wrote ${flags.out}\n`);
      if (file.failures.length) process.stderr.write(`${file.failures.length} configuration(s) failed; see "failures" in the result\n`);
    });
  return cmd;
}
