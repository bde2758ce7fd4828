import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker copies the write-ahead log back into the database file. */
const EVERY_MS = 100;

/**
 * The worker's whole program, CommonJS so it runs the same from the sources
 * and from the bundle (a worker file would have a different path in each).
 * PASSIVE never waits for the writer: it copies what is committed and
 * returns. A failed checkpoint (the file gone, another checkpoint running) is retried
 * at the next tick.
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
  /** The backstop for the main connection's `wal_autocheckpoint`, in pages (≈ 40 MB of log). */
  static readonly BACKSTOP_PAGES = 10_000;

  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    this.worker = new Worker(PROGRAM, {
      eval: true,
      workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3'), everyMs: EVERY_MS },
      // The worker needs none of the server's flags (a profiler, a loader).
      execArgv: [],
    });
    // Failing to open is survivable (the backstop checkpoints instead); a crash of the process is not.
    this.worker.on('error', () => {});
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Stops the worker and closes its connection, so the main connection closes last and removes the log. */
  async stop(): Promise<void> {
    // Held while it finishes: unreferenced, the process could end before the log is folded in.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
