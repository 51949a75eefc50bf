// TFTP benchmark: Rackhand, tftpd-hpa and atftpd side by side, same namespaces, same run.
// Two namespaces joined by a veth (MTU 1500); the server is pinned to one core and the
// clients to the other (taskset); files live on tmpfs so the disk is not what is measured.
// Every download is checked by sha256 after its timing. Prints a table of MB/s (10^6 B/s),
// the median of --runs runs (default 3), with min–max beside it, then the server's CPU time per
// MB moved (user + system of the server process and its reaped children: steadier than MB/s on
// a loaded host), the clients' CPU time per MB (the shell's `times` after they are reaped: a client
// whose CPU time is near the transfer's wall time is what sets the pace), and the load average at
// the start of each run.
//
//   node --import tsx bench/tftp/run.ts [--runs N] [--server-cpu 0] [--client-cpu 1] [--only Rackhand,atftpd]
//     [--scenarios 2,5]   (1-based numbers in the table's order: only those scenarios)
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { twoHostLink } from '../../tests/lib/netns.js';
import { cpuMs } from '../../tests/lib/proc.js';
import { tryExec } from '../../tests/lib/netns.js';
import { peersDir, serverDefs, type ServerDef } from './servers.js';
import { spread } from '../stats.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'server-cpu': { type: 'string', default: '0' },
    'client-cpu': { type: 'string', default: '1' },
    only: { type: 'string' },
    scenarios: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const CLIENT_ADDRESS = '10.20.0.50';
const BIG = 'big.bin';
const SMALL = 'four.bin';
const CONCURRENT = 64;

interface Scenario {
  name: string;
  bytes: number;
  windowed: boolean;
  /** A shell command run in the client namespace on the client core; OUT is the output dir. */
  command(server: string, out: string): string;
  outputs(out: string): { file: string; source: string }[];
}

const atftp = (server: string, file: string, local: string, windowsize?: number): string =>
  `atftp --option 'blksize 1468' ${windowsize ? `--option 'windowsize ${windowsize}' ` : ''}-g -r ${file} -l ${local} ${server} >/dev/null`;

const allScenarios: Scenario[] = [
  {
    name: '32 MiB, blksize 1468, lock-step (atftp)', bytes: 32 << 20, windowed: false,
    command: (s, out) => atftp(s, BIG, `${out}/a`),
    outputs: (out) => [{ file: `${out}/a`, source: BIG }],
  },
  {
    name: '32 MiB, blksize 1468, windowsize 16 (atftp)', bytes: 32 << 20, windowed: true,
    command: (s, out) => atftp(s, BIG, `${out}/a`, 16),
    outputs: (out) => [{ file: `${out}/a`, source: BIG }],
  },
  {
    name: '32 MiB, blksize 1468, lock-step (busybox)', bytes: 32 << 20, windowed: false,
    command: (s, out) => `busybox tftp -b 1468 -g -r ${BIG} -l ${out}/a ${s}`,
    outputs: (out) => [{ file: `${out}/a`, source: BIG }],
  },
  {
    name: `${CONCURRENT} × 4 MiB at once, lock-step (atftp)`, bytes: CONCURRENT * (4 << 20), windowed: false,
    command: (s, out) => `for i in $(seq ${CONCURRENT}); do ${atftp(s, SMALL, `${out}/c$i`)} & done; wait`,
    outputs: (out) => Array.from({ length: CONCURRENT }, (_, i) => ({ file: `${out}/c${i + 1}`, source: SMALL })),
  },
  {
    name: `${CONCURRENT} × 4 MiB at once, windowsize 16 (atftp)`, bytes: CONCURRENT * (4 << 20), windowed: true,
    command: (s, out) => `for i in $(seq ${CONCURRENT}); do ${atftp(s, SMALL, `${out}/c$i`, 16)} & done; wait`,
    outputs: (out) => Array.from({ length: CONCURRENT }, (_, i) => ({ file: `${out}/c${i + 1}`, source: SMALL })),
  },
];

const scenarios: Scenario[] = args.scenarios === undefined ? allScenarios : args.scenarios.split(',').map((n) => {
  const sc = allScenarios[Number(n) - 1];
  if (!sc) throw new Error(`--scenarios: no scenario ${n} (1 to ${allScenarios.length})`);
  return sc;
});

/** The second line of sh's `times`: user and system time of the shell's reaped children ("0m0.120000s 0m0.050000s"). */
function childrenCpuMs(stdout: string): number {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)];
  if (parts.length !== 2) throw new Error(`sh's times printed ${JSON.stringify(line)}: expected two times like 0m0.120000s`);
  return parts.reduce((ms, m) => ms + (Number(m[1]) * 60 + Number(m[2])) * 1000, 0);
}

/** One run's figure, under its scenario and server. */
function record(table: Map<string, Map<string, number[]>>, scenario: string, server: string, value: number): void {
  const perServer = table.get(scenario) ?? new Map<string, number[]>();
  table.set(scenario, perServer);
  perServer.set(server, [...(perServer.get(server) ?? []), value]);
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

async function main(): Promise<void> {
  const peers = peersDir();
  const only = args.only?.split(',');
  const servers: ServerDef[] = serverDefs(peers).filter((s) => !only || only.includes(s.name));
  // tmpfs, world-readable: tftpd-hpa and atftpd drop to nobody before reading.
  const work = mkdtempSync(path.join('/dev/shm', 'rh-tftp-bench-'));
  chmodSync(work, 0o755);
  const root = path.join(work, 'root');
  const out = path.join(work, 'out');
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(out);
  const sources: Record<string, string> = {};
  for (const [name, size] of [[BIG, 32 << 20], [SMALL, 4 << 20]] as const) {
    const data = randomBytes(size);
    writeFileSync(path.join(root, name), data, { mode: 0o644 });
    sources[name] = createHash('sha256').update(data).digest('hex');
  }
  const link = await twoHostLink({ tag: 'tftpbn', clientAddress: CLIENT_ADDRESS });
  const results = new Map<string, Map<string, number[]>>();
  const cpu = new Map<string, Map<string, number[]>>();
  const clientCpu = new Map<string, Map<string, number[]>>();
  const loads: string[] = [];
  const failures: string[] = [];
  try {
    // Round-robin: each run measures every server in turn, so a slow phase of the machine
    // (a VM's neighbours come and go) lands on all of them rather than on one.
    for (let run = 0; run < RUNS; run++) {
      loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join('/'));
      for (const server of servers) {
        const running = await server.start(link.server, root, link.serverAddress, args['server-cpu']!);
        try {
          for (const sc of scenarios) {
            rmSync(out, { recursive: true, force: true });
            mkdirSync(out);
            const cpuBefore = cpuMs(running.pid);
            const started = performance.now();
            const r = await tryExec(link.client, 'taskset', ['-c', args['client-cpu']!, 'sh', '-c', `${sc.command(link.serverAddress, out)}; times`], 600_000);
            const seconds = (performance.now() - started) / 1000;
            const cpuUsed = cpuMs(running.pid) - cpuBefore;
            if (r.code !== 0) {
              failures.push(`run ${run + 1} ${server.name} / ${sc.name}: exit ${r.code}: ${r.stderr.trim().split('\n').pop()}`);
              process.stderr.write(`${failures.at(-1)}\n`);
              continue;
            }
            // A client that gave up (a busy host: it happens to the C servers too) is recorded and
            // the run left out of that cell, rather than ending the whole benchmark.
            const bad = sc.outputs(out).filter((o) => !existsSync(o.file) || sha(o.file) !== sources[o.source]);
            if (bad.length > 0) {
              const failure = `run ${run + 1} ${server.name} / ${sc.name}: ${bad.length} download(s) incomplete or wrong (${bad[0]!.file}: ${existsSync(bad[0]!.file) ? statSync(bad[0]!.file).size : 0} bytes)`;
              failures.push(failure);
              process.stderr.write(`${failure}\n`);
              continue;
            }
            const mbps = sc.bytes / seconds / 1e6;
            const clientUsed = childrenCpuMs(r.stdout);
            record(results, sc.name, server.name, mbps);
            record(cpu, sc.name, server.name, cpuUsed / (sc.bytes / 1e6));
            record(clientCpu, sc.name, server.name, clientUsed / (sc.bytes / 1e6));
            process.stderr.write(`run ${run + 1}  ${server.name.padEnd(14)} ${sc.name.padEnd(46)} ${mbps.toFixed(1)} MB/s, ` +
              `server CPU ${cpuUsed.toFixed(0)} ms, clients' CPU ${clientUsed.toFixed(0)} ms in ${(seconds * 1000).toFixed(0)} ms\n`);
          }
        } finally {
          await running.stop();
        }
      }
    }
  } finally {
    await link.close();
    rmSync(work, { recursive: true, force: true });
  }
  printTable(servers, results, 'TFTP throughput, MB/s', 0);
  printTable(servers, cpu, 'Server CPU ms per MB sent (lower is better)', 2);
  printTable(servers, clientCpu, "Clients' CPU ms per MB received (the same clients for every server)", 2);
  process.stdout.write(`\nLoad average (1/5/15 min) at the start of each run: ${loads.join('; ')}\n`);
  if (failures.length > 0) process.stdout.write(`\nLeft out (a client gave up):\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
}

function printTable(servers: ServerDef[], results: Map<string, Map<string, number[]>>, title: string, digits: number): void {
  const width = Math.max(...scenarios.map((s) => s.name.length)) + 2;
  const lines = [
    '', `${title}: median (min–max) of ${RUNS} runs; server on cpu ${args['server-cpu']}, clients on cpu ${args['client-cpu']}, ` +
      `veth MTU 1500, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'}`,
    '',
    `| ${'scenario'.padEnd(width)} | ${servers.map((s) => s.name.padStart(16)).join(' | ')} |`,
    `|${'-'.repeat(width + 2)}|${servers.map(() => `${'-'.repeat(17)}:`).join('|')}|`,
  ];
  for (const sc of scenarios) {
    const cells = servers.map((s) => {
      const xs = results.get(sc.name)?.get(s.name);
      const mark = sc.windowed && !s.windowsize ? '*' : ' ';
      const runs = xs && xs.length < RUNS ? ` [${xs.length}]` : '';
      const text = xs ? `${spread(xs, (x) => x.toFixed(digits))}${runs}` : '—';
      return `${text}${mark}`.padStart(16);
    });
    lines.push(`| ${sc.name.padEnd(width)} | ${cells.join(' | ')} |`);
  }
  lines.push('', '* ignores the windowsize option, so the transfer ran in lock-step. [n]: only n runs completed.');
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
