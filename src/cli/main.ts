/**
 * The command line: a thin layer over the typed API. Every command's bad input ends in
 * a one-line error on stderr and exit code 2. An error nobody expected (a bug) ends in one
 * line too, with exit code 1 and a request to report it; ATTNBENCH_DEBUG=1 adds its stack.
 */
import { Command } from 'commander';
import { compareCommand } from './compare.ts';
import { decodeCommand } from './decode.ts';
import { failWith, oneLine } from './fail.ts';
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
  // commander's errors on one line too: an unknown flag's "(Did you mean --profile-runs?)" is printed on a second line otherwise
  const output = { outputError: (text: string, write: (t: string) => void) => write(`${oneLine(text)}\n`) };
  prog.configureOutput(output);
  for (const c of prog.commands) c.exitOverride().configureOutput(output);
  return prog;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    // a command may fail without an error by setting the exit code (compare --fail-above: 1)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return failWith(e);
  }
}

// errors raised outside the command's promise (a callback, a stream) end the same way
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (e: unknown) => process.exit(failWith(e)));
}

process.exitCode = await main(process.argv.slice(2));
