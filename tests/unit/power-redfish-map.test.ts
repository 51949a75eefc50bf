import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseResetType, codeForStatus, redfishErrorText, POWER_STATES } from '../../daemon/power/redfish-map.js';
import { etagOf, ifMatchCandidates } from '../../daemon/power/redfish-etag.js';
import { monitorProgress, taskMessages, taskResourceProgress } from '../../daemon/power/redfish-task.js';
import { redfishBase } from '../../daemon/power/redfish-http.js';

const ALL = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn', 'PushPowerButton', 'PowerCycle'];

const CASES: [string, Parameters<typeof chooseResetType>[0], string[] | undefined, 'on' | 'off' | 'unknown', string | undefined][] = [
  ['everything offered: on', 'on', ALL, 'off', 'On'],
  ['everything offered: off is a hard off', 'off', ALL, 'on', 'ForceOff'],
  ['everything offered: cycle', 'cycle', ALL, 'on', 'PowerCycle'],
  ['cycle of a machine that is off = on', 'cycle', ALL, 'off', 'On'],
  ['only ForceOn', 'on', ['ForceOn', 'ForceOff'], 'off', 'ForceOn'],
  ['no PowerCycle: ForceRestart', 'cycle', ['On', 'ForceOff', 'ForceRestart'], 'on', 'ForceRestart'],
  ['only GracefulRestart', 'cycle', ['On', 'GracefulShutdown', 'GracefulRestart'], 'on', 'GracefulRestart'],
  ['no ForceOff: GracefulShutdown', 'off', ['On', 'GracefulShutdown'], 'on', 'GracefulShutdown'],
  ['nothing fits', 'off', ['On', 'Nmi'], 'on', undefined],
  ['no list: the schema default', 'cycle', undefined, 'on', 'PowerCycle'],
  ['no list, state unknown, on', 'on', undefined, 'unknown', 'On'],
];

for (const [name, intent, allowable, state, want] of CASES) {
  test(`ResetType: ${name} → ${want ?? 'none'}`, () => assert.equal(chooseResetType(intent, allowable, state), want));
}

test('power states: transitional ones are unknown so the poll goes on', () => {
  assert.equal(POWER_STATES.On, 'on');
  assert.equal(POWER_STATES.Off, 'off');
  assert.equal(POWER_STATES.PoweringOn, 'unknown');
});

test('error text comes from @Message.ExtendedInfo, else error.message', () => {
  const body = { error: { code: 'Base.1.8.GeneralError', message: 'A general error has occurred.', '@Message.ExtendedInfo': [
    { MessageId: 'Base.1.8.PropertyValueNotInList', Message: 'The value Floppy for the property BootSourceOverrideTarget is not in the list of acceptable values.' },
    { MessageId: 'Base.1.8.Other', Message: 'Second.' }] } };
  assert.deepEqual(redfishErrorText(body), {
    text: 'The value Floppy for the property BootSourceOverrideTarget is not in the list of acceptable values. Second.',
    messageIds: ['Base.1.8.PropertyValueNotInList', 'Base.1.8.Other'],
  });
  assert.equal(redfishErrorText({ error: { message: 'only this' } }).text, 'only this');
  assert.equal(redfishErrorText('not json').text, '');
});

test('HTTP status → code', () => {
  assert.equal(codeForStatus(401), 'AUTH_FAILED');
  assert.equal(codeForStatus(403), 'AUTH_FAILED');
  assert.equal(codeForStatus(405), 'UNSUPPORTED');
  assert.equal(codeForStatus(400, ['Base.1.8.ActionParameterValueNotInList']), 'UNSUPPORTED');
  assert.equal(codeForStatus(400, ['Base.1.8.MalformedJSON']), 'BMC_ERROR');
  assert.equal(codeForStatus(503), 'UNREACHABLE');
  assert.equal(codeForStatus(500), 'BMC_ERROR');
  assert.equal(codeForStatus(412), 'BMC_ERROR');
});

test('If-Match: the header ETag first, else @odata.etag; after a refusal every spelling, then none (not after 428)', () => {
  const weak = { headers: { etag: 'W/"abc"' }, body: { '@odata.etag': 'W/"abc"' } };
  assert.equal(etagOf(weak), 'W/"abc"');
  assert.deepEqual(ifMatchCandidates(weak, 412), ['W/"abc"', '"abc"', null]);
  assert.deepEqual(ifMatchCandidates(weak, 428), ['W/"abc"', '"abc"']);
  const differ = { headers: { etag: '"h1"' }, body: { '@odata.etag': '"b2"' } };
  assert.deepEqual(ifMatchCandidates(differ, 409), ['"h1"', '"b2"', null]);
  assert.equal(etagOf({ headers: {}, body: { '@odata.etag': '"b"' } }), '"b"');
  assert.equal(etagOf({ headers: {}, body: {} }), undefined);
});

test('task monitor answers: 202 running; 2xx done (or the Task it returns); errors and failed Tasks carry the BMC\'s words', () => {
  assert.deepEqual(monitorProgress(202, { TaskState: 'Running' }), { state: 'running' });
  assert.deepEqual(monitorProgress(204, undefined), { state: 'completed' });
  assert.deepEqual(monitorProgress(200, { TaskState: 'Completed', TaskStatus: 'OK' }), { state: 'completed' });
  assert.deepEqual(monitorProgress(200, { TaskState: 'Exception', Messages: [{ MessageId: 'Base.1.8.InternalError', Message: 'PSU fault' }] }),
    { state: 'failed', message: 'Base.1.8.InternalError: PSU fault' });
  assert.deepEqual(monitorProgress(200, { TaskState: 'Completed', TaskStatus: 'Critical' }), { state: 'failed', message: 'task Completed' });
  assert.equal(monitorProgress(404, undefined), undefined, 'gone: ask the Task resource');
  const failed = monitorProgress(500, { error: { code: 'Base.1.8.GeneralError', message: 'reset refused by the power controller' } });
  assert.deepEqual(failed, { state: 'failed', message: 'HTTP 500: reset refused by the power controller' });
  assert.deepEqual(taskResourceProgress({ TaskState: 'Killed' }), { state: 'failed', message: 'task Killed' });
  assert.equal(taskMessages({ Messages: Array.from({ length: 50 }, () => ({ Message: 'x'.repeat(40) })) }).length, 500, 'bounded');
});

test('addresses: a bare host or host:port is HTTPS; http:// only when written; the port field fills a URL without one', () => {
  assert.equal(redfishBase('10.0.0.5').href, 'https://10.0.0.5/');
  assert.equal(redfishBase('10.0.0.5', 8443).href, 'https://10.0.0.5:8443/');
  assert.equal(redfishBase('http://10.0.0.5:8000').href, 'http://10.0.0.5:8000/');
  assert.equal(redfishBase('http://10.0.0.5', 8000).href, 'http://10.0.0.5:8000/');
  assert.equal(redfishBase('HTTPS://bmc.example:443').protocol, 'https:');
});
