// The store conformance suites, one per port (daemon/core/store/ports.ts): what any backend must
// pass. A backend's test file names where its data lives and how to open a store there
// (storeFactory), and runs every suite with describeStore.
import type { Store } from '../../../daemon/core/store/types.js';
import { describeMachineStore } from './machines.js';
import { describeMachineQuery } from './machine-query.js';
import { describeForgetting } from './forgetting.js';
import { describeOperationStore } from './operations.js';
import { describeLeaseStore } from './leases.js';
import { describeAllocationStore } from './allocations.js';
import { describeApiTokenStore } from './api-tokens.js';
import { describeRackStore } from './racks.js';
import { describeBootTraceStore } from './boot-trace.js';
import { describeUiSessionStore } from './ui-sessions.js';
import type { StoreFactory } from './support.js';

export { describeMachineStore, describeMachineQuery, describeForgetting, describeOperationStore, describeLeaseStore, describeAllocationStore, describeApiTokenStore, describeRackStore, describeBootTraceStore, describeUiSessionStore };
export type { StoreFactory };

/**
 * A factory over a backend's places for data (a file, a database): each call without an argument
 * opens a store on a new place; given a store it opened, another handle on that one's place.
 */
export function storeFactory<P>(newPlace: () => P | Promise<P>, open: (place: P) => Promise<Store>): StoreFactory<Store> {
  const places = new WeakMap<object, P>();
  return async (sameDataAs) => {
    const known = sameDataAs ? places.get(sameDataAs) : undefined;
    const place = known !== undefined ? known : await newPlace();
    const store = await open(place);
    places.set(store, place);
    return store;
  };
}

/** Every port's suite against one backend. */
export function describeStore(label: string, factory: StoreFactory<Store>): void {
  describeMachineStore(label, factory);
  describeMachineQuery(label, factory);
  describeForgetting(label, factory);
  describeOperationStore(label, factory);
  describeLeaseStore(label, factory);
  describeAllocationStore(label, factory);
  describeApiTokenStore(label, factory);
  describeRackStore(label, factory);
  describeBootTraceStore(label, factory);
  describeUiSessionStore(label, factory);
}
