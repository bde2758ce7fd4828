/**
 * An SQLite file's write-ahead log is copied back into the database by a
 * worker thread, so the connection that serves requests seldom stops for a
 * checkpoint's disk syncs (see data/engines/sqlite-checkpointer.ts). SQLite
 * only: it runs in both halves of the suite, on a file of its own.
 */
import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import Database from 'better-sqlite3';
import { openStore } from '../../src/data/engines/open.ts';
import { createTestDatabase } from '../helpers/database.ts';

/** 2 MB of rows: about 500 pages, under SQLite's own automatic checkpoint (1,000 pages). */
const ROWS = 64;
const ROW = 'x'.repeat(32 * 1024);

async function sqliteFile(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const database = await createTestDatabase('sqlite');
  t.teardown(() => database.drop());
  return database.url.replace(/^sqlite:/, '');
}

async function writeRows(file: string) {
  const store = openStore(`sqlite:${file}`);
  await store.run('CREATE TABLE IF NOT EXISTS filler (n INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  for (let n = 0; n < ROWS; n++) await store.run('INSERT INTO filler (n, body) VALUES (?, ?)', [n, ROW]);
  return store;
}

/** The database file's size once the rows reached it, or after 5 s. */
async function sizeOnceCopied(file: string): Promise<number> {
  let size = statSync(file).size;
  for (let waited = 0; size < ROWS * ROW.length && waited < 5000; waited += 50) {
    await sleep(50);
    size = statSync(file).size;
  }
  return size;
}

test('what is committed reaches the database file while the server runs, without the serving connection checkpointing', async (t) => {
  const file = await sqliteFile(t);
  const store = await writeRows(file);
  t.teardown(() => store.close());
  const size = await sizeOnceCopied(file);
  t.true(size >= ROWS * ROW.length, `the database file holds ${size} bytes`);
  t.true(existsSync(`${file}-wal`), 'the log is still open: the serving connection did not close or checkpoint it away');
});

test('closing the store stops the checkpointer: the log is folded in and removed, and every row is in the file', async (t) => {
  const file = await sqliteFile(t);
  const store = await writeRows(file);
  await sizeOnceCopied(file); // the checkpointer is running
  await store.close();
  t.false(existsSync(`${file}-wal`));
  const db = new Database(file, { readonly: true });
  t.teardown(() => db.close());
  t.is((db.prepare('SELECT COUNT(*) AS n FROM filler').get() as { n: number }).n, ROWS);
});
