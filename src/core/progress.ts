/**
 * The one progress bar (cli-progress) every long command shows on stderr, and the default
 * for its notes (`logLine`); results go to stdout, so neither ever mixes with them.
 */
import cliProgress from 'cli-progress';

export type ProgressBar = cliProgress.SingleBar;

/** A note of a long run, one line on stderr: the default `log` of the run functions. */
export const logLine = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * A bar on stderr with `format` (cli-progress tokens plus the payload fields it names), or
 * undefined when progress is off: callers write `bar?.update(...)`.
 */
export function progressBar(enabled: boolean, format: string, options: { etaBuffer?: number } = {}): ProgressBar | undefined {
  if (!enabled) return undefined;
  return new cliProgress.SingleBar(
    { stream: process.stderr, format: ` {bar} ${format}`, hideCursor: false, clearOnComplete: false, ...options },
    cliProgress.Presets.shades_classic,
  );
}
