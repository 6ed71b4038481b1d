/**
 * `attnbench serve [--port N] [--open]`: the benchmark page on http://127.0.0.1, served with
 * the cross-origin isolation headers (WASM threads need them). Prints the page's URL on
 * stdout and runs until interrupted.
 */
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { logLine } from '../core/progress.ts';
import { parsePositive } from '../config/lists.ts';

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
    .option('--port <n>', 'port (default: a free one)', parsePositive('--port'))
    .option('--open', 'open the page in the desktop browser', false)
    .action(async (flags: { port?: number; open: boolean }) => {
      // loaded here, not at start-up: the other commands need none of it
      const { pageFolder } = await import('../browser/bundle.ts');
      const { startServer } = await import('../browser/server.ts');
      const { gitCommit } = await import('../results/environment.ts');
      const page = await pageFolder({ gitCommit: gitCommit(), log: logLine });
      try {
        const server = await startServer({ pageDir: page.dir, port: flags.port ?? 0 });
        process.stderr.write('serving the attnbench page (cross-origin isolated); Ctrl-C stops\n');
        process.stdout.write(`${server.url}\n`);
        if (flags.open) openUrl(server.url);
        await new Promise<void>((resolve) => {
          for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void server.close().then(resolve));
        });
      } finally {
        page.dispose();
      }
    });
}
