// Standalone entry of the lab's Redfish BMC emulator:
//   node --import tsx daemon/lab/redfish-emulator/main.ts --dir /tmp/bmc --port 8443 \
//     --vm node-01,mac=52:54:00:00:01:01,tap=tap1 [--vm …] [--require-if-match] [--no-sessions]
//     [--read-delay-ms N] [--journal FILE]
// --read-delay-ms makes it a slow BMC (each system GET held N ms); --journal appends one JSON
// line per answered request (method, path, auth, start, end, status), for tests that count calls.
// The password comes from an environment variable (--password-env, default REDFISH_PASSWORD),
// never from argv. It prints one JSON line (url, caFile) and runs until SIGINT/SIGTERM, then
// stops every VM it started.
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startRedfishEmulator, type EmulatedSystemConfig } from './server.js';

function parseVm(spec: string): EmulatedSystemConfig {
  const [id, ...kv] = spec.split(',');
  if (!id) throw new Error(`--vm needs an id: ${spec}`);
  const o = Object.fromEntries(kv.map((p) => { const i = p.indexOf('='); return [p.slice(0, i), p.slice(i + 1)]; }));
  return {
    id, mac: o.mac,
    vm: {
      name: id, memory: o.memory ? Number(o.memory) : 512, mac: o.mac, disk: o.disk, serialFile: o.serial,
      net: o.tap ? { kind: 'tap', ifname: o.tap } : o.mac ? { kind: 'user' } : { kind: 'none' },
    },
    bootMode: o.mode === 'UEFI' ? 'UEFI' : 'Legacy',
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8443' },
      user: { type: 'string', default: 'admin' }, 'password-env': { type: 'string', default: 'REDFISH_PASSWORD' },
      vm: { type: 'string', multiple: true, default: [] }, 'require-if-match': { type: 'boolean', default: false },
      'no-sessions': { type: 'boolean', default: false }, 'read-delay-ms': { type: 'string' }, journal: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.dir || values.vm.length === 0) {
    process.stderr.write('usage: main.ts --dir DIR --vm ID[,mac=M][,tap=IF][,disk=P][,memory=MB][,serial=FILE][,mode=UEFI] … [--port 8443] [--user admin] [--password-env REDFISH_PASSWORD] [--require-if-match] [--no-sessions] [--read-delay-ms N] [--journal FILE]\n');
    process.exit(values.help ? 0 : 2);
  }
  const password = process.env[values['password-env']];
  if (!password) { process.stderr.write(`set the BMC password in $${values['password-env']}\n`); process.exit(2); }
  const emu = await startRedfishEmulator({
    dir: values.dir, host: values.host, port: Number(values.port), username: values.user, password,
    systems: values.vm.map(parseVm), requireIfMatch: values['require-if-match'], sessions: !values['no-sessions'],
    readDelayMs: values['read-delay-ms'] ? Number(values['read-delay-ms']) : undefined,
    onAnswered: values.journal ? ((file) => (e) => appendFileSync(file, JSON.stringify({ ...e, body: undefined }) + '\n'))(values.journal) : undefined,
  });
  process.stdout.write(JSON.stringify({ url: emu.url, caFile: emu.caFile, systems: [...emu.systems.keys()] }) + '\n');
  const stop = async () => { await emu.close(); process.exit(0); };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => { process.stderr.write(`redfish-emulator: ${(err as Error).message}\n`); process.exit(1); });
