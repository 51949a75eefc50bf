import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBoot, renderScript, type ScriptOperation } from '../../daemon/http/ipxe.js';
import { bootFileUrl as fileUrl } from '../../daemon/core/urls.js';
import { ALL_STATES, type State } from '../../daemon/core/lifecycle.js';
import type { Profile } from '../../daemon/core/inventory/schema.js';

const site = { baseUrl: 'http://10.20.0.1:8080', agentArgs: 'console=ttyS0' };
const image: Profile = { kind: 'image', image: { url: 'images/lab.raw.gz', sha256: 'a'.repeat(64) } };
const installer: Profile = { kind: 'installer', kernel: 'installers/debian/linux', initrd: 'https://mirror.example/initrd.gz', cmdline: '', answer: 'preseed/x.j2' };
const machine = (state: State) => ({ name: 'node-01', mac: '52:54:00:00:01:01', state, lastError: state === 'failed' ? 'disk on fire' : null });
const op = (kind: string, done: string[] = []): ScriptOperation => ({ kind, progress: { done: done as never } });
const nonce = 'NONCE0123456789abcdef';
const opFor: Partial<Record<State, ScriptOperation>> = { inspecting: op('inspect'), deploying: op('deploy'), releasing: op('erase') };

test('every state gets the script its meaning calls for', () => {
  const want: Record<State, string> = {
    enrolled: 'local', inspecting: 'agent', ready: 'local', allocated: 'local', deploying: 'agent',
    deployed: 'local', releasing: 'agent', failed: 'local', maintenance: 'local',
  };
  for (const state of ALL_STATES) {
    const plan = planBoot({ mac: '52:54:00:00:01:01', machine: machine(state), operation: opFor[state], profile: image, site, nonce });
    assert.equal(plan.kind, want[state], state);
  }
});

test('the agent script, in full', () => {
  const plan = planBoot({ mac: '52:54:00:00:01:01', machine: machine('inspecting'), operation: op('inspect'), profile: image, site, nonce });
  assert.equal(renderScript(plan), [
    '#!ipxe',
    '# Rackhand: node-01 is inspecting: the agent runs inspect',
    'echo Rackhand: node-01 is inspecting: the agent runs inspect',
    'kernel http://10.20.0.1:8080/boot/agent/vmlinuz initrd=initrd.img rackhand.url=http://10.20.0.1:8080 rackhand.nonce=NONCE0123456789abcdef console=ttyS0',
    'initrd --name initrd.img http://10.20.0.1:8080/boot/agent/initrd.img',
    'boot',
    'echo Rackhand: boot failed, retrying in 10 seconds',
    'sleep 10',
    'reboot',
    '',
  ].join('\n'));
});

test('an installer profile boots its kernel with the rendered command line', () => {
  const plan = planBoot({ mac: 'x', machine: machine('deploying'), operation: op('deploy'), profile: installer, site, installerArgs: 'auto=true url=http://10.20.0.1:8080/v1/answer/T' });
  assert.equal(renderScript(plan).split('\n').slice(3, 5).join('\n'), [
    'kernel http://10.20.0.1:8080/boot/installers/debian/linux initrd=initrd.img auto=true url=http://10.20.0.1:8080/v1/answer/T',
    'initrd --name initrd.img https://mirror.example/initrd.gz',
  ].join('\n'));
});

test('local boot says why and exits to the firmware', () => {
  const plan = planBoot({ mac: 'x', machine: machine('failed'), operation: undefined, profile: image, site });
  assert.equal(renderScript(plan), [
    '#!ipxe',
    '# Rackhand: node-01 failed (disk on fire): booting from disk until an operator retries',
    'echo Rackhand: node-01 failed (disk on fire): booting from disk until an operator retries',
    'exit 1',
    '',
  ].join('\n'));
});

test('a deployment whose image is written boots the disk, never images twice', () => {
  const half = planBoot({ mac: 'x', machine: machine('deploying'), operation: op('deploy', ['image']), profile: image, site, nonce });
  assert.equal(half.kind, 'agent', 'configure is still to do');
  const written = planBoot({ mac: 'x', machine: machine('deploying'), operation: op('deploy', ['image', 'configure']), profile: image, site });
  assert.equal(written.kind, 'local');
  assert.match(written.why, /image is written/);
});

test('unknown machines and transitional machines without an operation are refused with a reason', () => {
  const unknown = planBoot({ mac: 'aa:bb:cc:dd:ee:ff', machine: undefined, operation: undefined, profile: undefined, site });
  assert.equal(renderScript(unknown), [
    '#!ipxe',
    '# Rackhand: aa:bb:cc:dd:ee:ff is not a machine Rackhand manages (machines enrol through DHCP)',
    'echo Rackhand: aa:bb:cc:dd:ee:ff is not a machine Rackhand manages (machines enrol through DHCP)',
    'sleep 5',
    'exit 1',
    '',
  ].join('\n'));
  assert.equal(planBoot({ mac: 'x', machine: machine('deploying'), operation: undefined, profile: image, site }).kind, 'refuse');
});

test('file URLs: paths under the images directory become /boot/ URLs; URLs stay', () => {
  assert.equal(fileUrl(site.baseUrl, 'images/a.raw'), 'http://10.20.0.1:8080/boot/images/a.raw');
  assert.equal(fileUrl(site.baseUrl, '/images/a.raw'), 'http://10.20.0.1:8080/boot/images/a.raw');
  assert.equal(fileUrl(site.baseUrl, 'https://x.example/a.raw'), 'https://x.example/a.raw');
});
