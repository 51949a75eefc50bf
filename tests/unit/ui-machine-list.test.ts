// The machines list's parts below the browser: the URL's filters and columns, the store query a
// filter becomes (a tenant's scope forced in), LIKE patterns, the bulk form's parsing, gzip
// negotiation, and the list's pages read from a real SQLite store (no full read per page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEFAULT_COLUMNS, filterQuery, machineQueryOf, parseColumns, parseFilter } from '../../daemon/http/ui/filter.js';
import { containsPattern, machineArch, machineQuerySql, type QueryDialect } from '../../daemon/core/store/machine-query.js';
import { BULK_CAP, bulkRefusal, MAX_TICKED, parseBulkRequest, resolveTargets } from '../../daemon/http/ui/bulk.js';
import { acceptsGzip } from '../../daemon/http/ui/compress.js';
import { machineListPage } from '../../daemon/http/ui/machines-routes.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { machineRow } from '../../daemon/http/ui/machines-page.js';
import type { ApiContext } from '../../daemon/http/api/context.js';
import type { Principal } from '../../daemon/http/api/tokens.js';
import type { MachineRecord } from '../../daemon/core/store/types.js';
import { spec } from '../lib/machines.js';
import { tempDir } from '../lib/tmp.js';

const admin: Principal = { name: 'admin', role: 'admin' };
const tenant: Principal = { name: 't1', role: 'owner', owner: 'acme' };
const readonly: Principal = { name: 'ro', role: 'readonly' };

test('parseFilter: tag and arch terms with negation; filterQuery keeps them and non-default columns', () => {
  const f = parseFilter({ tag: '!gpu', arch: 'aarch64', q: '50%_off', cols: 'name,ip,state,bogus' });
  assert.deepEqual(f.tag, { value: 'gpu', negated: true });
  assert.deepEqual(f.arch, { value: 'aarch64', negated: false });
  assert.deepEqual(f.cols, ['name', 'state', 'ip'], 'known columns, in the list\'s order');
  assert.equal(filterQuery(f), '?tag=%21gpu&arch=aarch64&q=50%25_off&cols=name%2Cstate%2Cip');
  assert.equal(filterQuery(parseFilter({})), '', 'the default columns are not written');
});

test('parseColumns: the chooser\'s repeated fields, a comma list, name always; absent is the default', () => {
  assert.deepEqual(parseColumns(['name', 'tags', 'arch']), ['name', 'tags', 'arch']);
  assert.deepEqual(parseColumns('state'), ['name', 'state']);
  assert.deepEqual(parseColumns(['name']), ['name'], 'every box unticked: the name alone');
  assert.deepEqual(parseColumns(undefined), DEFAULT_COLUMNS);
  assert.deepEqual(parseColumns({ evil: 1 }), DEFAULT_COLUMNS);
});

test('machineQueryOf: a tenant is scoped to its owner whatever the URL says; others are not', () => {
  const f = parseFilter({ owner: 'globex', state: 'ready', sort: 'ip', dir: 'desc' });
  const q = machineQueryOf(f, tenant, { offset: 50, limit: 50 });
  assert.equal(q.scopeOwner, 'acme');
  assert.deepEqual(q.owner, { value: 'globex', negated: false }, 'the term stays: with the scope, it matches nothing');
  assert.deepEqual([q.sort, q.dir, q.offset, q.limit], ['ip', 'desc', 50, 50]);
  assert.equal(machineQueryOf(f, admin, { offset: 0, limit: 1 }).scopeOwner, undefined);
  assert.equal(machineQueryOf(f, readonly, { offset: 0, limit: 1 }).scopeOwner, undefined);
});

test('containsPattern: % _ and \\ are escaped; the query builder negates with NOT and binds every value', () => {
  assert.equal(containsPattern('50%_off\\'), '%50\\%\\_off\\\\%');
  const d: QueryDialect = { param: (n) => `$${n}`, hasTag: (p) => `tag(${p})`, factsArch: 'fa', bootArch: 'ba', contains: (c, p) => `${c} ~ ${p}`, collate: '' };
  const sql = machineQuerySql({ scopeOwner: 'acme', state: { value: 'Ready', negated: true }, text: { value: "x' OR 1=1 --", negated: false }, sort: 'owner', dir: 'desc', limit: 5 }, d);
  assert.equal(sql.where, "retired_at IS NULL AND owner = $1 AND NOT (state = $2) AND (name ~ $3 OR mac ~ $3 OR coalesce(ip, '') ~ $3 OR hostname ~ $3)");
  assert.deepEqual(sql.params, ['acme', 'ready', "%x' OR 1=1 --%"], 'values only as parameters');
  assert.equal(sql.orderBy, "coalesce(owner, '') DESC, name ASC", 'ties by name A to Z');
});

test('machineArch: inspected facts first, then the boot firmware\'s client arch', () => {
  assert.equal(machineArch({ facts: { arch: 'aarch64' }, bootFacts: { arch: 7, seenAt: '' } }), 'aarch64');
  assert.equal(machineArch({ facts: null, bootFacts: { arch: 7, seenAt: '' } }), 'x86_64');
  assert.equal(machineArch({ facts: null, bootFacts: { arch: 4242, seenAt: '' } }), undefined);
  assert.equal(machineArch({ facts: null, bootFacts: null }), undefined);
});

test('parseBulkRequest: an action, the ticked names (deduplicated) or the filter; nothing ticked and unknown actions refused', () => {
  const r = parseBulkRequest({ action: 'maintenance_on', scope: 'selected', machine: ['b', 'a', 'b'], filter: 'tag=gpu' });
  assert.deepEqual([r.action, r.scope, r.names, r.filter.tag?.value], ['maintenance_on', 'selected', ['b', 'a'], 'gpu']);
  assert.equal(parseBulkRequest({ action: 'release', scope: 'filter', filter: 'state=!ready&arch=x86_64' }).filter.arch?.value, 'x86_64');
  assert.throws(() => parseBulkRequest({ action: 'destroy', scope: 'filter' }), /choose an action/);
  assert.throws(() => parseBulkRequest({ action: 'inspect', scope: 'selected' }), /no machine is ticked/);
  assert.throws(() => parseBulkRequest({ action: 'inspect', machine: Array.from({ length: MAX_TICKED + 1 }, (_, i) => `m${i}`) }), /tick at most 100/);
});

test('bulkRefusal: read-only never; a tenant only releases; the state decides the rest', async () => {
  const store = await openSqliteStore(join(tempDir('ui-list'), 'rackhand.db'));
  try {
    await store.syncInventory([spec(1)], 'test');
    const m = (await store.getMachine('node-01'))!;
    assert.match(bulkRefusal(readonly, m, 'power_on')!, /read-only/);
    assert.match(bulkRefusal(tenant, m, 'power_cycle')!, /tenant token may only release/);
    assert.match(bulkRefusal(tenant, m, 'maintenance_on')!, /tenant token may only release/);
    assert.equal(bulkRefusal(admin, m, 'maintenance_on'), undefined);
    assert.match(bulkRefusal(admin, m, 'release')!, /not from state enrolled/);
    assert.equal(bulkRefusal(admin, m, 'power_off'), undefined);
  } finally {
    await store.close();
  }
});

test('acceptsGzip: named with a weight above zero, or *', () => {
  assert.equal(acceptsGzip('gzip, deflate, br'), true);
  assert.equal(acceptsGzip('br;q=1.0, GZIP;q=0.5'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(acceptsGzip('identity'), false);
});

test('machineListPage: pages from a real SQLite store, the last page past the end, a tenant\'s machines only', async () => {
  const store = await openSqliteStore(join(tempDir('ui-list'), 'rackhand.db'));
  try {
    await store.syncInventory(Array.from({ length: 120 }, (_, i) => spec(i + 1, { name: `n-${String(i).padStart(3, '0')}`, tags: i % 3 ? [] : ['gpu'] })), 'test');
    const ctx = { store } as unknown as ApiContext;
    const p1 = await machineListPage(ctx, admin, parseFilter({ sort: 'name', dir: 'desc' }));
    assert.deepEqual([p1.total, p1.pages, p1.rows.length, p1.rows[0]!.name], [120, 3, 50, 'n-119']);
    const last = await machineListPage(ctx, admin, parseFilter({ page: '99' }));
    assert.deepEqual([last.page, last.rows.length], [3, 20], 'a page past the end shows the last');
    const far = await machineListPage(ctx, admin, parseFilter({ page: String(Number.MAX_SAFE_INTEGER) }));
    assert.deepEqual([far.page, far.rows.length], [3, 20], 'however far');
    assert.equal((await machineListPage(ctx, admin, parseFilter({ tag: 'gpu' }))).total, 40);
    assert.equal((await machineListPage(ctx, admin, parseFilter({ tag: '!gpu', q: 'n-00' }))).total, 6, 'n-001,002,004,005,007,008');
    assert.equal((await machineListPage(ctx, tenant, parseFilter({}))).total, 0, 'acme owns nothing yet');
  } finally {
    await store.close();
  }
});

const hostile = '<img src=x onerror=alert(1)>"\'';
const hostileMachine: MachineRecord = {
  name: 'evil"><script>x</script>', mac: '52:54:00:00:00:01', ip: null, hostname: hostile, profile: hostile, tags: [hostile], power: { driver: 'manual' },
  rack: null, state: 'ready', previousState: null, lastError: null, owner: hostile, deployProfile: null, facts: { arch: hostile }, bootFacts: null,
  source: 'discovered', retiredAt: null, stateChangedAt: '2026-01-01T00:00:00.000Z', createdAt: '', updatedAt: '', version: 1, accepted: true,
};

test('machineRow: hostile machine text is escaped; the columns asked for, the checkbox kept across swaps', () => {
  const row = machineRow(hostileMachine, { filter: parseFilter({ cols: 'name,owner,tags,arch' }), canAct: true }).text;
  assert.ok(!row.includes('<script>') && !row.includes('<img'), row);
  assert.equal((row.match(/<td/g) ?? []).length, 4, 'four columns, the checkbox in the name\'s');
  assert.match(row, /hx-preserve="true"/);
  assert.match(row, /row\?cols=name%2Cowner%2Ctags%2Carch"/);
  assert.doesNotMatch(row, /stale/, 'a matching row is not marked');
});

test('machineRow: it refreshes with its page\'s filter (not its page or order); a stale row says so, escaped, same cells', () => {
  const f = parseFilter({ state: '!ready', q: '<b>', sort: 'ip', dir: 'desc', page: '3' });
  const row = machineRow(hostileMachine, { filter: f, canAct: true, stale: true }).text;
  const url = /hx-get="([^"]+)"/.exec(row)![1]!.replace(/&amp;/g, '&');
  const query = new URLSearchParams(url.slice(url.indexOf('?')));
  assert.deepEqual([query.get('state'), query.get('q'), query.get('sort'), query.get('page')], ['!ready', '<b>', null, null]);
  assert.match(row, /<tr [^>]*class="stale" data-stale="true"/);
  assert.match(row, /<span class="stale-note">no longer matches<\/span><\/td>/, 'the note is in the name\'s cell');
  assert.equal((row.match(/<td/g) ?? []).length, DEFAULT_COLUMNS.length);
  assert.ok(!row.includes('<script>') && !row.includes('<b>'), row);
});

test('resolveTargets: a filter matching more than BULK_CAP machines is refused with the count; at the cap it resolves', async () => {
  const store = await openSqliteStore(join(tempDir('ui-list'), 'rackhand.db'));
  try {
    const many = Array.from({ length: BULK_CAP + 1 }, (_, i) => spec(i + 1, { name: `m-${String(i).padStart(4, '0')}`, mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, ip: null }));
    await store.syncInventory(many, 'test');
    const ctx = { store } as unknown as ApiContext;
    const all = parseBulkRequest({ action: 'maintenance_on', scope: 'filter', filter: 'q=m-' });
    await assert.rejects(resolveTargets(ctx, admin, all), new RegExp(`this filter matches ${BULK_CAP + 1} machines; a bulk action takes at most ${BULK_CAP}`));
    const fewer = parseBulkRequest({ action: 'maintenance_on', scope: 'filter', filter: 'q=!m-0000' });
    const targets = await resolveTargets(ctx, admin, fewer);
    assert.deepEqual([targets.length, targets[0]!.name, targets.every((t) => !t.skip)], [BULK_CAP, 'm-0001', true]);
    const ro = await resolveTargets(ctx, readonly, parseBulkRequest({ action: 'power_cycle', scope: 'selected', machine: ['m-0001', 'nobody'] }));
    assert.deepEqual(ro.map((t) => [t.name, t.skip]), [['m-0001', 'token ro is read-only: it can look, not act'], ['nobody', 'not found']]);
  } finally {
    await store.close();
  }
});
