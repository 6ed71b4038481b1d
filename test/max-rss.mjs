// Preloaded into every node process of a command a test runs (NODE_OPTIONS=--import, by
// test/report-large.test.ts), so a test can bound the memory of the real command, launcher
// and worker alike: as each process exits it writes its peak resident set, in bytes, to
// $ATTNBENCH_TEST_MAXRSS_DIR/<pid>. Plain JavaScript: the compiled CLI loads it without tsx.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.ATTNBENCH_TEST_MAXRSS_DIR;
if (dir) process.on('exit', () => fs.writeFileSync(path.join(dir, String(process.pid)), String(process.resourceUsage().maxRSS * 1024)));
