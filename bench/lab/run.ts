// bench/lab: seconds from `deploy` to `deployed` (the deployed system phoned home) per machine,
// for 1 machine and for N at once in the QEMU lab (TCG), and the daemon's peak RSS meanwhile.
//   node --import tsx bench/lab/run.ts [--parallel 4]
// As root, with the boot images built (make boot-images) and no other lab up.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { peakRssMiB } from '../../tests/lib/proc.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { parallel: { type: 'string', default: '4' } } });
const REPO = new URL('../../', import.meta.url).pathname;
const MAIN = join(REPO, 'daemon/cli/main.ts');

async function rackhand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env, cwd: REPO, maxBuffer: 16 << 20 });
  return stdout;
}

/** The lab daemon's peak RSS in MiB (its PID is in the lab folder). */
const peakRss = (dir: string): number => peakRssMiB(Number(readFileSync(join(dir, 'daemon.pid'), 'utf8')));

async function scenario(count: number): Promise<{ seconds: number[]; rss: number }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'rackhand-bench-lab-')), 'lab');
  const env = { ...process.env, RACKHAND_URL: 'http://169.254.210.2:8080', RACKHAND_STATE_DIR: join(dir, 'state') };
  try {
    await rackhand(['lab', 'up', '--machines', String(count), '--dir', dir]);
    const names = Array.from({ length: count }, (_, i) => `node-${String(i + 1).padStart(2, '0')}`);
    await Promise.all(names.map((n) => rackhand(['inspect', n, '--wait'], env)));
    const seconds = await Promise.all(names.map(async (n) => {
      const start = performance.now();
      await rackhand(['deploy', n, '--wait'], env);
      return (performance.now() - start) / 1000;
    }));
    return { seconds, rss: peakRss(dir) };
  } finally {
    await rackhand(['lab', 'down', '--dir', dir]).catch(() => undefined);
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

const one = await scenario(1);
const many = await scenario(Number(values.parallel));
console.log('\n| machines deployed at once | seconds to deployed, each | daemon peak RSS |');
console.log('|---:|---|---:|');
for (const [n, r] of [[1, one], [Number(values.parallel), many]] as const) {
  console.log(`| ${n} | ${r.seconds.map((s) => s.toFixed(0)).join(', ')} | ${r.rss.toFixed(0)} MiB |`);
}
