// The dashboard is the operator's surface, like /api/v1: refused on the provisioning address
// (tests/security/api-exposure.test.ts shows the same for the API across real namespaces). Here
// the daemon's loopback listener is made to count as the provisioning address by pointing
// site.address at it in the loaded inventory.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';

let d: TestDaemon;
before(async () => { d = await startTestDaemon(); });
after(async () => { await d.close(); });

test('/ui is refused on the provisioning address, before any sign-in; served otherwise', async () => {
  assert.equal((await fetch(`${d.url}/ui/sign-in`)).status, 200, 'served on the management side');
  const site = d.daemon.inventory().inventory.site;
  const was = site.address;
  site.address = '127.0.0.1';
  try {
    for (const path of ['/ui/', '/ui/sign-in', '/UI/machines', '/ui/assets/htmx.min.js', '/ui/events/stream']) {
      const r = await fetch(`${d.url}${path}`, { redirect: 'manual' });
      assert.equal(r.status, 403, path);
      assert.match(await r.text(), /provisioning/, path);
    }
    const post = await fetch(`${d.url}/ui/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${d.tokens.admin}` });
    assert.equal(post.status, 403);
    assert.equal(post.headers.get('set-cookie'), null, 'no session is opened');
  } finally {
    site.address = was;
  }
});
