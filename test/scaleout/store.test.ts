import test from 'ava';
import { errors } from 'oidc-provider';
import pg from 'pg';
import { StoreAdapter } from '../../src/oauth/adapter.ts';
import { migrate } from '../../src/data/migrate.ts';
import { openNotifications, TOPICS, type Message } from '../../src/data/notifications.ts';
import { openStore } from '../../src/data/engines/open.ts';
import type { Store } from '../../src/data/engines/store.ts';
import { createTestDatabase } from '../helpers/database.ts';

/** Two Stores on one fresh PostgreSQL database: what two instances see. */
async function twoInstances(t: { teardown(fn: () => Promise<void>): void }): Promise<{ url: string; one: Store; two: Store }> {
  const database = await createTestDatabase('postgres');
  t.teardown(() => database.drop());
  const one = openStore(database.url);
  const two = openStore(database.url);
  t.teardown(() => Promise.all([one.close(), two.close()]).then(() => {}));
  return { url: database.url, one, two };
}

test('instances migrating at the same moment apply each migration once', async (t) => {
  const { one, two } = await twoInstances(t);
  const [first, second] = await Promise.all([migrate(one), migrate(two)]);
  t.true(first.length > 0 !== second.length > 0, 'one of them applied everything, the other nothing');
  t.deepEqual([...first, ...second].sort(), [...new Set([...first, ...second])].sort());
});

test('a code redeemed on two instances at once is consumed exactly once', async (t) => {
  const { one, two } = await twoInstances(t);
  await migrate(one);
  const codes = [new StoreAdapter('AuthorizationCode', one), new StoreAdapter('AuthorizationCode', two)];
  await codes[0]!.upsert('the-code', { grantId: 'g1', clientId: 'c1' }, 60);
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => codes[i % 2]!.consume('the-code')));
  t.is(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
  for (const outcome of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) t.true(outcome.reason instanceof errors.InvalidGrant);
});

test('exclusive sections on two instances never overlap, and many waiters do not exhaust the pool', async (t) => {
  const { one, two } = await twoInstances(t);
  let inside = 0;
  let overlapped = false;
  const section = async () => {
    inside++;
    if (inside > 1) overlapped = true;
    // Work inside the lock uses the Store too, as loading keys does.
    await one.get('SELECT 1 AS ok');
    await new Promise((resolve) => setTimeout(resolve, 5));
    inside--;
  };
  // More callers than the pool has connections (10): they queue in-process instead of each holding one.
  await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? one : two).exclusive('test:lock', section)));
  t.false(overlapped);
});

test('transactions on PostgreSQL commit together or not at all', async (t) => {
  const { one, two } = await twoInstances(t);
  await migrate(one);
  await t.throwsAsync(
    one.transaction(async (tx) => {
      await tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 1)");
      throw new Error('changed my mind');
    }),
  );
  t.is(await two.get("SELECT value FROM settings WHERE key = 'a'"), undefined);
  await one.transaction(async (tx) => {
    await tx.run("INSERT INTO settings (key, value, updated_at) VALUES ('b', '2', ?)", [Date.now()]);
  });
  const row = await two.get<{ value: string; updated_at: number }>("SELECT value, updated_at FROM settings WHERE key = 'b'");
  t.is(row?.value, '2');
  t.is(typeof row?.updated_at, 'number', 'BIGINT comes back as a number, as on SQLite');
});

test('a notification reaches the listeners of the instance that sent it once, and the other instance once; a lost channel comes back and reports the gap', async (t) => {
  const { url, one, two } = await twoInstances(t);
  const sender = openNotifications(one, { enabled: true });
  const receiver = openNotifications(two, { enabled: true });
  t.teardown(() => Promise.all([sender.close(), receiver.close()]).then(() => {}));
  const heardBySender: Message[] = [];
  sender.on(TOPICS.sessionEnded, (message) => heardBySender.push(message));
  const heardByReceiver: Message[] = [];
  const heardTwice = new Promise<void>((resolve) =>
    receiver.on(TOPICS.sessionEnded, (message) => {
      heardByReceiver.push(message);
      if (heardByReceiver.length === 2) resolve();
    }),
  );
  await Promise.all([sender.start(), receiver.start()]);

  await sender.publish(TOPICS.sessionEnded, { idHash: 'abc' });
  t.deepEqual(heardBySender, [{ idHash: 'abc' }], 'heard here at once');
  await sender.publish(TOPICS.sessionEnded, { idHash: 'def' });
  await heardTwice;
  t.deepEqual(heardByReceiver, [{ idHash: 'abc' }, { idHash: 'def' }]);
  t.deepEqual(heardBySender, [{ idHash: 'abc' }, { idHash: 'def' }], 'and not a second time when the database echoes it back');

  // Cut the receiver's listening connection from the server side, as a restart or a network fault would.
  const gap = new Promise<void>((resolve) => receiver.onGap(resolve));
  const admin = new pg.Client(url);
  await admin.connect();
  t.teardown(() => admin.end());
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
  await gap;
  const again = new Promise<Message>((resolve) => receiver.on(TOPICS.keysChanged, resolve));
  await sender.publish(TOPICS.keysChanged);
  t.deepEqual(await again, {});
});

test('on SQLite nothing travels to other processes, and this process’s listeners still hear', async (t) => {
  const database = await createTestDatabase('sqlite');
  t.teardown(() => database.drop());
  const store = openStore(database.url);
  t.teardown(() => store.close());
  const notifications = openNotifications(store, { enabled: true });
  await notifications.start();
  t.false(notifications.enabled);
  const heard: Message[] = [];
  notifications.on(TOPICS.keysChanged, (message) => heard.push(message));
  await notifications.publish(TOPICS.keysChanged);
  t.deepEqual(heard, [{}]);
  await notifications.close();
});
