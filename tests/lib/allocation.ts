// A rack for allocation tests: extra machines appended to a copy of the inventory, driven to
// `ready` with inspected facts through the lifecycle (inspect → facts → inspected), as the agent
// would, without booting anything.
import { appendFileSync } from 'node:fs';
import { act } from '../../daemon/core/actions.js';
import type { Store } from '../../daemon/core/store/types.js';
import { inventoryCopy, startTestDaemon, type TestDaemon } from './daemon.js';

export interface RackMachine {
  name: string;
  cpus: number;
  memoryGib: number;
  diskGib: number;
  tags?: string[];
  arch?: string;
}

/**
 * An inventory copy with these machines added (manual power, MACs from 52:54:00:00:02:20,
 * addresses from 10.20.0.20 up to the pool at .100; the rest, as in bench/alloc, get none).
 */
export function rackInventory(machines: RackMachine[]): string {
  const file = inventoryCopy();
  const lines = machines.map((m, i) => {
    const n = 0x220 + i;
    const mac = `52:54:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
    const ip = 20 + i < 100 ? `    ip: 10.20.0.${20 + i}\n` : '';
    return `  - name: ${m.name}\n    mac: ${mac}\n${ip}    profile: lab-image\n    tags: [${(m.tags ?? []).join(', ')}]\n    power: { driver: manual }\n`;
  });
  appendFileSync(file, lines.join(''));
  return file;
}

export async function makeReady(store: Store, machines: RackMachine[]): Promise<void> {
  for (const m of machines) {
    await act(store, { machine: m.name, event: 'inspect', actor: 'test' });
    await store.setFacts(m.name, {
      cpus: m.cpus, memory_mib: m.memoryGib * 1024, arch: m.arch ?? 'x86_64',
      disks: [{ name: 'sda', size_bytes: m.diskGib * 1024 ** 3 }], nics: [],
    });
    await act(store, { machine: m.name, event: 'inspected', actor: 'agent' });
  }
}

/** A daemon whose inventory is `machines`, every one of them inspected and ready. */
export async function startReadyRack(machines: RackMachine[]): Promise<TestDaemon> {
  const d = await startTestDaemon({ inventoryFile: rackInventory(machines) });
  await makeReady(d.daemon.store, machines);
  return d;
}

/** Drives a deploying machine to deployed (the deployed system phoning home). */
export async function phoneHome(store: Store, name: string): Promise<void> {
  await act(store, { machine: name, event: 'deployed', actor: 'agent' });
}

/** The agent reporting the disks erased (no auto-redeploy). */
export async function erased(store: Store, name: string): Promise<void> {
  await act(store, { machine: name, event: 'erased', actor: 'agent' });
}

export async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} } as { status: number; body: any };
}

/** Two machines tagged for the dashboard tests' tenants acme and globex (see tenantsWithAllocations). */
export const TENANT_MACHINES: RackMachine[] = [
  { name: 'web-01', cpus: 8, memoryGib: 32, diskGib: 100, tags: ['acme'] },
  { name: 'web-02', cpus: 8, memoryGib: 32, diskGib: 100, tags: ['globex'] },
];

/**
 * A tenant token for each owner, and one allocation of lab-image for each, of the machines tagged
 * with the owner's name (deploying then): the dashboard tests' tenants. The secrets by owner.
 */
export async function tenantsWithAllocations(d: TestDaemon, owners: string[]): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  for (const owner of owners) {
    const t = await call(d.url, d.tokens.admin, 'POST', '/api/v1/tokens', { owner });
    if (t.status !== 201) throw new Error(`tokens create ${owner}: ${t.status} ${JSON.stringify(t.body)}`);
    secrets[owner] = t.body.secret;
    const a = await call(d.url, d.tokens.admin, 'POST', '/api/v1/allocations', { owner, profile: 'lab-image', constraints: { tags: [owner] } });
    if (a.status !== 201) throw new Error(`allocate for ${owner}: ${a.status} ${JSON.stringify(a.body)}`);
  }
  return secrets;
}
