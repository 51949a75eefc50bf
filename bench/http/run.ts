// bench/http: downloads of a 256 MiB image from Rackhand's /boot/ and from nginx (sendfile on),
// 1 and 16 at once, on loopback, side by side in one run. Prints MB/s (10^6 bytes/s).
//   node --import tsx bench/http/run.ts [--runs 3] [--size-mib 256] [--server-cpu 0 --client-cpu 1 | --unpinned]
// Pinned (the default, as bench/tftp does): both servers on one CPU, the curls on the other, so
// the figure is each server's own cost per byte. --unpinned lets everything share both CPUs:
// then the 16 curls compete with the server, and every byte a server copies through user space
// is CPU its clients lack.
// As root (installs nginx from Debian's packages when missing; starts its own copy, stops it).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, openSync, closeSync, writeSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { median, spread } from '../stats.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: {
  runs: { type: 'string', default: '3' }, 'size-mib': { type: 'string', default: '256' },
  'server-cpu': { type: 'string', default: '0' }, 'client-cpu': { type: 'string', default: '1' }, unpinned: { type: 'boolean', default: false },
} });
/** argv prefixed with taskset onto `cpu`, unless unpinned. */
const pinned = (cpu: string, argv: string[]): [string, string[]] => (values.unpinned ? [argv[0]!, argv.slice(1)] : ['taskset', ['-c', cpu, ...argv]]);
const RUNS = Number(values.runs);
const SIZE = Number(values['size-mib']) << 20;
const REPO = new URL('../../', import.meta.url).pathname;

execFileSync(join(REPO, 'tests/setup/ensure-packages.sh'), ['nginx-light', 'curl'], { stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'rackhand-bench-http-'));
chmodSync(dir, 0o755); // nginx's workers run as nobody
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const images = join(dir, 'boot-images', 'images');
mkdirSync(images, { recursive: true });
const fd = openSync(join(images, 'big.raw'), 'w');
const chunk = randomBytes(1 << 20);
for (let i = 0; i < SIZE; i += chunk.length) writeSync(fd, chunk);
closeSync(fd);
const digest = createHash('sha256').update(readFileSync(join(images, 'big.raw'))).digest('hex');

// Rackhand: the daemon in its own process (HTTP only), serving the images directory at /boot/.
// Not in this process: the curls' bookkeeping here would steal the daemon's event loop, while
// nginx runs apart.
mkdirSync(join(dir, 'templates'));
writeFileSync(join(dir, 'inventory.yaml'), `site:\n  interface: lo\n  address: 127.0.0.1\n  http_port: 18081\n  dhcp: { mode: proxy }\n`);
const daemon = spawn(...pinned(values['server-cpu']!, [process.execPath, '--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve', '--inventory', join(dir, 'inventory.yaml'),
  '--state-dir', join(dir, 'state'), '--listen', '127.0.0.1', '--port', '18081', '--http-only', '--no-power']), { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO });
process.on('exit', () => daemon.kill('SIGTERM'));
await new Promise<void>((resolve, reject) => {
  let log = '';
  daemon.stdout!.on('data', (d: Buffer) => { log += d; if (log.includes('HTTP listening')) { daemon.stdout!.resume(); resolve(); } });
  daemon.once('exit', (code) => reject(new Error(`the daemon exited (${code}): ${log}`)));
});

// nginx: its own config, sendfile on, one worker per core, the same directory.
const conf = join(dir, 'nginx.conf');
writeFileSync(conf, `daemon off; worker_processes auto; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; server { listen 127.0.0.1:18082; root ${join(dir, 'boot-images')}; location /boot/ { alias ${join(dir, 'boot-images')}/; } } }\n`);
const nginx = spawn(...pinned(values['server-cpu']!, ['nginx', '-c', conf, '-p', dir]), { stdio: 'ignore' });
// TERM, not KILL: the master then stops its workers, which would otherwise keep the port.
process.on('exit', () => nginx.kill('SIGTERM'));
await new Promise((r) => setTimeout(r, 500));

async function download(url: string, n: number): Promise<number> {
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: n }, () =>
    run(...pinned(values['client-cpu']!, ['curl', '-sS', '-o', '/dev/null', '-w', '%{size_download} %{http_code}', url]), { maxBuffer: 1 << 20 })));
  const secs = (performance.now() - start) / 1000;
  for (const r of results) {
    const [size, code] = r.stdout.split(' ');
    if (Number(size) !== SIZE || code !== '200') throw new Error(`${url}: got ${r.stdout}`);
  }
  return (SIZE * n) / secs / 1e6;
}

// A checked download first: both serve the same bytes.
for (const port of [18081, 18082]) {
  const { stdout } = await run('sh', ['-c', `curl -sS http://127.0.0.1:${port}/boot/images/big.raw | sha256sum`]);
  if (!stdout.startsWith(digest)) {
    const head = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/boot/images/big.raw`]);
    throw new Error(`port ${port} served other bytes (HTTP ${head.stdout}); nginx log: ${readFileSync(join(dir, "nginx.err"), "utf8").slice(-300)}`);
  }
}

const servers = [['Rackhand', 'http://127.0.0.1:18081/boot/images/big.raw'], ['nginx', 'http://127.0.0.1:18082/boot/images/big.raw']] as const;
const figures: Record<string, Record<string, number[]>> = {};
for (let r = 0; r < RUNS; r++) {
  for (const parallel of [1, 16]) {
    for (const [name, url] of servers) {
      ((figures[`${parallel}`] ??= {})[name] ??= []).push(await download(url, parallel));
    }
  }
}
const placement = values.unpinned ? 'unpinned' : `servers on cpu ${values['server-cpu']}, curls on cpu ${values['client-cpu']}`;
console.log(`\n${SIZE >> 20} MiB image over loopback, MB/s, median of ${RUNS} (min–max); ${placement}\n`);
console.log('| downloads at once | Rackhand | nginx | Rackhand / nginx |');
console.log('|---:|---:|---:|---:|');
for (const [parallel, byServer] of Object.entries(figures)) {
  const cell = (xs: number[]) => spread(xs, (x) => x.toFixed(0));
  console.log(`| ${parallel} | ${cell(byServer.Rackhand!)} | ${cell(byServer.nginx!)} | ${(median(byServer.Rackhand!) / median(byServer.nginx!)).toFixed(2)}× |`);
}
daemon.kill('SIGTERM');
nginx.kill('SIGTERM');
process.exit(0);
