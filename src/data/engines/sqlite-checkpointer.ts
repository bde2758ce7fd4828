import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the worker copies the write-ahead log back into the database file. */
const EVERY_MS = 100;
/** The main connection's own automatic checkpoint, kept as the backstop, in pages (≈ 40 MB of log). */
const BACKSTOP_PAGES = 10_000;

/**
 * The worker's whole program, CommonJS so it runs the same from the sources
 * and from the bundle (a worker file would have a different path in each).
 * PASSIVE never waits for the writer: it copies what is committed and
 * returns. A failed checkpoint (the file gone, another checkpoint running) is
 * retried at the next tick.
 */
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints an SQLite file's write-ahead log from a second connection in a
 * worker thread. A checkpoint syncs the log and the database file to disk;
 * run by the connection that commits (SQLite's default, every 1000 pages),
 * those syncs stall the event loop and every request in flight with it: on a
 * refresh token grant they were about 40 µs of each grant's share.
 *
 * The main connection keeps an automatic checkpoint as the backstop. SQLite
 * starts the log over only when everything in it was copied with no commit
 * in between, which a steady stream of writes never allows; then the log
 * grows to the backstop, and the main connection's checkpoint (which finds
 * little left to copy) lets it start over. It also covers a worker that
 * could not open the file.
 */
export class SqliteCheckpointer {
  private running: { worker: Worker; exited: Promise<void> } | undefined;
  private readonly starting: NodeJS.Timeout;

  constructor(db: Database.Database, file: string) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    // The first checkpoint is due after EVERY_MS anyway: a store closed sooner (a command
    // of the CLI, a migration) never starts a thread, and never waits for one to stop.
    this.starting = setTimeout(() => (this.running = startWorker(file)), EVERY_MS).unref();
  }

  /**
   * Stops the worker and closes its connection. Whichever connection to a file
   * closes last folds the log in and removes it: without this, that would be
   * the worker's, at some later moment, or never if the process ended first.
   */
  async stop(): Promise<void> {
    clearTimeout(this.starting);
    if (!this.running) return;
    // Held while it finishes: unreferenced, the process could end before the log is folded in.
    this.running.worker.ref();
    this.running.worker.postMessage('stop');
    await this.running.exited;
  }
}

function startWorker(file: string): { worker: Worker; exited: Promise<void> } {
  const worker = new Worker(PROGRAM, {
    eval: true,
    workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3'), everyMs: EVERY_MS },
    // The worker needs none of the server's flags (a profiler, a loader).
    execArgv: [],
  });
  // Failing to open is survivable (the backstop checkpoints instead); a crash of the process is not.
  worker.on('error', () => {});
  worker.unref();
  return { worker, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
}
