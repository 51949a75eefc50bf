// The dashboard's pure parts: the one escaping helper, the machines filter parser, the CSRF check
// and the session book (daemon/http/ui/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html } from '../../daemon/http/ui/html.js';
import { filterQuery, parseFilter, parseTerm } from '../../daemon/http/ui/filter.js';
import { csrfMatches, IDLE_MS, SessionBook, sessionIdOf } from '../../daemon/http/ui/sessions.js';

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

test('SessionBook: random ids, idle expiry, cap evicts the oldest; cookie parsing', () => {
  let now = 1_000_000;
  const book = new SessionBook(2, () => now);
  const a = book.open('tok-a');
  const b = book.open('tok-b');
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrf, b.csrf);
  assert.ok(a.id.length >= 40, `session id ${a.id.length} characters`);
  const c = book.open('tok-c');
  assert.equal(book.size, 2);
  assert.equal(book.find(a.id), undefined, 'the oldest went when the cap was reached');
  assert.equal(book.find(c.id)?.token, 'tok-c');
  now += IDLE_MS + 1;
  assert.equal(book.find(b.id), undefined, 'idle too long');
  assert.equal(sessionIdOf(`x=1; rh_session=${c.id}; y=2`), c.id);
  assert.equal(sessionIdOf('rh_sessionx=1'), undefined);
  assert.equal(sessionIdOf(undefined), undefined);
});
