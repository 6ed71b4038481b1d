/**
 * How the command line ends on an error: one line on stderr, never a stack trace. Bad input
 * (a UsageError) is exit 2, and so is a fault of the machine the run met (a disk full, a
 * folder it may not write, no file handles left), named as such; commander's own messages
 * (already printed) are exit 2, or 0 for --help and --version; anything else is a bug,
 * reported as one line asking for a report, exit 1 (ATTNBENCH_DEBUG=1 adds the stack).
 */
import { CommanderError } from 'commander';
import { UsageError } from '../core/errors.ts';

/** A message on one line (line breaks joined), so that no error spreads over the terminal. */
export const oneLine = (s: string) => s.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ').trim();

/** Print what `e` means for the user (one line) and return the exit status. */
export function failWith(e: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (e instanceof CommanderError) {
    // commander has already printed its one-line message
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof UsageError) {
    write(`attnbench: error: ${oneLine(e.message)}\n`);
    return 2;
  }
  const fault = systemFault(e);
  if (fault) {
    write(`attnbench: error: ${oneLine(fault)}\n`);
    return 2;
  }
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  write(
    `attnbench: unexpected error: ${oneLine(what).slice(0, 500)} ` +
      '(a bug in attnbench: please report it with the command you ran; ATTNBENCH_DEBUG=1 shows where it happened)\n',
  );
  if (process.env.ATTNBENCH_DEBUG && e instanceof Error && e.stack) write(e.stack + '\n');
  return 1;
}

/** The system's faults a run can meet through no bug of its own, and what each means. */
const FAULTS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'a read-only file system',
  EACCES: 'no permission',
  EPERM: 'not permitted',
  EMFILE: 'this process has no file handles left (ulimit -n)',
  ENFILE: 'the system has no file handles left',
  ENOMEM: 'out of memory',
};

/** One line for an error the machine raised (a full disk, a missing permission), naming the operation and the path; null for anything else. */
function systemFault(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException | null;
  const meaning = typeof err?.code === 'string' ? FAULTS[err.code] : undefined;
  if (!meaning) return null;
  const where = [err!.syscall, err!.path].filter(Boolean).join(' ');
  return `${where ? `${where}: ` : ''}${meaning} (${err!.code})`;
}
