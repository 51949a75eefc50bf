// The lease table on its own: preference order, holds that expire, leases that expire, declines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseTable } from '../../daemon/dhcp/leases.js';
import { parseRange } from '../../daemon/core/net.js';

const pool = parseRange('10.0.0.10-10.0.0.12')!;
const none = new Set<string>();
const lease = (mac: string, ip: string, expiresAt: number, state: 'bound' | 'released' = 'bound') =>
  ({ mac, ip, state, expiresAt, hostname: null, machine: null, updatedAt: 0 });

test('a client keeps its address; a requested free address is honoured', () => {
  const t = new LeaseTable();
  t.load([lease('a', '10.0.0.11', 5000)]);
  assert.equal(t.allocate('a', 'p', pool, undefined, none, 1000), '10.0.0.11');
  assert.equal(t.allocate('b', 'p', pool, '10.0.0.12', none, 1000), '10.0.0.12');
  assert.equal(t.allocate('b', 'p', pool, '10.0.0.11', none, 1000), '10.0.0.10', 'a bound address is not given away');
});

test('an OFFER hold keeps an address for its client until it expires', () => {
  const t = new LeaseTable();
  t.hold('a', '10.0.0.10', 2000);
  assert.equal(t.allocate('b', 'p', pool, '10.0.0.10', none, 1000), '10.0.0.11');
  assert.equal(t.offerOf('a', 1000), '10.0.0.10');
  assert.equal(t.offerOf('a', 2500), undefined);
  assert.equal(t.allocate('c', 'p', pool, '10.0.0.10', none, 2500), '10.0.0.10', 'expired hold is free');
});

test('never-used addresses go first, then expired or released ones; exhaustion is undefined', () => {
  const t = new LeaseTable();
  t.load([lease('old', '10.0.0.10', 500), lease('gone', '10.0.0.11', 9999, 'released')]);
  assert.equal(t.allocate('n1', 'p', pool, undefined, none, 1000), '10.0.0.12');
  t.hold('n1', '10.0.0.12', 9999);
  const second = t.allocate('n2', 'p', pool, undefined, none, 1000);
  assert.ok(second === '10.0.0.10' || second === '10.0.0.11', String(second));
  t.hold('n2', second!, 9999);
  const third = t.allocate('n3', 'p', pool, undefined, none, 1000);
  t.hold('n3', third!, 9999);
  assert.equal(t.allocate('n4', 'p', pool, undefined, none, 1000), undefined);
});

test('reserved and declined addresses are never allocated', () => {
  const t = new LeaseTable();
  t.decline('10.0.0.10', 5000);
  assert.equal(t.allocate('a', 'p', pool, '10.0.0.10', new Set(['10.0.0.11']), 1000), '10.0.0.12');
  t.sweep(6000);
  assert.equal(t.allocate('b', 'p', pool, '10.0.0.10', none, 6000), '10.0.0.10', 'the decline ran out');
});
