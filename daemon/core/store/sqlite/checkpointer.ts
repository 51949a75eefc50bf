// Checkpoints of the SQLite write-ahead log, off the event loop. By default the connection that
// commits runs a checkpoint whenever the WAL passes 1,000 pages: the daemon's one thread copying
// pages into the database file and waiting for two fsyncs, 5–60 ms at a time, about 160 times in
// a 2,000-machine boot storm (BENCHMARKS.md, bench/storm). Here a worker thread with its own
// connection to the file checkpoints PASSIVE a few times a second: it never waits for the daemon's
// reads or writes, nor they for it. Durability is SQLite's own either way: a commit is in the WAL
// (synchronous=NORMAL) and a process killed mid-checkpoint leaves the WAL to be replayed.
// The daemon's connection keeps a checkpoint of its own at a higher mark, should the worker stop
// or fall behind (a WAL that writers never let it finish).
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

/** Pages the WAL may hold before the committing connection checkpoints it itself. */
export const FALLBACK_CHECKPOINT_PAGES = 10_000;
const EVERY_MS = 250;

// CommonJS, evaluated in the worker: it needs nothing of ours but better-sqlite3 (its path is
// passed, the worker resolves nothing relative to the process's working directory).
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
let failed = false;
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); failed = false; }
  catch (err) { if (!failed) parentPort.postMessage(String((err && err.message) || err)); failed = true; }
}, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/** Starts checkpointing `file` in a worker thread; `warn` hears a failure (once until it recovers). */
export function startCheckpointer(file: string, warn: (message: string) => void = () => undefined): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, module, everyMs: EVERY_MS } });
  // It must not keep a process alive that has nothing else to do.
  worker.unref();
  worker.on('message', (m) => warn(`SQLite checkpoint: ${String(m)}`));
  worker.on('error', (err) => warn(`SQLite checkpointer stopped: ${err.message}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.ref(); // until it has closed its connection
      worker.postMessage('stop');
      await exited;
    },
  };
}
