import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { tempDir } from '../lib/tmp.js';

const driver = fileURLToPath(new URL('../lib/crash-driver.ts', import.meta.url));
const KILLS = 24;

function runUntilKilled(file: string, afterReadyMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', driver, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) setTimeout(() => child.kill('SIGKILL'), afterReadyMs);
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`driver ended by itself: ${code} ${signal}`))));
  });
}

test(`kill -9 at random moments, ${KILLS} times: the database stays whole and every state matches its last event`, async () => {
  const file = join(tempDir('crash'), 'rackhand.db');
  let previousEvents = 0;
  let grew = 0;
  for (let i = 0; i < KILLS; i++) {
    await runUntilKilled(file, 30 + Math.floor(Math.random() * 400));
    const db = new Database(file);
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', `kill ${i}: integrity_check`);
      const machines = db.prepare('SELECT name, state FROM machines').all() as { name: string; state: string }[];
      assert.equal(machines.length, 8);
      for (const m of machines) {
        const last = db.prepare("SELECT to_state FROM events WHERE machine = ? AND kind = 'transition' ORDER BY id DESC LIMIT 1").get(m.name) as { to_state: string };
        assert.equal(m.state, last.to_state, `kill ${i}: ${m.name} is ${m.state} but its last event says ${last.to_state}`);
      }
      const events = (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
      assert.ok(events >= previousEvents, `kill ${i}: events went from ${previousEvents} to ${events}`);
      if (events > previousEvents) grew++;
      previousEvents = events;
    } finally {
      db.close();
    }
  }
  assert.ok(grew >= KILLS / 2, `the driver made progress between most kills (${grew} of ${KILLS})`);
});
