import { test } from 'node:test';
import assert from 'node:assert/strict';
import { match, misses, sizeOf, type Candidate } from '../../daemon/core/allocation.js';

const GIB = 1024 ** 3;
const m = (name: string, cpus: number, memGib: number, diskGib: number[], tags: string[] = [], arch = 'x86_64'): Candidate => ({
  name, tags,
  facts: { cpus, memory_mib: memGib * 1024, arch, disks: diskGib.map((g) => ({ size_bytes: g * GIB })), nics: [] },
});

const POOL = [
  m('big-01', 64, 512, [2000, 4000], ['gpu']),
  m('mid-02', 16, 64, [500]),
  m('mid-01', 16, 64, [500]),
  m('small-01', 4, 8, [100]),
  m('arm-01', 32, 128, [1000], [], 'aarch64'),
];
const names = (r: ReturnType<typeof match>) => (r.ok ? r.machines.map((x) => x.name) : r.message);

test('sizes come from the inspected facts: memory in GiB, the largest disk', () => {
  assert.deepEqual(sizeOf(POOL[0]!), { cpus: 64, memory_gib: 512, disk_gib: 4000, arch: 'x86_64' });
  assert.deepEqual(sizeOf({ name: 'x', tags: [], facts: null }), { cpus: undefined, memory_gib: undefined, disk_gib: undefined, arch: undefined });
});

test('best fit: the smallest machine that meets every constraint', () => {
  assert.deepEqual(names(match(POOL, {})), ['small-01']);
  assert.deepEqual(names(match(POOL, { cpus: 8 })), ['mid-01']);
  assert.deepEqual(names(match(POOL, { memory_gib: 100 })), ['arm-01']);
  assert.deepEqual(names(match(POOL, { memory_gib: 100, arch: 'x86_64' })), ['big-01']);
  assert.deepEqual(names(match(POOL, { disk_gib: 3000 })), ['big-01'], 'the largest disk counts, not the first');
  assert.deepEqual(names(match(POOL, { tags: ['gpu'] })), ['big-01']);
  assert.deepEqual(names(match(POOL, { cpus: 4, memory_gib: 8, disk_gib: 100, arch: 'x86_64' })), ['small-01'], 'limits are inclusive');
});

test('ties are broken by name; count takes the next smallest, all or nothing', () => {
  assert.deepEqual(names(match(POOL, { cpus: 16, arch: 'x86_64' })), ['mid-01']);
  assert.deepEqual(names(match(POOL, { cpus: 16, arch: 'x86_64' }, 2)), ['mid-01', 'mid-02']);
  assert.deepEqual(names(match(POOL, { cpus: 16, arch: 'x86_64' }, 3)), ['mid-01', 'mid-02', 'big-01']);
  const four = match(POOL, { cpus: 16, arch: 'x86_64' }, 4);
  assert.equal(four.ok, false);
  if (four.ok) return;
  assert.deepEqual([four.unmet.constraint, four.fitting, four.ready], ['count', 3, 5]);
  assert.equal(four.message, 'only 3 ready machines of 5 meet the constraints; 4 asked');
});

test('each constraint that no ready machine meets is named, with the most any machine has', () => {
  const cases: [Parameters<typeof match>[1], string, string | null, string][] = [
    [{ cpus: 128 }, 'cpus', '64', 'no ready machine meets cpus >= 128 (the most any has: 64); 1 machine came closest, missing only cpus'],
    [{ memory_gib: 1024 }, 'memory_gib', '512', 'no ready machine meets memory_gib >= 1024 (the most any has: 512); 1 machine came closest, missing only memory_gib'],
    [{ disk_gib: 8000 }, 'disk_gib', '4000', 'no ready machine meets disk_gib >= 8000 (the most any has: 4000); 1 machine came closest, missing only disk_gib'],
    [{ arch: 'riscv64' }, 'arch', 'aarch64, x86_64', 'no ready machine meets arch = riscv64 (the most any has: aarch64, x86_64); 5 machines came closest, missing only arch'],
    [{ tags: ['fpga'] }, 'tags', '0 of 1 tags', 'no ready machine meets tags include fpga (the most any has: 0 of 1 tags); 5 machines came closest, missing only tags'],
  ];
  for (const [want, constraint, best, message] of cases) {
    const r = match(POOL, want);
    assert.equal(r.ok, false, constraint);
    if (r.ok) continue;
    assert.equal(r.unmet.constraint, constraint);
    assert.equal(r.unmet.best, best);
    assert.equal(r.message, message);
  }
  // 128 cpus is met by no one, so that is the constraint to relax even though everyone misses arch too.
  const r = match(POOL, { cpus: 128, arch: 'riscv64' });
  assert.ok(!r.ok && r.unmet.constraint === 'cpus');
});

test('when every constraint is met by someone but no machine meets all, the closest machines are counted', () => {
  // gpu: only big-01; aarch64: only arm-01. Each machine misses at least one.
  const r = match(POOL, { tags: ['gpu'], arch: 'aarch64' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.closest, 2, 'big-01 misses arch only, arm-01 misses tags only');
  assert.equal(r.unmet.constraint, 'arch');
  assert.match(r.message, /^no ready machine meets every constraint; arch = aarch64 is missed most; 2 machines came closest, missing only arch, tags$/);
});

test('machines without facts match no size constraint; an empty pool says so', () => {
  const bare: Candidate = { name: 'bare', tags: ['gpu'], facts: null };
  assert.deepEqual(misses(bare, { cpus: 1, tags: ['gpu'] }), ['cpus']);
  assert.deepEqual(names(match([bare], { tags: ['gpu'] })), ['bare']);
  const none = match([], { cpus: 1 });
  assert.ok(!none.ok && none.message === 'no machine is ready' && none.unmet.constraint === 'count');
});

test('after a lost race, equal machines come in the request\'s own random order; sizes still first', async () => {
  const { bySizeThenRank } = await import('../../daemon/core/allocation.js');
  const pool = [m('n-01', 4, 8, [100]), m('n-02', 4, 8, [100]), m('n-03', 4, 8, [100]), m('big', 64, 8, [100])];
  const rank = (order: string[]) => (name: string) => order.indexOf(name);
  assert.deepEqual(names(match(pool, {}, 4, bySizeThenRank(rank(['big', 'n-03', 'n-01', 'n-02'])))), ['n-03', 'n-01', 'n-02', 'big']);
  assert.deepEqual(names(match(pool, {}, 1, bySizeThenRank(rank(['n-02', 'n-01', 'n-03'])))), ['n-02']);
});
