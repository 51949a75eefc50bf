// The store conformance suites, one per port (daemon/core/store/ports.ts): what any backend must
// pass. A backend's test file calls each with a StoreFactory that opens an empty store, or another
// handle on the same data (see support.ts).
export { describeMachineStore } from './machines.js';
export { describeForgetting } from './forgetting.js';
export { describeOperationStore } from './operations.js';
export { describeLeaseStore } from './leases.js';
export { describeAllocationStore } from './allocations.js';
export { describeApiTokenStore } from './api-tokens.js';
export type { StoreFactory } from './support.js';
