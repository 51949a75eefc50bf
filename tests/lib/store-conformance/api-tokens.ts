// The ApiTokenStore contract: a tenant token is found by its digest (the secret is never given to
// the store), names and digests are unique, revoking is once and keeps the row, expiry is stored
// and judged by the caller (api/authenticate.ts), a use is recorded where it is told.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiTokenStore } from '../../../daemon/core/store/types.js';
import { withStore, type StoreFactory } from './support.js';

const token = (name: string, owner = 'acme', over: { expiresAt?: string | null } = {}) =>
  ({ name, owner, digest: `digest-of-${name}`, createdBy: 'operator:admin', ...over });

export function describeApiTokenStore(name: string, make: StoreFactory<ApiTokenStore>): void {
  describe(`ApiTokenStore: ${name}`, () => {
    test('a token is created whole and found by its digest; unknown digests find nothing', () => withStore(make, async (store) => {
      const rec = await store.createApiToken(token('ci'));
      assert.deepEqual([rec.name, rec.owner, rec.digest, rec.createdBy, rec.expiresAt, rec.revokedAt, rec.lastUsedAt],
        ['ci', 'acme', 'digest-of-ci', 'operator:admin', null, null, null]);
      assert.ok(!Number.isNaN(Date.parse(rec.createdAt)));
      assert.deepEqual(await store.apiTokenByDigest('digest-of-ci'), rec);
      assert.equal(await store.apiTokenByDigest('digest-of-nothing'), undefined);
    }));

    test('names and digests are unique: a clash is refused and changes nothing', () => withStore(make, async (store) => {
      const rec = await store.createApiToken(token('ci'));
      await assert.rejects(store.createApiToken({ ...token('ci', 'other'), digest: 'another-digest' }));
      await assert.rejects(store.createApiToken({ ...token('other'), digest: rec.digest }));
      assert.deepEqual(await store.listApiTokens(), [rec]);
    }));

    test('listed by name, for one owner or all', () => withStore(make, async (store) => {
      for (const [n, o] of [['zz', 'acme'], ['aa', 'zeta'], ['mm', 'acme']] as const) await store.createApiToken(token(n, o));
      assert.deepEqual((await store.listApiTokens()).map((t) => t.name), ['aa', 'mm', 'zz']);
      assert.deepEqual((await store.listApiTokens({ owner: 'acme' })).map((t) => t.name), ['mm', 'zz']);
      assert.deepEqual(await store.listApiTokens({ owner: 'nobody' }), []);
    }));

    test('revoked once: the row stays, still found by digest, the first revocation time kept', () => withStore(make, async (store) => {
      await store.createApiToken(token('ci'));
      const revoked = (await store.revokeApiToken('ci'))!;
      assert.ok(revoked.revokedAt);
      assert.deepEqual(await store.apiTokenByDigest('digest-of-ci'), revoked, 'the caller says it was revoked');
      await new Promise((r) => setTimeout(r, 5));
      assert.equal((await store.revokeApiToken('ci'))?.revokedAt, revoked.revokedAt);
      assert.equal(await store.revokeApiToken('nobody'), undefined);
    }));

    test('expiry is stored as given and the token is still found once expired: the caller judges it', () => withStore(make, async (store) => {
      const past = '2020-01-01T00:00:00.000Z';
      await store.createApiToken(token('old', 'acme', { expiresAt: past }));
      await store.createApiToken(token('new', 'acme', { expiresAt: '2999-01-01T00:00:00.000Z' }));
      assert.equal((await store.apiTokenByDigest('digest-of-old'))?.expiresAt, past);
      assert.equal((await store.apiTokenByDigest('digest-of-new'))?.expiresAt, '2999-01-01T00:00:00.000Z');
    }));

    test('a use is recorded at the time given; touching an unknown name is harmless', () => withStore(make, async (store) => {
      await store.createApiToken(token('ci'));
      await store.touchApiToken('ci', '2024-05-01T10:00:00.000Z');
      assert.equal((await store.apiTokenByDigest('digest-of-ci'))?.lastUsedAt, '2024-05-01T10:00:00.000Z');
      await store.touchApiToken('ci', '2024-05-01T10:01:00.000Z');
      assert.equal((await store.apiTokenByDigest('digest-of-ci'))?.lastUsedAt, '2024-05-01T10:01:00.000Z');
      await store.touchApiToken('nobody', '2024-05-01T10:00:00.000Z');
      assert.equal((await store.listApiTokens()).length, 1);
    }));
  });
}
