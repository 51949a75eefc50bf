// Server text is data, never terminal commands: a machine's last error, an event's cause or an
// echoed name carrying ESC sequences (clear screen, a window title, colours), CR, BEL, C1 controls
// or a direction override reaches the operator's terminal through the CLI with all of them gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';

const run = promisify(execFile);
const MAIN = join(REPO, 'daemon/cli/main.ts');
// What a hostile agent or BMC might say: clear the screen, retitle the window, hide text, rewrite
// the line, ring, an 8-bit CSI, a right-to-left override, and a forged second line.
const HOSTILE = 'disk \x1b[2J\x1b[H\x1b]0;owned\x07gone\r\x1b[8mhidden\x1b[0m \u009b31m red \u202eevil\u202c\nrackhand: all good\tok';
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

let d: TestDaemon;
before(async () => {
  d = await startTestDaemon();
  const api = (path: string, body: unknown) => call(d.url, d.tokens.admin, 'POST', path, body);
  assert.equal((await api('/api/v1/machines/node-01/actions/inspect', { reason: HOSTILE.slice(0, 40) })).status, 200);
  const failed = await api('/api/v1/machines/node-01/actions/fail', { reason: HOSTILE });
  assert.equal(failed.status, 200, JSON.stringify(failed.body));
  assert.equal(failed.body.machine.last_error, HOSTILE, 'the API keeps the text as it was');
});
after(async () => { await d.close(); });

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, RACKHAND_URL: d.url, RACKHAND_STATE_DIR: d.stateDir, RACKHAND_TOKEN: '' };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env, cwd: REPO });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('machines, show, events and log print the hostile text without a control character', async () => {
  const outputs = await Promise.all([
    cli(['machines']), cli(['show', 'node-01']), cli(['events', 'node-01']), cli(['show', 'node-01', '--json']),
    cli(['operations', 'node-01']), cli(['log', 'node-01']),
  ]);
  for (const [i, r] of outputs.entries()) {
    assert.equal(r.code, 0, `${i}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, CONTROL, `output ${i}: ${JSON.stringify(r.stdout.slice(0, 400))}`);
  }
  const [machines, show] = outputs;
  assert.match(show!.stdout, /^last error:\s+disk gonehidden  red evil rackhand: all good ok$/m, 'the text is kept, its controls gone');
  assert.doesNotMatch(show!.stdout, /^rackhand: all good/m, 'no forged line');
  assert.match(machines!.stdout, /node-01\s+failed\s.*disk gonehidden/);
});

test('an error echoing a hostile name reaches stderr clean', async () => {
  const r = await cli(['show', '\x1b[2J\x1b]0;owned\x07node\r\u009b1m']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no machine named/);
  assert.doesNotMatch(r.stderr.replace(/\n$/, ''), CONTROL, JSON.stringify(r.stderr));
});
