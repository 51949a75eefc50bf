// bootDispatch: each boot-time request reaches the one router under whose prefix it is (case
// ignored, as the routers match), and every other request none of them, handed on at once; and
// `covers`, the boot trace's test of a boot path, says yes to exactly the paths it dispatches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bootDispatch } from '../../daemon/http/boot-dispatch.js';

const routes = (named: (name: string) => RequestHandler) =>
  [['/boot/', named('boot')], ['/v1/agent/', named('agent')], ['/v1/nocloud/', named('metadata')], ['/v1/installer/', named('installer')]] as const;

function dispatchOf(url: string, path = url.replace(/^[a-z]+:\/\/[^/]+/i, '').replace(/\?.*$/, '')): string {
  const seen: string[] = [];
  const named = (name: string): RequestHandler => (_req, _res, next) => { seen.push(name); next(); };
  const dispatch = bootDispatch(routes(named));
  let nextCalls = 0;
  dispatch({ url, path } as Request, {} as Response, (() => { nextCalls++; }) as NextFunction);
  assert.equal(nextCalls, 1, `${url}: handed on once`);
  return seen.join(',') || 'none';
}

test('a boot path goes to its router only; anything else to none', () => {
  assert.equal(dispatchOf('/boot/52:54:00:00:01:01.ipxe'), 'boot');
  assert.equal(dispatchOf('/boot/agent/vmlinuz?x=1'), 'boot');
  assert.equal(dispatchOf('/v1/agent/report'), 'agent');
  assert.equal(dispatchOf('/v1/nocloud/tok/meta-data'), 'metadata');
  assert.equal(dispatchOf('/v1/installer/tok/started'), 'installer');
  assert.equal(dispatchOf('/api/v1/machines'), 'none');
  assert.equal(dispatchOf('/ui/machines'), 'none');
  assert.equal(dispatchOf('/v1/agentx'), 'none');
  assert.equal(dispatchOf('/bootx/file'), 'none');
  assert.equal(dispatchOf('/'), 'none');
});

test('prefixes match without regard to case, as the routers do; a proxy\'s absolute target by its path', () => {
  assert.equal(dispatchOf('/BOOT/agent/vmlinuz'), 'boot');
  assert.equal(dispatchOf('/V1/Agent/next'), 'agent');
  assert.equal(dispatchOf('http://10.20.0.1:8080/v1/agent/next'), 'agent');
  assert.equal(dispatchOf('http://10.20.0.1:8080/api/v1/machines'), 'none');
});

test('covers: the paths it dispatches and no others, case ignored', () => {
  const { covers } = bootDispatch(routes(() => (_q, _s, n) => n()));
  for (const path of ['/boot/x.ipxe', '/BOOT/agent/initrd', '/v1/agent/report', '/V1/NoCloud/t/user-data', '/v1/installer/t/done']) {
    assert.equal(covers(path), true, path);
    assert.notEqual(dispatchOf(path), 'none', path);
  }
  for (const path of ['/', '/boot', '/bootx/y', '/v1/agent', '/v1/agents/x', '/api/v1/machines', '/ui/', '/metrics']) {
    assert.equal(covers(path), false, path);
    assert.equal(dispatchOf(path), 'none', path);
  }
});

test('a prefix that is not a lower-case absolute path ending in / is refused at start', () => {
  const h: RequestHandler = (_q, _s, n) => n();
  assert.throws(() => bootDispatch([['boot/', h]]), /boot route prefix boot\//);
  assert.throws(() => bootDispatch([['/Boot/', h]]), /lower-case/);
  assert.throws(() => bootDispatch([['/boot', h]]), /ending in \//);
});
