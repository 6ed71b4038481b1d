/** `attnbench decode`: flags → `runDecode` → the table on stdout; a journal beside `--out`, `--resume`, one run per output. */
import { Command, Option } from 'commander';
import { DecodeConfig } from '../config/decode.ts';
import { logLine } from '../core/progress.ts';
import { parsePositiveOrAuto } from '../config/lists.ts';
import { runDecode } from '../commands/run-decode.ts';
import { acquireLock } from '../results/lock.ts';
import { checkDecodeOutputs } from '../results/outputs.ts';
import { decodeTable } from '../results/tables.ts';
import { formatTable, TABLE_FORMATS, type TableFormat } from '../table/table.ts';
import { quickProbes } from './env.ts';
import { addJournalOptions } from './layers.ts';
import { addConfigOptions, configFromFlags } from './options.ts';

export function decodeCommand(): Command {
  const cmd = new Command('decode').description(
    'compare one decode step of attention types side by side (a GPT-2-style decoder, random weights, a filled KV cache) at each batch and context, the types alternating',
  );
  addJournalOptions(
    addConfigOptions(cmd, DecodeConfig, { repeats: { value: '<n|auto>', parse: parsePositiveOrAuto('--repeats') } })
      .addOption(new Option('--format <fmt>', 'table format on stdout').choices(TABLE_FORMATS).default('md'))
      .option('--out <file>', 'write the JSON result file (attnbench/decode@1; atomically, a journal beside it while running)')
      .option('--no-progress', 'no progress bar on stderr'),
  ).action(async (flags: { format: TableFormat; out?: string; progress: boolean; resume: boolean; overwrite: boolean }) => {
    const config = configFromFlags(DecodeConfig, flags);
    // an output that cannot be written, or a finished file about to be replaced, is refused before the work, not after it
    checkDecodeOutputs(flags.out, flags.overwrite);
    // one run per output: a second one on the same file (by any path to it) is refused while this one holds it
    const lock = flags.out === undefined ? undefined : acquireLock(flags.out, { log: logLine });
    try {
      const options = { ...(flags.out !== undefined ? { out: flags.out } : {}), resume: flags.resume, overwrite: flags.overwrite, progress: flags.progress, quickCeilings: quickProbes() };
      const file = await runDecode(config, options);
      process.stdout.write(formatTable(decodeTable(file.results), flags.format));
      if (flags.out !== undefined) process.stderr.write(`wrote ${flags.out}\n`);
      if (file.failures.length) process.stderr.write(`${file.failures.length} configuration(s) failed; see "failures" in the result\n`);
    } finally {
      lock?.release();
    }
  });
  return cmd;
}
