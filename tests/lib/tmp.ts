// Temporary directories for tests, removed when the test process ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rackhand-${tag}-`));
  made.push(dir);
  return dir;
}

/** A temporary directory its user may remove as soon as it is done with it (a benchmark's run
 *  per server, a test's database), removed at exit otherwise. */
export function removableTempDir(tag: string): { dir: string; remove(): void } {
  const dir = tempDir(tag);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
