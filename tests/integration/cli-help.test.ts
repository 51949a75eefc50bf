// `rackhand VERB --help` prints that verb's usage and exits 0 without reaching a daemon, and the
// bash completion file (systemd/rackhand.bash-completion) offers verbs, a verb's options and,
// from a running daemon, machine names, through real bash.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_MAIN, runCli } from '../lib/cli.js';
import { REPO, startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { VERBS } from '../../daemon/cli/usage.js';

const run = promisify(execFile);
let d: TestDaemon;
before(async () => { d = await startTestDaemon(); });
after(async () => { await d?.close(); });

test('every verb answers --help with its own usage, exit 0, and no daemon is reached', async () => {
  assert.ok(VERBS.length >= 20, VERBS.join(' '));
  for (const verb of VERBS) {
    // Port 1: anything that tried to reach a daemon would fail with exit 1.
    const r = await runCli([verb, '--help'], { RACKHAND_URL: 'http://127.0.0.1:1' });
    assert.equal(r.code, 0, `${verb}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: rackhand\\n  (\\S+\\|)?${verb}\\b`), verb);
    assert.ok(r.stdout.split('\n').length < 8, `${verb} prints its own lines, not the whole usage`);
  }
  assert.equal((await runCli(['deploy', '-h'])).code, 0);
  const unknown = await runCli(['nosuch', '--help']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown verb nosuch/);
});

test('bash completion: verbs, options of a verb, machine names from the daemon', async () => {
  const bin = join(tempDir('completion'), 'bin');
  mkdirSync(bin);
  const wrapper = join(bin, 'rackhand');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${CLI_MAIN}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  const complete = async (...words: string[]) => {
    const script = `source "${join(REPO, 'systemd/rackhand.bash-completion')}"; COMP_WORDS=(rackhand ${words.map((w) => `'${w}'`).join(' ')}); `
      + `COMP_CWORD=${words.length}; _rackhand; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await run('bash', ['-c', script], {
      cwd: REPO, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, RACKHAND_URL: d.url, RACKHAND_TOKEN: d.tokens.admin },
    });
    return stdout.split('\n').filter(Boolean);
  };
  assert.deepEqual(await complete('ma'), ['machines', 'maintenance']);
  assert.deepEqual(await complete('allocate', '--c'), ['--count', '--cpus']);
  assert.deepEqual(await complete('show', 'node-0'), ['node-01', 'node-02', 'node-03']);
  assert.deepEqual(await complete('power', 'node-01', 'x'), [], 'a machine only where one is named');
});
