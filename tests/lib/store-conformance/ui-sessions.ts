// The UiSessionStore contract: a session opened through one handle is found through another (a
// restarted daemon, another rack's daemon), seen times only move forward, closing removes it, and
// opening one sweeps the stale sessions and keeps at most `max`, oldest out first.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { UiSessionRecord, UiSessionStore } from '../../../daemon/core/store/types.js';
import { withStore, type StoreFactory } from './support.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const rec = (n: number, created = n): UiSessionRecord => ({
  idDigest: n.toString(16).padStart(64, '0'), tokenDigest: 'f'.repeat(64), csrf: `csrf-${n}`, createdAt: at(created), seenAt: at(created),
});
const EPOCH = at(0);

export function describeUiSessionStore(name: string, make: StoreFactory<UiSessionStore>): void {
  describe(`UiSessionStore: ${name}`, () => {
    test('a session opened through one handle is found through another; closed, it is gone', () => withStore(make, async (store, more) => {
      await store.openUiSession(rec(1), 10, EPOCH);
      const other = await more();
      assert.deepEqual(await other.uiSession(rec(1).idDigest), rec(1));
      assert.equal(await other.uiSession(rec(2).idDigest), undefined);
      await other.closeUiSession(rec(1).idDigest);
      assert.equal(await store.uiSession(rec(1).idDigest), undefined);
      await store.closeUiSession(rec(1).idDigest); // closing twice is no error
    }));

    test('the seen time moves forward only', () => withStore(make, async (store) => {
      await store.openUiSession(rec(1), 10, EPOCH);
      await store.touchUiSession(rec(1).idDigest, at(30));
      await store.touchUiSession(rec(1).idDigest, at(20));
      assert.equal((await store.uiSession(rec(1).idDigest))!.seenAt, at(30));
    }));

    test('opening sweeps sessions not seen since staleBefore and keeps the newest max', () => withStore(make, async (store) => {
      for (let n = 1; n <= 5; n++) await store.openUiSession(rec(n, 10 + n), 3, EPOCH);
      const alive = async () => (await Promise.all([1, 2, 3, 4, 5, 6].map(async (n) => ((await store.uiSession(rec(n).idDigest)) ? n : 0)))).filter(Boolean);
      assert.deepEqual(await alive(), [3, 4, 5], 'the cap keeps the newest three');
      await store.touchUiSession(rec(3).idDigest, at(40));
      await store.openUiSession(rec(6, 50), 10, at(30));
      assert.deepEqual(await alive(), [3, 6], 'sessions last seen before 00:00:30 went');
    }));
  });
}
