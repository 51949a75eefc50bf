// Golden files: a committed text a test's output must equal. A missing golden file fails the test
// (a test that wrote it would pass on a fresh clone and check nothing); UPDATE_GOLDEN=1 writes
// every golden file a test compares with, after a deliberate change, for review in the diff.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Whether this run rewrites golden files instead of comparing with them. */
export const UPDATING_GOLDEN = process.env.UPDATE_GOLDEN === '1';

/** Asserts that `text` equals the golden file at `path` (written instead under UPDATE_GOLDEN=1). */
export function assertGolden(path: string | URL, text: string, testFile: string | URL): void {
  const file = path instanceof URL ? fileURLToPath(path) : path;
  if (UPDATING_GOLDEN) writeFileSync(file, text);
  if (!existsSync(file)) {
    const test = relative(REPO, testFile instanceof URL || testFile.startsWith('file:') ? fileURLToPath(testFile) : testFile);
    assert.fail(`golden file ${relative(REPO, file)} is missing: write it with ` +
      `UPDATE_GOLDEN=1 node --import tsx --test ${test}, check it and commit it`);
  }
  assert.equal(text, readFileSync(file, 'utf8'), `differs from the golden file ${relative(REPO, file)} (UPDATE_GOLDEN=1 rewrites it after a deliberate change)`);
}
