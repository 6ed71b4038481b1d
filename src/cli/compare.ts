/** `attnbench compare A B [--fail-above PCT]`: B/A per configuration; a CI gate for slowdowns that fails closed (nothing compared, or a ratio it cannot compute, fails it). */
import { Command, Option } from 'commander';
import { UsageError } from '../core/errors.ts';
import { compareRuns, formatComparison, gateFailure } from '../report/compare.ts';
import { loadRun } from '../report/load.ts';
import { oneLine } from './fail.ts';

const parsePercent = (text: string): number => {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) throw new UsageError(`--fail-above: '${text}' is not a percentage (e.g. 5 or 2.5)`);
  return Number(text);
};

export function compareCommand(): Command {
  return new Command('compare')
    .description('compare two result files: ratio B/A of the median times per configuration, with its 95% interval and the spread of both; configurations of another model shape or settings are listed as not comparable')
    .argument('<a>', 'the baseline result file')
    .argument('<b>', 'the result file to compare against it')
    .option(
      '--fail-above <pct>',
      'exit with status 1 when a configuration got slower beyond the noise (its whole 95% interval of B/A above 1) by more than PCT percent, when a ratio cannot be computed, or when nothing was compared',
      parsePercent,
    )
    .addOption(new Option('--format <fmt>', 'output format').choices(['md', 'json']).default('md'))
    .action((a: string, b: string, flags: { failAbove?: number; format: 'md' | 'json' }) => {
      const c = compareRuns(loadRun(a), loadRun(b));
      process.stdout.write(formatComparison(c, flags.format));
      if (flags.failAbove === undefined) return;
      const failure = gateFailure(c, flags.failAbove);
      if (failure !== null) {
        // one line, whatever a variant's name holds
        process.stderr.write(`attnbench: ${oneLine(failure)}\n`);
        process.exitCode = 1;
      }
    });
}
