/**
 * `attnbench serve [--port N] [--open]`: the benchmark page on http://127.0.0.1, served with
 * the cross-origin isolation headers (WASM threads need them). Prints the page's URL on
 * stdout and runs until interrupted.
 *
 * --port takes 0 to 65535, 0 (as leaving it out) meaning a free one: a script that starts
 * several servers asks for 0 and reads the URL. A port out of that range, one in use and one
 * this user may not listen on (below 1024 without root) are refused with one line, exit 2.
 *
 * Interrupted (Ctrl-C, SIGTERM, SIGHUP) it ends as every run does (core/cleanup.ts): one line
 * saying so, the page it built removed, and death by the same signal (the shell sees 130, 143).
 */
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { onExit } from '../core/cleanup.ts';
import { UsageError } from '../core/errors.ts';
import { logLine } from '../core/progress.ts';

/** A TCP port: 0 (a free one) to 65535. */
export function parsePort(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new UsageError(`--port: '${text}' is not a port number (0 to 65535; 0 picks a free one)`);
  const n = Number(t);
  if (n > 65535) throw new UsageError(`--port: ${t} is out of range (0 to 65535; 0 picks a free one)`);
  return n;
}

/** Hand the URL to the desktop's browser; a machine without one just gets the URL. */
function openUrl(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`attnbench: cannot open a browser (${opener} is missing); open ${url} yourself\n`));
  child.unref();
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the in-browser benchmark page on 127.0.0.1: layer sweeps and decode steps on onnxruntime-web (WASM, WebGPU), the same result files')
    .option('--port <n>', 'port, 0 to 65535 (default, or 0: a free one)', parsePort)
    .option('--open', 'open the page in the desktop browser', false)
    .action(async (flags: { port?: number; open: boolean }) => {
      // loaded here, not at start-up: the other commands need none of it
      const { pageFolder } = await import('../browser/bundle.ts');
      const { startServer } = await import('../browser/server.ts');
      const { gitCommit } = await import('../results/environment.ts');
      const page = await pageFolder({ gitCommit: gitCommit(), log: logLine });
      // the only way out is a signal: the cleanup that handles it removes the page (and installs the handler)
      onExit(() => page.dispose());
      const server = await startServer({ pageDir: page.dir, port: flags.port ?? 0 });
      process.stderr.write('serving the attnbench page (cross-origin isolated); Ctrl-C stops\n');
      process.stdout.write(`${server.url}\n`);
      if (flags.open) openUrl(server.url);
      // the listening server keeps the process alive until a signal ends it
      await new Promise<never>(() => undefined);
    });
}
