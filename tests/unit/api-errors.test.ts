// Errors become HTTP once, in the error handler, for every route: domain refusals map to their
// status (none to 500), and validation names every bad field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { clientError, domainError } from '../../daemon/http/error-handler.js';
import { parseInput } from '../../daemon/http/validate.js';
import { ApiError } from '../../daemon/http/errors.js';
import { IllegalTransition } from '../../daemon/core/lifecycle.js';
import { MachineNotFound, TransitionConflict } from '../../daemon/core/actions.js';
import { AllocationBusy, NotReleasable } from '../../daemon/core/allocate.js';
import { PowerError } from '../../daemon/power/errors.js';

test('domain errors map to their status once: 404, 409 (with the allowed events), 502 with the power code', () => {
  assert.equal(clientError(new MachineNotFound('n1'))!.status, 404);
  assert.equal(clientError(new TransitionConflict('raced'))!.status, 409);
  assert.equal(clientError(new AllocationBusy('busy'))!.code, 'CONFLICT');
  assert.equal(clientError(new NotReleasable('not yet'))!.code, 'CONFLICT');
  const power = clientError(new PowerError('UNREACHABLE', 'n1', 'on', 'ECONNREFUSED'))!;
  assert.equal(power.status, 502);
  assert.equal(power.extra.power_code, 'UNREACHABLE');
  // An operator's event: only operator events are offered.
  const op = clientError(new IllegalTransition('deployed', 'inspect', ['release', 'reimage', 'timeout', 'maintenance_on']))!;
  assert.equal(op.status, 409);
  assert.deepEqual(op.extra.allowed, ['release', 'reimage', 'maintenance_on']);
  // An agent's or a machine's event (a report, a phone home) in the wrong state: 409, not 500.
  const agent = clientError(new IllegalTransition('ready', 'inspected', ['allocate', 'deploy']))!;
  assert.equal(agent.status, 409);
  assert.match(agent.message, /cannot inspected a machine that is ready/);
  assert.equal(domainError(new Error('boom')), undefined, 'anything else stays the daemon\'s own failure');
  assert.equal(clientError(new Error('boom')), undefined);
});

test('validation lists every issue, each naming its field; unknown fields each named; bounded', () => {
  const schema = z.strictObject({ profile: z.string(), count: z.number().int().min(1), owner: z.string().optional() });
  let err: ApiError | undefined;
  try { parseInput(schema, { profile: 7, count: 0, colour: 'red', size: 2 }, 'body'); } catch (e) { err = e as ApiError; }
  assert.equal(err?.code, 'BAD_REQUEST');
  const fields = err!.extra.issues!.map((i) => i.field).sort();
  assert.deepEqual(fields, ['body.colour', 'body.count', 'body.profile', 'body.size']);
  assert.equal(err!.extra.field, err!.extra.issues![0]!.field);
  for (const f of fields) assert.ok(err!.message.includes(`${f}: `), `${f} named in the message`);
  const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, i]));
  try { parseInput(schema, { profile: 'p', count: 1, ...many }, 'body'); } catch (e) { err = e as ApiError; }
  assert.equal(err!.extra.issues!.length, 20);
});
