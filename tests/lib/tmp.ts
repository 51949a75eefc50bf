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
