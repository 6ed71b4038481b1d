/**
 * Files as the project writes and reads them: written atomically (a temporary file in the
 * same folder, then a rename: readers see the old file or the whole new one), and read
 * with errors that name the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors.ts';

/** Write `data` to `file` atomically, creating its folder. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** The text of `file`; a file that cannot be read is a UsageError naming it and the reason. */
export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Parse `file` (or its already-read `text`) as JSON; errors name the file. */
export function readJson(file: string, text = readText(file)): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not JSON${text.trim() ? '' : ' (empty file)'}`);
  }
}
