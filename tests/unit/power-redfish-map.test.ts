import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseResetType, codeForStatus, redfishErrorText, POWER_STATES } from '../../daemon/power/redfish-map.js';

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
