/**
 * oidc-provider's table (`oidc_models`) on the engine under test: what taking
 * a client's access removes, and that every lookup by client, person, grant,
 * uid or expiry reaches its rows through an index. Codes and refresh tokens
 * are indexed by grant only (migration 010), so these are the promises that a
 * query spelled differently from its partial index would quietly break.
 */
import test from 'ava';
import type { Queryable, Row, Store } from '../../src/data/engines/store.ts';
import {
  consumeModel,
  deleteGrant,
  deleteIssuedToClient,
  deleteModelsOfGrant,
  deleteSignInSessionsOf,
  findModel,
  findModelBy,
  grantBelongsTo,
  grantIdsOf,
  grantIsLive,
  grantsWhere,
  hashId,
  liveGrantCounts,
  lockRefreshToken,
  modelKey,
  sweepExpiredModels,
  upsertModel,
} from '../../src/data/oidc-models.ts';
import { openTestStore } from '../helpers/database.ts';

let store: Store;
let closeStore: (() => Promise<void>) | undefined;
test.before(async () => void ({ store, close: closeStore } = await openTestStore()));
test.after.always(() => closeStore?.());

interface Saved {
  model: string;
  id: string;
  grantId?: string;
  clientId?: string;
  accountId?: string;
  uid?: string;
}

async function save(row: Saved): Promise<void> {
  await upsertModel(store, {
    model: row.model,
    key: modelKey(row.model, row.id),
    payload: JSON.stringify({ ...row, kind: row.model }),
    grantId: row.grantId ?? null,
    clientId: row.clientId ?? null,
    accountId: row.accountId ?? null,
    uid: row.uid ?? null,
    userCode: null,
    expiresAt: Date.now() + 3_600_000,
    now: Date.now(),
  });
}

/** A client as registration leaves it, with one person's grant, code and refresh token, and a sign-in under way. */
async function clientWithAccess(clientId: string, accountId: string): Promise<void> {
  const grantId = `${clientId}-grant`;
  await save({ model: 'Client', id: clientId, clientId });
  await save({ model: 'RegistrationAccessToken', id: `${clientId}-rat`, clientId });
  await save({ model: 'Interaction', id: `${clientId}-interaction`, clientId, uid: `${clientId}-interaction` });
  await save({ model: 'Grant', id: grantId, grantId, clientId, accountId });
  await save({ model: 'AuthorizationCode', id: `${clientId}-code`, grantId, clientId, accountId });
  await save({ model: 'RefreshToken', id: `${clientId}-refresh`, grantId, clientId, accountId });
}

async function modelsOf(clientId: string): Promise<string[]> {
  const rows = await store.all<{ model: string }>('SELECT model FROM oidc_models WHERE client_id = ? ORDER BY model', [clientId]);
  return rows.map((row) => row.model);
}

test('taking a client’s access removes its grants, codes, refresh tokens and sign-ins under way, and keeps its registration', async (t) => {
  await clientWithAccess('taken', 'person-1');
  await clientWithAccess('kept', 'person-1');
  t.deepEqual(await modelsOf('taken'), ['AuthorizationCode', 'Client', 'Grant', 'Interaction', 'RefreshToken', 'RegistrationAccessToken']);

  await store.transaction((tx) => deleteIssuedToClient(tx, 'taken'));

  t.deepEqual(await modelsOf('taken'), ['Client'], 'only the registration is left');
  t.is(await findModel(store, 'RefreshToken', hashId('taken-refresh'), Date.now()), undefined);
  t.deepEqual(await modelsOf('kept'), ['AuthorizationCode', 'Client', 'Grant', 'Interaction', 'RefreshToken', 'RegistrationAccessToken'], 'another client of the same person keeps everything');
  t.deepEqual(await grantIdsOf(store, 'account_id', 'person-1'), ['kept-grant']);
});

/** Runs each statement the table module sends, then asks the engine how it would have read oidc_models. */
function recording(): { db: Queryable; statements: { sql: string; params: readonly unknown[] }[] } {
  const statements: { sql: string; params: readonly unknown[] }[] = [];
  const note = (sql: string, params: readonly unknown[] = []) => void statements.push({ sql, params });
  return {
    statements,
    db: {
      all: <T = Row>(sql: string, params?: readonly unknown[]) => (note(sql, params), store.all<T>(sql, params)),
      get: <T = Row>(sql: string, params?: readonly unknown[]) => (note(sql, params), store.get<T>(sql, params)),
      run: (sql: string, params?: readonly unknown[]) => (note(sql, params), store.run(sql, params)),
    },
  };
}

/** The plan's lines that read the whole of oidc_models (by any alias the statement gives it). */
async function fullScans(sql: string, params: readonly unknown[]): Promise<string[]> {
  const names = ['oidc_models', ...[...sql.matchAll(/oidc_models\s+(?!WHERE|SET|ON\b)(\w+)/gi)].map((match) => match[1]!)];
  if (store.engine === 'sqlite') {
    const plan = await store.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
    return plan.map((row) => row.detail).filter((line) => names.some((name) => new RegExp(`^SCAN ${name}\\b`).test(line)));
  }
  // On a table this small PostgreSQL would rightly scan it: with scans priced out, it shows whether an index can serve.
  return store.transaction(async (tx) => {
    await tx.run('SET LOCAL enable_seqscan = off');
    const plan = await tx.all<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
    return plan.map((row) => row['QUERY PLAN'].trim()).filter((line) => /Seq Scan on oidc_models\b/.test(line));
  });
}

test('every lookup by client, person, grant, uid or expiry reads oidc_models through an index', async (t) => {
  await clientWithAccess('planned', 'person-2');
  const { db, statements } = recording();
  const now = Date.now();
  await grantIdsOf(db, 'client_id', 'planned');
  await grantIdsOf(db, 'account_id', 'person-2');
  await grantBelongsTo(db, 'planned-grant', 'person-2');
  await grantsWhere(db, 'client_id', 'planned');
  await grantsWhere(db, 'account_id', 'person-2');
  await liveGrantCounts(db, ['planned', 'other']);
  await grantIsLive(db, 'planned-grant');
  await findModel(db, 'RefreshToken', hashId('planned-refresh'), now);
  await findModelBy(db, 'Session', 'uid', 'some-uid', now);
  await findModelBy(db, 'DeviceCode', 'user_code', 'ABCD-EFGH', now);
  await consumeModel(db, 'AuthorizationCode', hashId('planned-code'), now);
  await lockRefreshToken(db, hashId('planned-refresh'), 'planned-grant');
  await deleteSignInSessionsOf(db, 'person-2');
  await deleteModelsOfGrant(db, 'RefreshToken', 'planned-grant');
  await deleteIssuedToClient(db, 'planned');
  await deleteGrant(db, 'planned-grant');
  await sweepExpiredModels(db);

  t.true(statements.length >= 18, `${statements.length} statements recorded`);
  for (const { sql, params } of statements) {
    t.deepEqual(await fullScans(sql, params), [], sql);
  }
});
