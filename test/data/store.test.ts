/**
 * The Store and the table modules, on the engine under test: the same
 * file runs in the SQLite half of the suite and again in the PostgreSQL half,
 * so every promise here holds on both.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { StoreRefused, type Store } from '../../src/data/engines/store.ts';
import { deleteSessionsWhere, existingSessions, insertSession } from '../../src/data/mcp-sessions.ts';
import { consumeModel, grantIsLive, hashId, insertOnce, upsertModel } from '../../src/data/oidc-models.ts';
import { findUsablePat, hashPat, insertPersonalAccessToken, patIsUsable } from '../../src/data/personal-tokens.ts';
import { accessTokenRevoked, recordRevokedAccessToken, sweepRevokedAccessTokens } from '../../src/data/revoked-access-tokens.ts';
import { readSetting, writeSetting } from '../../src/data/settings.ts';
import { insertUser, setDisabled } from '../../src/data/users.ts';
import { openTestStore } from '../helpers/database.ts';

let store: Store;
let closeStore: (() => Promise<void>) | undefined;
test.before(async () => void ({ store, close: closeStore } = await openTestStore()));
test.after.always(() => closeStore?.());

async function person(): Promise<string> {
  const id = randomUUID();
  await insertUser(store, { id, email: `${id}@example.test`, name: null, passwordHash: null, isAdmin: false, now: Date.now() });
  return id;
}

test('a transaction keeps all of its statements or none of them', async (t) => {
  await t.throwsAsync(
    store.transaction(async (tx) => {
      await writeSetting(tx, 'half', { done: true });
      throw new Error('changed my mind');
    }),
  );
  t.is(await readSetting(store, 'half'), undefined);
  await store.transaction((tx) => writeSetting(tx, 'whole', { done: true }));
  t.deepEqual(await readSetting(store, 'whole'), { done: true });
});

test('a statement the database refuses by its own rules is StoreRefused, and its transaction is undone', async (t) => {
  const id = await person();
  const error = await t.throwsAsync(
    store.transaction(async (tx) => {
      await writeSetting(tx, 'before-the-refusal', 1);
      await insertUser(tx, { id, email: 'another@example.test', name: null, passwordHash: null, isAdmin: false, now: Date.now() });
    }),
  );
  t.true(error instanceof StoreRefused, String(error));
  t.is(await readSetting(store, 'before-the-refusal'), undefined);
});

test('a code consumed by many at once is consumed by exactly one', async (t) => {
  await upsertModel(store, { model: 'AuthorizationCode', key: hashId('code-1'), payload: '{}', grantId: 'g', clientId: 'c', accountId: null, uid: null, userCode: null, expiresAt: Date.now() + 60_000, now: Date.now() });
  const outcomes = await Promise.all(Array.from({ length: 12 }, () => consumeModel(store, 'AuthorizationCode', hashId('code-1'), Date.now())));
  t.is(outcomes.filter(Boolean).length, 1);
});

test('a one-time record is saved once while it lives, and again once it expired', async (t) => {
  const now = Date.now();
  const saves = await Promise.all(Array.from({ length: 8 }, () => insertOnce(store, 'ReplayDetection', 'jti-1', '{}', now + 60_000, now)));
  t.is(saves.filter(Boolean).length, 1);
  t.true(await insertOnce(store, 'ReplayDetection', 'jti-2', '{}', now - 1, now - 10), 'saved, already expired');
  t.true(await insertOnce(store, 'ReplayDetection', 'jti-2', '{}', now + 60_000, now), 'an expired record can be saved anew');
});

test('a grant is live while it exists and its person may sign in', async (t) => {
  const userId = await person();
  const grantId = randomUUID();
  await upsertModel(store, { model: 'Grant', key: hashId(grantId), payload: '{}', grantId, clientId: 'c', accountId: userId, uid: null, userCode: null, expiresAt: null, now: Date.now() });
  t.true(await grantIsLive(store, grantId));
  await setDisabled(store, userId, Date.now());
  t.false(await grantIsLive(store, grantId), 'a disabled person holds no live grant');
  t.false(await grantIsLive(store, randomUUID()));
});

test('a personal access token is usable while unrevoked, unexpired and its owner enabled', async (t) => {
  const userId = await person();
  const secret = `gatehouse_pat_${randomUUID()}`;
  const token = await insertPersonalAccessToken(store, { id: randomUUID(), userId, name: 'n8n', tokenHash: hashPat(secret), hint: 'x', scopes: ['mcp:tools'], expiresAt: null });
  t.is((await findUsablePat(store, secret))?.id, token.id);
  t.true(await patIsUsable(store, token.id));
  await setDisabled(store, userId, Date.now());
  t.is(await findUsablePat(store, secret), undefined);
  t.false(await patIsUsable(store, token.id));
  await setDisabled(store, userId, null);
  t.true(await patIsUsable(store, token.id), 'enabled again, the token works again');
});

test('sessions end by the binding they share, of either transport', async (t) => {
  const userId = await person();
  const hashes = ['s1', 's2', 's3'].map((name) => `${name}-${randomUUID()}`);
  for (const [i, idHash] of hashes.entries()) {
    await insertSession(store, {
      idHash,
      userId: i < 2 ? userId : 'someone-else',
      clientId: 'c',
      kind: 'oauth',
      grantId: null,
      patId: null,
      tokenId: `t-${i}`,
      scopes: ['mcp:tools'],
      tokenExpiresAt: Date.now() + 60_000,
      protocolVersion: '2025-11-25',
      transport: i === 1 ? 'sse' : 'streamable',
      initializeRequest: '{}',
      now: Date.now(),
    });
  }
  t.is(await deleteSessionsWhere(store, 'user_id', userId), 2);
  t.deepEqual([...(await existingSessions(store, hashes))], [hashes[2]]);
  t.is(await deleteSessionsWhere(store, 'token_id', 't-2'), 1);
});

test('a revoked access token stays revoked until it would have expired', async (t) => {
  await recordRevokedAccessToken(store, 'jti-old', Date.now() - 1);
  await recordRevokedAccessToken(store, 'jti-live', Date.now() + 60_000);
  await recordRevokedAccessToken(store, 'jti-live', Date.now() + 60_000);
  t.true(await accessTokenRevoked(store, 'jti-live'), 'recording it twice is harmless');
  t.true((await sweepRevokedAccessTokens(store, Date.now())) >= 1);
  t.false(await accessTokenRevoked(store, 'jti-old'));
  t.true(await accessTokenRevoked(store, 'jti-live'));
});

test('epoch milliseconds come back as numbers on both engines', async (t) => {
  const at = Date.now();
  await writeSetting(store, 'time', at);
  const row = await store.get<{ updated_at: number }>("SELECT updated_at FROM settings WHERE key = 'time'");
  t.is(typeof row?.updated_at, 'number');
});
