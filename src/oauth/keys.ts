import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Store } from '../data/engines/store.ts';

/** ES256 signs access tokens; RS256 is kept because OIDC requires it for ID tokens. */
const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;

interface KeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  state: 'active' | 'retired';
  created_at: number;
  retired_at: number | null;
}

async function newKey(alg: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = alg;
  jwk.use = 'sig';
  return jwk;
}

async function insertActiveKeys(store: Store): Promise<void> {
  const now = Date.now();
  for (const alg of SIGNING_ALGORITHMS) {
    const jwk = await newKey(alg);
    await store.run("INSERT INTO signing_keys (kid, alg, private_jwk, state, created_at) VALUES (?, ?, ?, 'active', ?)", [
      jwk.kid,
      alg,
      JSON.stringify(jwk),
      now,
    ]);
  }
}

/**
 * The private JWKS for oidc-provider. Keys live in the Store, so every instance
 * signs with the same keys; the first start generates them. Active keys come
 * first (oidc-provider signs with the first key of an algorithm); retired keys
 * follow, still published so tokens they signed keep verifying until they expire.
 */
export async function loadSigningKeys(store: Store): Promise<{ keys: JWK[] }> {
  return store.exclusive('gatehouse:keys', async () => {
    let rows = await store.all<KeyRow>("SELECT * FROM signing_keys ORDER BY CASE state WHEN 'active' THEN 0 ELSE 1 END, created_at DESC");
    if (!rows.some((row) => row.state === 'active')) {
      await insertActiveKeys(store);
      rows = await store.all<KeyRow>("SELECT * FROM signing_keys ORDER BY CASE state WHEN 'active' THEN 0 ELSE 1 END, created_at DESC");
    }
    return { keys: rows.map((row) => JSON.parse(row.private_jwk) as JWK) };
  });
}

/** Public halves of every key a live token may have been signed with. */
export async function loadVerificationKeys(store: Store): Promise<JWK[]> {
  const rows = await store.all<KeyRow>('SELECT private_jwk FROM signing_keys');
  return rows.map((row) => publicPart(JSON.parse(row.private_jwk) as JWK));
}

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);

function publicPart(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([member]) => !PRIVATE_MEMBERS.has(member))) as JWK;
}

/**
 * Starts signing with fresh keys. The previous keys stay published as retired,
 * so tokens they signed verify until they expire; prune them afterwards.
 */
export async function rotateSigningKeys(store: Store): Promise<string[]> {
  return store.exclusive('gatehouse:keys', async () => {
    await store.run("UPDATE signing_keys SET state = 'retired', retired_at = ? WHERE state = 'active'", [Date.now()]);
    await insertActiveKeys(store);
    const rows = await store.all<{ kid: string }>("SELECT kid FROM signing_keys WHERE state = 'active'");
    return rows.map((row) => row.kid);
  });
}

/** Deletes keys retired longer ago than `olderThanMs`. Returns their ids. */
export async function pruneRetiredKeys(store: Store, olderThanMs: number): Promise<string[]> {
  const cutoff = Date.now() - olderThanMs;
  const rows = await store.all<{ kid: string }>("SELECT kid FROM signing_keys WHERE state = 'retired' AND retired_at <= ?", [cutoff]);
  await store.run("DELETE FROM signing_keys WHERE state = 'retired' AND retired_at <= ?", [cutoff]);
  return rows.map((row) => row.kid);
}

/** Secrets that sign cookies; shared through the Store so any instance can read any cookie. */
export async function loadCookieKeys(store: Store): Promise<string[]> {
  return store.exclusive('gatehouse:keys', async () => {
    const row = await store.get<{ value: string }>("SELECT value FROM settings WHERE key = 'cookie_keys'");
    if (row) return JSON.parse(row.value) as string[];
    const keys = [randomBytes(32).toString('base64url')];
    await store.run("INSERT INTO settings (key, value, updated_at) VALUES ('cookie_keys', ?, ?)", [JSON.stringify(keys), Date.now()]);
    return keys;
  });
}
