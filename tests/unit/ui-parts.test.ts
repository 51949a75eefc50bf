// The dashboard's pure parts: the one escaping helper, the machines filter parser, the CSRF check
// and the session book (daemon/http/ui/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html } from '../../daemon/http/ui/html.js';
import { filterQuery, parseFilter, parseTerm } from '../../daemon/http/ui/filter.js';
import { csrfMatches, IDLE_MS, SessionBook, sessionIdOf } from '../../daemon/http/ui/sessions.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../lib/tmp.js';

const HOSTILE = `"><script>alert(1)</script><img src=x onerror='alert(2)'>\`&amp;`;

test('escapeHtml: every character that could open markup or leave an attribute is escaped', () => {
  assert.equal(escapeHtml(HOSTILE), '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(2)&#39;&gt;&#96;&amp;amp;');
  assert.equal(escapeHtml(null), '');
  assert.equal(escapeHtml(42), '42');
});

test('html: values are escaped, nested html is not escaped twice, arrays join, false and null vanish', () => {
  const inner = html`<b>${'<i>'}</b>`;
  const out = html`<p title="${HOSTILE}">${HOSTILE}${inner}${['<', html`<br>`]}${false}${null}</p>`.text;
  assert.ok(!out.includes('<script>'), out);
  assert.ok(!out.includes(`"><`), 'the attribute cannot be closed');
  assert.ok(out.includes('<b>&lt;i&gt;</b>'), out);
  assert.ok(out.endsWith('&lt;<br></p>'), out);
});

test('parseTerm: a leading ! negates; empty and lone ! are no filter; arrays take the first', () => {
  assert.deepEqual(parseTerm('ready'), { value: 'ready', negated: false });
  assert.deepEqual(parseTerm(' !ready '), { value: 'ready', negated: true });
  assert.equal(parseTerm('!'), undefined);
  assert.equal(parseTerm(''), undefined);
  assert.equal(parseTerm(undefined), undefined);
  assert.deepEqual(parseTerm(['a', 'b']), { value: 'a', negated: false });
  assert.equal(parseTerm({ x: 1 }), undefined);
});

test('parseFilter: bad sort, dir and page fall back to defaults; filterQuery writes back what it read', () => {
  const f = parseFilter({ state: '!ready', q: 'node', sort: 'ip', dir: 'desc', page: '3' });
  assert.equal(f.sort, 'ip');
  assert.equal(f.dir, 'desc');
  assert.equal(f.page, 3);
  assert.equal(filterQuery(f), '?state=%21ready&q=node&sort=ip&dir=desc&page=3');
  const bad = parseFilter({ sort: 'password', dir: 'sideways', page: '-2' });
  assert.deepEqual([bad.sort, bad.dir, bad.page], ['name', 'asc', 1]);
  assert.equal(filterQuery(bad), '');
  assert.equal(parseFilter({ page: 'abc' }).page, 1);
});

test('csrfMatches: only the exact value; other lengths, types and empties refused', () => {
  const secret = 'a'.repeat(43);
  assert.equal(csrfMatches(secret, secret), true);
  assert.equal(csrfMatches(secret, 'a'.repeat(42) + 'b'), false);
  assert.equal(csrfMatches(secret, 'a'.repeat(42)), false);
  assert.equal(csrfMatches(secret, ''), false);
  assert.equal(csrfMatches(secret, undefined), false);
  assert.equal(csrfMatches(secret, [secret]), false);
});

test('SessionBook over a real SQLite file: random ids, digests only at rest, idle and absolute expiry, the cap, a reopened store', async () => {
  let now = Date.UTC(2026, 0, 1);
  const file = join(tempDir('ui-sessions'), 'rackhand.db');
  const store = await openSqliteStore(file);
  const book = new SessionBook(store, 2, () => now);
  const a = await book.open('a'.repeat(64));
  now += 1000;
  const b = await book.open('b'.repeat(64));
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrf, b.csrf);
  assert.ok(a.id.length >= 40, `session id ${a.id.length} characters`);
  now += 1000;
  const c = await book.open('c'.repeat(64));
  assert.equal(await book.find(a.id), undefined, 'the oldest went when the cap was reached');
  assert.equal((await book.find(c.id))?.tokenDigest, 'c'.repeat(64));
  for (const f of [file, `${file}-wal`]) if (existsSync(f)) assert.ok(!readFileSync(f).includes(c.id), `the session id itself is not in ${f}`);
  await store.close();

  // A restarted daemon (a new handle on the same file) knows the session.
  const reopened = await openSqliteStore(file);
  const again = new SessionBook(reopened, 2, () => now);
  assert.equal((await again.find(c.id))?.csrf, c.csrf, 'a restart signs nobody out');
  assert.equal(await again.find(`${c.id}x`), undefined);
  assert.equal(await again.find('x'.repeat(500)), undefined, 'an overlong cookie is no session');
  now += IDLE_MS + 1;
  assert.equal(await again.find(b.id), undefined, 'idle too long');
  const d = await again.open('d'.repeat(64));
  for (let i = 0; i < 23; i++) { now += IDLE_MS / 2; assert.ok(await again.find(d.id), 'kept alive by use'); }
  now += IDLE_MS / 2 + 1;
  assert.equal(await again.find(d.id), undefined, 'older than the absolute limit (12 h), however busy');
  await again.close(c.id);
  assert.equal(await again.find(c.id), undefined, 'signed out');
  await reopened.close();
  assert.equal(sessionIdOf(`x=1; rh_session=${c.id}; y=2`), c.id);
  assert.equal(sessionIdOf('rh_sessionx=1'), undefined);
  assert.equal(sessionIdOf(undefined), undefined);
});
