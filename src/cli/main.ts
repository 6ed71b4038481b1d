/**
 * The command line: a thin layer over the typed API. Every command's bad input ends in
 * a one-line error on stderr and exit code 2.
 */
import { Command, CommanderError } from 'commander';
import { UsageError } from '../core/errors.ts';
import { compareCommand } from './compare.ts';
import { decodeCommand } from './decode.ts';
import { generateCommand } from './generate.ts';
import { importLegacyCommand } from './import-legacy.ts';
import { layersCommand } from './layers.ts';
import { mainJobCommand } from './main-job.ts';
import { reportCommand } from './report.ts';
import { serveCommand } from './serve.ts';

export function program(): Command {
  const prog = mainJobCommand()
    .name('attnbench')
    .description('Implements and profiles multi-head, multi-query and grouped-query attention on ONNX Runtime')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .exitOverride();
  prog.addCommand(layersCommand());
  prog.addCommand(generateCommand());
  prog.addCommand(reportCommand());
  prog.addCommand(compareCommand());
  prog.addCommand(importLegacyCommand());
  prog.addCommand(decodeCommand());
  prog.addCommand(serveCommand());
  for (const c of prog.commands) c.exitOverride();
  return prog;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    // a command may fail without an error by setting the exit code (compare --fail-above: 1)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its one-line message
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`attnbench: error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
