// The store conformance suites (tests/lib/store-conformance/) against PostgreSQL: a throwaway
// cluster from Debian's packages for this process (tests/lib/postgres.ts), a fresh database per
// store, and another handle a second pool on that database. What only PostgreSQL promises
// (its migrations, two daemons starting at once) is in store-postgres.test.ts.
import { after, before } from 'node:test';
import { openPostgresStore } from '../../daemon/core/store/postgres.js';
import type { Store } from '../../daemon/core/store/types.js';
import {
  describeAllocationStore, describeApiTokenStore, describeForgetting, describeLeaseStore, describeMachineStore,
  describeOperationStore, type StoreFactory,
} from '../lib/store-conformance/index.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';

let cluster: PgCluster;
before(async () => { cluster = await startPostgres(); });
after(() => cluster?.stop());

const databases = new WeakMap<object, string>();
const postgres: StoreFactory<Store> = async (sameDataAs) => {
  const database = (sameDataAs && databases.get(sameDataAs)) ?? await cluster.createDatabase('conformance');
  const store = await openPostgresStore(cluster.config(database));
  databases.set(store, database);
  return store;
};

describeMachineStore('postgresql', postgres);
describeForgetting('postgresql', postgres);
describeOperationStore('postgresql', postgres);
describeLeaseStore('postgresql', postgres);
describeAllocationStore('postgresql', postgres);
describeApiTokenStore('postgresql', postgres);
