// Runs the TFTP server in its own process, so a test can start it inside a network namespace
// (a Node process cannot enter one). Settings come as JSON in argv[2]. Control over stdio:
// stdout gets one JSON line {"ready":{port,maxBlockSize}} once listening, then one
// {"stats":…} line per "stats" line on stdin; "close" on stdin (or SIGTERM) closes the server
// and exits. Logs go to stderr, so the parent can show them when a test fails.
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startTftpServer, type TftpSettingsInput } from '../../daemon/tftp/index.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as TftpSettingsInput;
const logger = pino({ name: 'rackhand', level: process.env.RACKHAND_LOG_LEVEL ?? 'info' }, pino.destination(2));
const registry = new Registry();
const server = await startTftpServer(settings, { logger, registry });
const say = (line: unknown): void => { process.stdout.write(`${JSON.stringify(line)}\n`); };
say({ ready: { port: server.port, maxBlockSize: server.maxBlockSize } });

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  await server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') say({ stats: server.stats() });
  else if (line === 'metrics') void registry.metrics().then((text) => say({ metrics: text }));
  else if (line === 'close') void shutdown();
}).on('close', () => void shutdown());
