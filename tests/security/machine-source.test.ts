// Which addresses are a machine's own, the rule behind every boot secret (machine-source.ts).
// The attack it stops: a machine on the provisioning network sends a DHCP message claiming
// another machine's MAC from its own address. In full mode the DHCP layer records only addresses
// it assigned (boot-secrets.test.ts sends the INFORM and REQUEST for real); in proxy mode the
// address a proxyDHCP exchange came from is all Rackhand learns, so it counts only where nothing
// better is known — a reservation or a lease always wins over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { machineAddresses } from '../../daemon/http/machine-source.js';
import type { LeaseRecord } from '../../daemon/core/store/types.js';

const now = Date.parse('2026-11-30T12:00:00Z');
const seen = (ip: string, ipAssigned?: boolean) => ({ ip, ...(ipAssigned === undefined ? {} : { ipAssigned }), seenAt: new Date(now).toISOString() });
const lease = (ip: string, over: Partial<LeaseRecord> = {}): LeaseRecord =>
  ({ mac: '52:54:00:00:01:01', ip, state: 'bound', expiresAt: now + 60_000, hostname: null, machine: 'node-01', updatedAt: now, ...over });

test('a claimed address never joins a reservation (proxy mode with ip: in the inventory)', () => {
  assert.deepEqual(machineAddresses({ ip: '10.20.0.11', bootFacts: seen('10.20.0.66', false) }, undefined, now), ['10.20.0.11']);
});

test('a claimed address never joins a lease this server gave', () => {
  assert.deepEqual(machineAddresses({ ip: null, bootFacts: seen('10.20.0.66', false) }, lease('10.20.0.150'), now), ['10.20.0.150']);
});

test('with nothing better known, the address the proxyDHCP exchange came from counts', () => {
  assert.deepEqual(machineAddresses({ ip: null, bootFacts: seen('10.20.0.66', false) }, undefined, now), ['10.20.0.66']);
  assert.deepEqual(machineAddresses({ ip: null, bootFacts: seen('10.20.0.66', false) }, lease('10.20.0.150', { expiresAt: now - 1 }), now), ['10.20.0.66'], 'an expired lease is not known');
});

test('an address this server assigned counts beside the reservation; old facts without the mark are claimed', () => {
  assert.deepEqual(machineAddresses({ ip: '10.20.0.11', bootFacts: seen('10.20.0.12', true) }, undefined, now), ['10.20.0.11', '10.20.0.12']);
  assert.deepEqual(machineAddresses({ ip: '10.20.0.11', bootFacts: seen('10.20.0.12') }, undefined, now), ['10.20.0.11']);
});

test('released and declined leases are not the machine\'s', () => {
  for (const state of ['released', 'declined'] as const) {
    assert.deepEqual(machineAddresses({ ip: null, bootFacts: null }, lease('10.20.0.150', { state }), now), []);
  }
});
