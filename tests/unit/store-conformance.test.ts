// The store conformance suites (tests/lib/store-conformance/) against SQLite: each store a real
// file in a temp dir, another handle a second connection to that file. What only SQLite promises
// (migrations, the WAL file, processes racing on one file, kill -9) is in store.test.ts and
// crash.test.ts.
import { join } from 'node:path';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { describeStore, storeFactory } from '../lib/store-conformance/index.js';
import { tempDir } from '../lib/tmp.js';

describeStore('sqlite', storeFactory(() => join(tempDir('conformance'), 'rackhand.db'), openSqliteStore));
