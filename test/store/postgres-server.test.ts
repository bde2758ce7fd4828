/**
 * The private PostgreSQL server a test can start, stop and start again
 * (test/helpers/postgres-server.ts): what it keeps across a restart, and what
 * a client sees while it is down. Runs on both halves of `npm test`: the
 * server is its own, whatever the engine under test.
 */
import { existsSync } from 'node:fs';
import test from 'ava';
import pg from 'pg';
import { startPostgresServer } from '../helpers/postgres-server.ts';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

test('a private server keeps its data across stop and start, on the same port, and is gone after close', async (t) => {
  const server = await startPostgresServer();
  t.teardown(() => server.close());
  t.true(server.running);
  t.regex(server.url, /^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/postgres$/);
  t.not(server.port, 5432, 'never the machine\'s own PostgreSQL port');

  await query(server.url, 'CREATE TABLE survivors (id int PRIMARY KEY, name text NOT NULL)');
  await query(server.url, 'INSERT INTO survivors VALUES (1, $1), (2, $2)', ['written before the stop', 'and this']);

  // A client holding a connection sees it dropped by the stop.
  const held = new pg.Client({ connectionString: server.url });
  await held.connect();
  const dropped = new Promise<Error>((resolve) => held.on('error', resolve));
  await server.stop();
  t.false(server.running);
  t.regex((await dropped).message, /terminat/, 'the held connection was closed by the server');
  await held.end().catch(() => {});
  await t.throwsAsync(query(server.url, 'SELECT 1'), undefined, 'nothing answers while it is down');

  await server.start();
  t.true(server.running);
  const rows = await query<{ id: number; name: string }>(server.url, 'SELECT id, name FROM survivors ORDER BY id');
  t.deepEqual(rows, [
    { id: 1, name: 'written before the stop' },
    { id: 2, name: 'and this' },
  ]);

  // Twice more, quickly: a test restarting it under traffic may do so often.
  for (let round = 0; round < 2; round++) {
    await server.stop();
    await server.start();
    await query(server.url, 'INSERT INTO survivors VALUES ($1, $2)', [3 + round, `after restart ${round + 1}`]);
  }
  t.is((await query<{ count: string }>(server.url, 'SELECT count(*) FROM survivors'))[0]!.count, '4');

  await server.close();
  t.false(existsSync(server.dataDir), 'close() removes the data directory');
  await server.close(); // twice is harmless
});

test('two private servers run side by side, each with its own port and data', async (t) => {
  const [one, two] = await Promise.all([startPostgresServer(), startPostgresServer()]);
  t.teardown(() => Promise.all([one.close(), two.close()]));
  t.not(one.port, two.port);
  t.not(one.dataDir, two.dataDir);
  await query(one.url, 'CREATE TABLE only_on_one (x int)');
  await t.throwsAsync(query(two.url, 'SELECT * FROM only_on_one'), { message: /does not exist/ });
  await two.stop();
  t.deepEqual(await query(one.url, 'SELECT count(*)::int AS n FROM only_on_one'), [{ n: 0 }], 'stopping one leaves the other running');
});
