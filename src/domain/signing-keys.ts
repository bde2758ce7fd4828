import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Store } from '../data/engines/store.ts';
import { readSetting, writeSetting } from '../data/settings.ts';
import { activeKids, allKeys, deleteRetiredBefore, insertActiveKey, retireActiveKeys } from '../data/signing-keys.ts';

/** ES256 signs access tokens; RS256 is kept because OIDC requires it for ID tokens. */
const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;

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
    await insertActiveKey(store, { kid: jwk.kid!, alg, privateJwk: JSON.stringify(jwk), now });
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
    let rows = await allKeys(store);
    if (!rows.some((row) => row.state === 'active')) {
      await insertActiveKeys(store);
      rows = await allKeys(store);
    }
    return { keys: rows.map((row) => JSON.parse(row.private_jwk) as JWK) };
  });
}

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);

function publicPart(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([member]) => !PRIVATE_MEMBERS.has(member))) as JWK;
}

/** Public halves of every key a live token may have been signed with. */
export async function loadVerificationKeys(store: Store): Promise<JWK[]> {
  return (await allKeys(store)).map((row) => publicPart(JSON.parse(row.private_jwk) as JWK));
}

/**
 * Starts signing with fresh keys. The previous keys stay published as retired,
 * so tokens they signed verify until they expire; prune them afterwards.
 */
export async function rotateSigningKeys(store: Store): Promise<string[]> {
  return store.exclusive('gatehouse:keys', async () => {
    await retireActiveKeys(store, Date.now());
    await insertActiveKeys(store);
    return activeKids(store);
  });
}

/** Deletes keys retired longer ago than `olderThanMs`. Returns their ids. */
export function pruneRetiredKeys(store: Store, olderThanMs: number): Promise<string[]> {
  return deleteRetiredBefore(store, Date.now() - olderThanMs);
}

/** Secrets that sign cookies; shared through the Store so any instance can read any cookie. */
export async function loadCookieKeys(store: Store): Promise<string[]> {
  return store.exclusive('gatehouse:keys', async () => {
    const existing = await readSetting<string[]>(store, 'cookie_keys');
    if (existing) return existing;
    const keys = [randomBytes(32).toString('base64url')];
    await writeSetting(store, 'cookie_keys', keys);
    return keys;
  });
}
