/** `attnbench report FILE... [--out DIR]`: charts, an HTML page and a markdown summary. */
import { Command } from 'commander';
import { logLine } from '../core/progress.ts';

export function reportCommand(): Command {
  return new Command('report')
    .description('draw layer and generation result files (merged) as SVG/PNG charts, a self-contained index.html and summary.md')
    .argument('<files...>', 'result files (layers or generate JSON, or a sweep journal .jsonl)')
    .option('--out <dir>', 'output folder', 'report')
    .action(async (files: string[], flags: { out: string }) => {
      // loaded here, not at start-up: the charting libraries cost every other command ~0.3 s
      const { report } = await import('../report/report.ts');
      const index = await report(files, flags.out, { log: logLine });
      process.stderr.write(`wrote the report to ${flags.out}\n`);
      // the page's path alone on stdout, for scripts (e.g. xdg-open "$(attnbench report ...)")
      process.stdout.write(`${index}\n`);
    });
}
