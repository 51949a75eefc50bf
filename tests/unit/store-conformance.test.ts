// The store conformance suites (tests/lib/store-conformance/) against SQLite: each store a real
// file in a temp dir, another handle a second connection to that file. What only SQLite promises
// (migrations, the WAL file, processes racing on one file, kill -9) is in store.test.ts and
// crash.test.ts.
import { join } from 'node:path';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import type { Store } from '../../daemon/core/store/types.js';
import {
  describeAllocationStore, describeApiTokenStore, describeForgetting, describeLeaseStore, describeMachineStore,
  describeOperationStore, type StoreFactory,
} from '../lib/store-conformance/index.js';
import { tempDir } from '../lib/tmp.js';

const files = new WeakMap<object, string>();
const sqlite: StoreFactory<Store> = async (sameDataAs) => {
  const file = (sameDataAs && files.get(sameDataAs)) ?? join(tempDir('conformance'), 'rackhand.db');
  const store = await openSqliteStore(file);
  files.set(store, file);
  return store;
};

describeMachineStore('sqlite', sqlite);
describeForgetting('sqlite', sqlite);
describeOperationStore('sqlite', sqlite);
describeLeaseStore('sqlite', sqlite);
describeAllocationStore('sqlite', sqlite);
describeApiTokenStore('sqlite', sqlite);
