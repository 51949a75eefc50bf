#!/usr/bin/env node
// rackhand <verb>: `serve` runs the daemon, `validate` checks an inventory offline, every other
// verb talks to the daemon's REST API. Exit codes: 0 ok, 1 failed, 2 bad usage.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { apiClient, CliError } from './client.js';
import { acceptCmd, actionCmd, eventsCmd, machinesCmd, racksCmd, needName, powerCmd, showCmd } from './commands.js';
import { forgetCmd } from './commands.js';
import {
  allocateCmd, allocationsCmd, parseSize, positiveInt, releaseCmd, showAllocationCmd,
} from './alloc-cmd.js';
import { tokensCreateCmd, tokensListCmd, tokensRevokeCmd, tokensRotateCmd } from './tokens-cmd.js';
import { logCmd, operationsCmd } from './oplog-cmd.js';
import { traceCmd } from './trace-cmd.js';
import { defaultInventory, defaultStateDir } from './paths.js';
import { formatError, formatWarning } from '../core/inventory/load.js';
import { validateInventory } from '../core/inventory/validate.js';
import { mermaidDiagram } from '../core/lifecycle.js';
import { storeUrlProblem } from '../core/store/location.js';
import { createLogger } from '../log.js';
import { VERSION } from '../version.js';

import { USAGE, verbUsage } from './usage.js';
import { completeCmd } from './complete-cmd.js';

const COMMON = { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } as const;

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(USAGE + '\n');
    return verb ? 0 : 2;
  }
  if (verb === '--version' || verb === 'version') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  // `rackhand VERB --help`: that verb's usage, before anything is parsed or any daemon reached.
  if (rest.includes('--help') || rest.includes('-h')) {
    const usage = verbUsage(verb);
    if (!usage) throw new CliError(`unknown verb ${verb}\n${USAGE}`, 2);
    process.stdout.write(usage + '\n');
    return 0;
  }
  if (verb === '__complete') return completeCmd(rest);
  switch (verb) {
    case 'serve': return serveCmd(rest);
    case 'validate': {
      const { positionals } = parse(rest, {});
      const file = positionals[0] ?? defaultInventory();
      const result = validateInventory(file, { anyRack: true });
      if (!result.ok) {
        for (const e of result.errors) process.stderr.write(formatError(e) + '\n');
        process.stderr.write(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'} in ${file}\n`);
        return 2;
      }
      for (const w of result.warnings) process.stderr.write(formatWarning(w) + '\n');
      const inv = result.value.inventory;
      const racks = Object.keys(inv.racks).length;
      process.stdout.write(`${file}: ok (${inv.machines.length} machines, ${Object.keys(inv.profiles).length} profiles${racks ? `, ${racks} racks` : ''})\n`);
      return 0;
    }
    case 'lab': {
      const [sub, ...args] = rest;
      const { values, positionals } = parse(args, { dir: { type: 'string' }, machines: { type: 'string' }, racks: { type: 'string' }, 'auto-redeploy': { type: 'boolean', default: false }, 'ssh-key': { type: 'string' } });
      const lab = await import('./lab-cmd.js');
      switch (sub) {
        case 'up': {
          const n = Number(values.machines ?? 2);
          if (!Number.isInteger(n) || n < 1 || n > 16) throw new CliError('--machines takes 1 to 16', 2);
          const racks = Number(values.racks ?? 1);
          if (racks !== 1 && racks !== 2) throw new CliError('--racks takes 1 or 2', 2);
          await lab.labUp({ dir: values.dir, machines: n, racks, autoRedeploy: values['auto-redeploy']!, sshKey: values['ssh-key'], main: process.argv[1]! });
          return 0;
        }
        case 'down': await lab.labDown({ dir: values.dir }); return 0;
        case 'status': await lab.labStatus({ dir: values.dir, json: values.json! }); return 0;
        case 'restart-rack': {
          if (positionals.length !== 1) throw new CliError('usage: rackhand lab restart-rack RACK', 2);
          await lab.labRestartRack({ dir: values.dir, rack: positionals[0]! });
          return 0;
        }
        case 'supervise': await lab.labSupervise({ dir: values.dir, main: process.argv[1]! }); return 0;
        default: throw new CliError('usage: rackhand lab up [--machines N] [--racks 2] [--auto-redeploy] [--ssh-key FILE] | down | status | restart-rack RACK', 2);
      }
    }
    case 'diagram':
      process.stdout.write(mermaidDiagram() + '\n');
      return 0;
  }

  const api = () => apiClient();
  const name = (p: string[]) => needName(p, verb);
  switch (verb) {
    case 'machines': {
      const { values } = parse(rest, { state: { type: 'string' }, all: { type: 'boolean', default: false } });
      await machinesCmd(api(), { json: values.json!, state: values.state, all: values.all! });
      return 0;
    }
    case 'racks': {
      const { values } = parse(rest, {});
      await racksCmd(api(), { json: values.json! });
      return 0;
    }
    case 'show': {
      const { values, positionals } = parse(rest, {});
      await showCmd(api(), name(positionals), { json: values.json! });
      return 0;
    }
    case 'events': {
      const { values, positionals } = parse(rest, { since: { type: 'string' }, limit: { type: 'string' }, follow: { type: 'boolean', short: 'f', default: false } });
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new CliError('--limit takes a positive whole number', 2);
      await eventsCmd(api(), { json: values.json!, machine: positionals[0], since: values.since, limit, follow: values.follow! });
      return 0;
    }
    case 'operations': {
      const { values, positionals } = parse(rest, { limit: { type: 'string' } });
      await operationsCmd(api(), name(positionals), { json: values.json!, limit: positiveInt(values.limit, '--limit') });
      return 0;
    }
    case 'log': {
      const { values, positionals } = parse(rest, {});
      await logCmd(api(), name(positionals), { json: values.json!, operation: positionals[1] });
      return 0;
    }
    case 'trace': {
      const { values, positionals } = parse(rest, { limit: { type: 'string' } });
      await traceCmd(api(), name(positionals), { json: values.json!, limit: positiveInt(values.limit, '--limit') });
      return 0;
    }
    case 'release': {
      const { values, positionals } = parse(rest, { reason: { type: 'string' }, wait: { type: 'boolean', default: false } });
      const target = positionals[0];
      if (!target) throw new CliError('usage: rackhand release ALLOCATION|MACHINE [--wait]', 2);
      return (await releaseCmd(api(), target, { json: values.json!, wait: values.wait!, reason: values.reason })) ? 0 : 1;
    }
    case 'allocate': {
      const { values, positionals } = parse(rest, {
        owner: { type: 'string' }, profile: { type: 'string' }, cpus: { type: 'string' }, memory: { type: 'string' },
        disk: { type: 'string' }, arch: { type: 'string' }, tag: { type: 'string', multiple: true }, count: { type: 'string' },
        wait: { type: 'boolean', default: false },
      });
      if (!values.profile || positionals.length) throw new CliError('usage: rackhand allocate --profile P [--owner T] [--cpus N] [--memory 32G] [--disk 100G] [--arch A] [--tag T]… [--count N] [--wait]', 2);
      const ok = await allocateCmd(api(), {
        owner: values.owner, profile: values.profile, cpus: positiveInt(values.cpus, '--cpus'),
        memoryGib: values.memory === undefined ? undefined : parseSize(values.memory, '--memory'),
        diskGib: values.disk === undefined ? undefined : parseSize(values.disk, '--disk'),
        arch: values.arch, tags: values.tag ?? [], count: positiveInt(values.count, '--count'),
        wait: values.wait!, json: values.json!,
      });
      return ok ? 0 : 1;
    }
    case 'allocations': {
      const { values } = parse(rest, { owner: { type: 'string' }, all: { type: 'boolean', default: false } });
      await allocationsCmd(api(), { json: values.json!, owner: values.owner, all: values.all! });
      return 0;
    }
    case 'allocation': {
      const { values, positionals } = parse(rest, {});
      if (!positionals[0]) throw new CliError('usage: rackhand allocation ID', 2);
      await showAllocationCmd(api(), positionals[0], { json: values.json! });
      return 0;
    }
    case 'tokens': {
      const [sub, ...args] = rest;
      const { values, positionals } = parse(args, { owner: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' } });
      if (sub === 'create' && values.owner && !positionals.length) {
        await tokensCreateCmd(api(), { owner: values.owner, name: values.name, expires: values.expires, json: values.json! });
        return 0;
      }
      if (sub === 'list' && !positionals.length) { await tokensListCmd(api(), { json: values.json! }); return 0; }
      if (sub === 'revoke' && positionals.length === 1) { await tokensRevokeCmd(api(), positionals[0]!, { json: values.json! }); return 0; }
      if (sub === 'rotate' && positionals.length <= 1) { await tokensRotateCmd(api(), positionals[0], { json: values.json! }); return 0; }
      throw new CliError('usage: rackhand tokens create --owner T [--name N] [--expires 30d] | list | revoke NAME | rotate [NAME]', 2);
    }
    case 'inspect': case 'retry': case 'reimage': case 'deploy': {
      const { values, positionals } = parse(rest, { profile: { type: 'string' }, reason: { type: 'string' }, wait: { type: 'boolean', default: false } });
      if (values.profile && verb !== 'deploy' && verb !== 'reimage') throw new CliError(`--profile goes with deploy and reimage`, 2);
      const ok = await actionCmd(api(), name(positionals), verb, { profile: values.profile, reason: values.reason }, { json: values.json!, wait: values.wait! });
      return ok ? 0 : 1;
    }
    case 'accept': {
      const { values, positionals } = parse(rest, {});
      await acceptCmd(api(), name(positionals), { json: values.json! });
      return 0;
    }
    case 'forget': {
      const { values, positionals } = parse(rest, { pending: { type: 'boolean', default: false }, reason: { type: 'string' } });
      if (values.pending === (positionals.length > 0) || positionals.length > 1) throw new CliError('usage: rackhand forget MACHINE | forget --pending [--reason TEXT]', 2);
      await forgetCmd(api(), values.pending ? { pending: true } : { name: positionals[0]! }, { json: values.json!, reason: values.reason });
      return 0;
    }
    case 'maintenance': {
      const { values, positionals } = parse(rest, { reason: { type: 'string' } });
      const [machine, onOff] = positionals;
      if (!machine || (onOff !== 'on' && onOff !== 'off')) throw new CliError('usage: rackhand maintenance MACHINE on|off', 2);
      await actionCmd(api(), machine, `maintenance_${onOff}`, { reason: values.reason }, { json: values.json! });
      return 0;
    }
    case 'power': {
      const { values, positionals } = parse(rest, { boot: { type: 'string' } });
      const [machine, action] = positionals;
      if (!machine || !['on', 'off', 'cycle', 'status'].includes(action ?? '')) throw new CliError('usage: rackhand power MACHINE on|off|cycle|status [--boot pxe|disk]', 2);
      if (values.boot !== undefined && (action === 'status' || !['pxe', 'disk'].includes(values.boot))) throw new CliError('--boot takes pxe or disk, with on, off or cycle', 2);
      await powerCmd(api(), machine, action!, { json: values.json!, bootDevice: values.boot });
      return 0;
    }
    default:
      throw new CliError(`unknown verb ${verb}\n${USAGE}`, 2);
  }
}

async function serveCmd(rest: string[]): Promise<number> {
  const { values } = parse(rest, {
    inventory: { type: 'string' }, 'state-dir': { type: 'string' }, listen: { type: 'string' }, port: { type: 'string' },
    'log-level': { type: 'string' }, 'http-only': { type: 'boolean', default: false }, 'no-power': { type: 'boolean', default: false },
    store: { type: 'string' }, rack: { type: 'string' },
  });
  const storeProblem = values.store === undefined ? undefined : storeUrlProblem(values.store);
  if (storeProblem) throw new CliError(`--store: ${storeProblem}`, 2);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new CliError('--port takes a port number', 2);
  const logger = createLogger({ level: values['log-level'] });
  const { startDaemon, InventoryInvalid } = await import('../serve.js');
  let daemon;
  try {
    daemon = await startDaemon({
      inventoryFile: values.inventory ?? defaultInventory(),
      stateDir: values['state-dir'] ?? defaultStateDir(),
      httpListen: values.listen, httpPort: port, logger, httpOnly: values['http-only'], powerActions: !values['no-power'], store: values.store, rack: values.rack,
      // Another daemon took this rack over while we were cut off: two must never serve one rack.
      onRackLost: (reason) => { process.stderr.write(`rackhand: ${reason}: stopped\n`); process.exit(1); },
    });
  } catch (err) {
    if (err instanceof InventoryInvalid) {
      process.stderr.write(err.message + '\n');
      return 2;
    }
    // Start-up failures (a port in use, a missing interface) are the operator's to fix: one line.
    throw new CliError((err as Error).message, 1);
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping: draining requests');
    daemon.close().then(() => { logger.info('stopped'); process.exit(0); }, (err) => { logger.error({ err }, 'stop failed'); process.exit(1); });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => { daemon.reload().catch((err) => logger.error({ err }, 'reload failed')); });
  return new Promise(() => { /* runs until a signal */ });
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  if (err instanceof CliError) {
    process.stderr.write(`rackhand: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`rackhand: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  }
});
