// Whether a rack's holder is a crashed daemon of this very host (presence.ts deadOnThisHost):
// only then may a new daemon take the rack at once instead of waiting out its silence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { deadOnThisHost } from '../../daemon/racks/presence.js';

test('a holder is dead on this host only when its host is ours and its pid runs no more', async () => {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await new Promise((r) => child.once('exit', r));
  assert.equal(deadOnThisHost(`${hostname()}:${pid}:a1b2c3`), true, 'exited');
  assert.equal(deadOnThisHost(`${hostname()}:${process.pid}:a1b2c3`), false, 'this very process runs');
  assert.equal(deadOnThisHost(`another-host:${pid}:a1b2c3`), false, 'another host: cannot tell');
  assert.equal(deadOnThisHost('garbage'), false);
  assert.equal(deadOnThisHost(`${hostname()}:1:a1b2c3`), false, 'pid 1 runs (or is not ours to signal)');
});
