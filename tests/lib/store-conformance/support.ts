// What the store conformance suites share: how a backend is handed to them, and the few moves
// that set a machine up through the ports alone (the lifecycle engine and the operation plan are
// core's pure functions, called as core calls them).
import assert from 'node:assert/strict';
import { applyEvent, type EventArgs, type LifecycleEvent } from '../../../daemon/core/lifecycle.js';
import { withOperationPlan } from '../../../daemon/core/operation-plan.js';
import { spec } from '../machines.js';
import type { LeaseRecord, MachineStore, TransitionResult } from '../../../daemon/core/store/types.js';

export interface Closable {
  close(): Promise<void>;
}

/**
 * Opens a store for one test: with no argument, an empty one of its own; given a store it opened
 * before, another handle (a connection, a process's view) on that same data. Suites close every
 * store they get.
 */
export type StoreFactory<S> = (sameDataAs?: Closable) => Promise<S & Closable>;

/** Runs `fn` with a fresh store, closing it (and any handle opened meanwhile) after. */
export async function withStore<S>(make: StoreFactory<S>, fn: (s: S & Closable, more: () => Promise<S & Closable>) => Promise<void>): Promise<void> {
  const store = await make();
  const opened: Closable[] = [store];
  const more = async () => { const s = await make(store); opened.push(s); return s; };
  try {
    await fn(store, more);
  } finally {
    for (const s of opened.reverse()) await s.close();
  }
}

export { spec };

export const discoveredName = (mac: string) => `discovered-${mac.replace(/:/g, '')}`;

export { discoveredSpec } from '../../../daemon/core/names.js';

export const lease = (mac: string, ip: string, over: Partial<LeaseRecord> = {}): LeaseRecord => ({
  mac, ip, state: 'bound', expiresAt: Date.now() + 3_600_000, hostname: null, machine: null, updatedAt: Date.now(), ...over,
});

/** Applies `event` to the machine as it is now, with core's plan; returns the store's answer. */
export async function attempt(store: MachineStore, name: string, event: LifecycleEvent, args: EventArgs & { deployProfile?: string } = {}): Promise<TransitionResult> {
  const m = await store.getMachine(name);
  assert.ok(m, `no machine ${name}`);
  const { deployProfile, ...eventArgs } = args;
  return store.transition(withOperationPlan({
    machine: name, outcome: applyEvent(m, event, eventArgs), cause: `test ${event}`, actor: 'test',
    ...(deployProfile !== undefined && { deployProfile }),
  }));
}

/** As attempt(), and the transition must win. */
export async function move(store: MachineStore, name: string, event: LifecycleEvent, args: EventArgs & { deployProfile?: string } = {}) {
  const r = await attempt(store, name, event, args);
  assert.ok(r.ok, `${name}: ${event} lost its compare-and-set`);
  return r;
}

/** Inventory machines 1..n, inspected into ready. */
export async function readyMachines(store: MachineStore, n: number): Promise<string[]> {
  const specs = Array.from({ length: n }, (_, i) => spec(i + 1));
  await store.syncInventory(specs, 'test');
  for (const s of specs) {
    await move(store, s.name, 'inspect');
    await move(store, s.name, 'inspected');
  }
  return specs.map((s) => s.name);
}
