// The store conformance suites (tests/lib/store-conformance/) against PostgreSQL: a throwaway
// cluster from Debian's packages for this process (tests/lib/postgres.ts), a fresh database per
// store, and another handle a second pool on that database. What only PostgreSQL promises
// (its migrations, two daemons starting at once) is in store-postgres.test.ts.
import { after, before } from 'node:test';
import { openPostgresStore } from '../../daemon/core/store/postgres.js';
import { describeStore, storeFactory } from '../lib/store-conformance/index.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';

let cluster: PgCluster;
before(async () => { cluster = await startPostgres(); });
after(() => cluster?.stop());

describeStore('postgresql', storeFactory(() => cluster.createDatabase('conformance'), (database) => openPostgresStore(cluster.config(database))));
