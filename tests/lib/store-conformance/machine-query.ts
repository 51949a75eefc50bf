// The MachineStore.queryMachines contract (daemon/core/store/machine-query.ts): one page of live
// machines filtered by state, owner, profile, tag, arch and free text, each negatable; sorted
// with ties by name; the count over all pages; a tenant's scope that no term widens; `%` and `_`
// typed by a user taken literally. Every backend returns the same pages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MachineQuery, MachineStore, QueryTerm } from '../../../daemon/core/store/types.js';
import { move, spec, withStore, type StoreFactory } from './support.js';

const is = (value: string): QueryTerm => ({ value, negated: false });
const not = (value: string): QueryTerm => ({ value, negated: true });

/**
 * Twelve machines: node-01..06 ready (x86_64 facts), 01..03 allocated to acme (01 deploying
 * profile ubuntu), 04 to globex; 07..09 enrolled, 07 with arm64 boot facts (arch 11), 08 with
 * x86 boot facts; 10 retired; 11 named with a `%`, 12 with an `_`; tags by parity and rack.
 */
async function fleet(store: MachineStore): Promise<void> {
  const specs = Array.from({ length: 12 }, (_, i) => spec(i + 1, {
    tags: [(i + 1) % 2 ? 'odd' : 'Even', ...(i < 3 ? ['gpu'] : [])],
    ...(i === 10 && { name: 'odd%name', hostname: 'pct' }),
    ...(i === 11 && { name: 'odd_name', hostname: 'under' }),
    ...(i === 8 && { ip: null }),
  }));
  await store.syncInventory(specs, 'test');
  for (const n of ['node-01', 'node-02', 'node-03', 'node-04', 'node-05', 'node-06']) {
    await move(store, n, 'inspect');
    await store.setFacts(n, { cpus: 4, arch: 'x86_64' });
    await move(store, n, 'inspected');
  }
  for (const [n, owner] of [['node-01', 'acme'], ['node-02', 'acme'], ['node-03', 'acme'], ['node-04', 'globex']] as const) await move(store, n, 'allocate', { owner });
  await move(store, 'node-01', 'deploy', { deployProfile: 'ubuntu' });
  await store.recordBootFacts('node-07', { arch: 11, seenAt: new Date().toISOString() });
  await store.recordBootFacts('node-08', { arch: 7, seenAt: new Date().toISOString() });
  await store.syncInventory(specs.filter((s) => s.name !== 'node-10'), 'test');
}

export function describeMachineQuery(name: string, make: StoreFactory<MachineStore>): void {
  describe(`MachineStore.queryMachines: ${name}`, () => {
    const names = async (store: MachineStore, q: Partial<MachineQuery>) => (await store.queryMachines({ limit: 100, ...q })).machines.map((m) => m.name);

    test('filters by state, owner, profile, tag and arch, any case; negation keeps machines without a value; retired machines never', () => withStore(make, async (store) => {
      await fleet(store);
      assert.equal((await store.queryMachines({ limit: 100 })).total, 11, 'node-10 is retired');
      assert.deepEqual(await names(store, { state: is('Allocated') }), ['node-02', 'node-03', 'node-04']);
      assert.deepEqual(await names(store, { owner: is('ACME') }), ['node-01', 'node-02', 'node-03']);
      assert.equal((await names(store, { owner: not('acme') })).length, 8, 'machines with no owner are "not acme"');
      assert.deepEqual(await names(store, { profile: is('ubuntu') }), ['node-01'], 'the deployment\'s profile first');
      assert.equal((await names(store, { profile: is('lab-image') })).length, 10);
      assert.deepEqual(await names(store, { tag: is('gpu') }), ['node-01', 'node-02', 'node-03']);
      assert.deepEqual(await names(store, { tag: is('even') }), ['node-02', 'node-04', 'node-06', 'node-08', 'odd_name'], 'a tag in any case');
      assert.equal((await names(store, { tag: not('gpu') })).length, 8);
      assert.deepEqual(await names(store, { arch: is('aarch64') }), ['node-07'], 'from the boot facts when not inspected');
      assert.deepEqual(await names(store, { arch: is('X86_64') }), ['node-01', 'node-02', 'node-03', 'node-04', 'node-05', 'node-06', 'node-08']);
      assert.deepEqual(await names(store, { arch: not('x86_64') }), ['node-07', 'node-09', 'odd%name', 'odd_name'], 'no arch known is "not x86_64"');
      assert.deepEqual(await names(store, { state: is('ready'), tag: is('even'), arch: is('x86_64') }), ['node-06'], 'terms combine');
    }));

    test('free text: a substring of name, MAC, IP or hostname, any case; % and _ are literal; negatable', () => withStore(make, async (store) => {
      await fleet(store);
      assert.deepEqual(await names(store, { text: is('NODE-0') }), ['node-01', 'node-02', 'node-03', 'node-04', 'node-05', 'node-06', 'node-07', 'node-08', 'node-09']);
      assert.deepEqual(await names(store, { text: is('52:54:00:00:01:0A') }), [], 'node-10 is retired');
      assert.deepEqual(await names(store, { text: is('52:54:00:00:01:0b') }), ['odd%name'], 'a MAC in any case');
      assert.deepEqual(await names(store, { text: is('10.20.0.2') }), ['odd%name', 'odd_name'], 'an IP: .21 and .22 (.20 is retired)');
      assert.deepEqual(await names(store, { text: is('PCT') }), ['odd%name'], 'a hostname');
      assert.deepEqual(await names(store, { text: is('%') }), ['odd%name'], '% is a character, not "anything"');
      assert.deepEqual(await names(store, { text: is('d_n') }), ['odd_name'], '_ is a character, not "any one"');
      assert.deepEqual(await names(store, { text: is('\\') }), [], 'a backslash matches only itself');
      assert.deepEqual(await names(store, { text: not('node') }), ['odd%name', 'odd_name']);
      assert.equal((await names(store, { text: not('10.20.') })).length, 1, 'node-09 has no IP: it is "not 10.20."');
    }));

    test('sorted by each column either way, ties by name A to Z; pages with the total', () => withStore(make, async (store) => {
      await fleet(store);
      assert.deepEqual((await names(store, { sort: 'name', dir: 'desc' })).slice(0, 3), ['odd_name', 'odd%name', 'node-09']);
      const byState = await names(store, { sort: 'state' });
      assert.deepEqual(byState.slice(0, 4), ['node-02', 'node-03', 'node-04', 'node-01'], 'allocated, then deploying');
      assert.deepEqual((await names(store, { sort: 'state', dir: 'desc' })).slice(0, 2), ['node-05', 'node-06'], 'ready first, ties still A to Z');
      assert.deepEqual((await names(store, { sort: 'owner', dir: 'desc' })).slice(0, 4), ['node-04', 'node-01', 'node-02', 'node-03']);
      assert.deepEqual((await names(store, { sort: 'profile', dir: 'desc' }))[0], 'node-01');
      assert.deepEqual((await names(store, { sort: 'ip' }))[0], 'node-09', 'no IP sorts first');
      assert.deepEqual((await names(store, { sort: 'mac', dir: 'desc' }))[0], 'odd_name');
      const changed = (await store.queryMachines({ sort: 'changed', dir: 'desc', limit: 1 })).machines[0]!;
      assert.equal(changed.name, 'node-01', 'the last to change state');

      const page2 = await store.queryMachines({ sort: 'name', offset: 4, limit: 4 });
      assert.deepEqual([page2.total, page2.machines.map((m) => m.name)], [11, ['node-05', 'node-06', 'node-07', 'node-08']]);
      const beyond = await store.queryMachines({ offset: 40, limit: 4, state: is('ready') });
      assert.deepEqual([beyond.total, beyond.machines], [2, []], 'past the last page: no rows, still the count');
      assert.equal((await store.queryMachines({ limit: 0 })).machines.length, 1, 'a limit is at least 1');
    }));

    test('name: whether that one machine matches the terms (and the scope)', () => withStore(make, async (store) => {
      await fleet(store);
      assert.deepEqual(await names(store, { name: 'node-02', state: is('allocated') }), ['node-02']);
      assert.equal((await store.queryMachines({ name: 'node-02', state: is('ready'), limit: 1 })).total, 0, 'allocated is not ready');
      assert.equal((await store.queryMachines({ name: 'node-02', scopeOwner: 'globex', limit: 1 })).total, 0, 'another tenant\'s machine never matches');
      assert.equal((await store.queryMachines({ name: 'node-10', limit: 1 })).total, 0, 'a retired machine never matches');
      assert.equal((await store.queryMachines({ name: 'odd%', limit: 1 })).total, 0, 'the name is exact, not a pattern');
    }));

    test('countByState: live machines per state by one grouped query; a tenant\'s scope counts only its own', () => withStore(make, async (store) => {
      await fleet(store);
      assert.deepEqual(await store.countByState(), { ready: 2, allocated: 3, deploying: 1, enrolled: 5 }, 'node-10 is retired: not counted');
      assert.deepEqual(await store.countByState({ scopeOwner: 'acme' }), { allocated: 2, deploying: 1 });
      assert.deepEqual(await store.countByState({ scopeOwner: 'globex' }), { allocated: 1 });
      assert.deepEqual(await store.countByState({ scopeOwner: 'nobody' }), {});
      const all = await store.queryMachines({ limit: 1 });
      assert.equal(Object.values(await store.countByState()).reduce((a, b) => a + b, 0), all.total, 'the counts add up to the list\'s total');
    }));

    test('a tenant\'s scope holds whatever its terms say', () => withStore(make, async (store) => {
      await fleet(store);
      assert.deepEqual(await names(store, { scopeOwner: 'acme' }), ['node-01', 'node-02', 'node-03']);
      assert.deepEqual(await names(store, { scopeOwner: 'acme', owner: is('globex') }), []);
      assert.deepEqual(await names(store, { scopeOwner: 'acme', owner: not('acme') }), []);
      assert.deepEqual(await names(store, { scopeOwner: 'acme', text: not('zzz') }), ['node-01', 'node-02', 'node-03']);
      assert.equal((await store.queryMachines({ scopeOwner: 'nobody', limit: 10 })).total, 0);
    }));
  });
}
