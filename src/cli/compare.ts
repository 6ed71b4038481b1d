/** `attnbench compare A B [--fail-above PCT]`: B/A per configuration; a CI gate for slowdowns. */
import { Command, Option } from 'commander';
import { UsageError } from '../core/errors.ts';
import { compareRuns, formatComparison, regressions } from '../report/compare.ts';
import { loadRun } from '../report/load.ts';

const parsePercent = (text: string): number => {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) throw new UsageError(`--fail-above: '${text}' is not a percentage (e.g. 5 or 2.5)`);
  return Number(text);
};

export function compareCommand(): Command {
  return new Command('compare')
    .description('compare two result files: ratio B/A of the median times per configuration, with its 95% interval and the spread of both; configurations of another model shape or settings are listed as not comparable')
    .argument('<a>', 'the baseline result file')
    .argument('<b>', 'the result file to compare against it')
    .option('--fail-above <pct>', 'exit with status 1 when a configuration got slower beyond the noise (its whole 95% interval of B/A above 1) by more than PCT percent', parsePercent)
    .addOption(new Option('--format <fmt>', 'output format').choices(['md', 'json']).default('md'))
    .action((a: string, b: string, flags: { failAbove?: number; format: 'md' | 'json' }) => {
      const c = compareRuns(loadRun(a), loadRun(b));
      process.stdout.write(formatComparison(c, flags.format));
      if (flags.failAbove === undefined) return;
      const worse = regressions(c, flags.failAbove);
      if (worse.length) {
        process.stderr.write(
          `attnbench: ${worse.length} configuration(s) slower by more than ${flags.failAbove}% beyond the noise: ` +
            worse.map((r) => `${r.config} ${r.metric} ×${r.ratio.toFixed(3)}`).join('; ') +
            '\n',
        );
        process.exitCode = 1;
      }
    });
}
