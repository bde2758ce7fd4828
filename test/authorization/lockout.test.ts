import test from 'ava';
import { createUser } from '../../src/domain/accounts.ts';
import { PasswordSignIn } from '../../src/domain/sign-in.ts';
import { migrate } from '../../src/data/migrate.ts';
import { openStore } from '../../src/data/engines/open.ts';
import { createTestDatabase } from '../helpers/server.ts';

test('wrong passwords sent in parallel all count towards the lock', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const store = openStore(database.url);
  t.teardown(() => store.close());
  await migrate(store);
  await createUser(store, { email: 'parallel@example.test', password: 'parallel-password-1' });

  const signIn = new PasswordSignIn(store);
  const attempt = (password: string) => signIn.attempt({ email: 'parallel@example.test', password, ip: '127.0.0.1', via: { page: 'admin' } });
  const guesses = await Promise.all(Array.from({ length: 8 }, (_, i) => attempt(`wrong-guess-${i}`)));
  t.true(guesses.every((guess) => !guess.ok));
  const right = await attempt('parallel-password-1');
  t.deepEqual(right.ok ? 'signed in' : right.reason, 'locked', 'eight failures lock the account name even when they arrived together');
});
