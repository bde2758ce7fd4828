import type { Queryable } from './engines/store.ts';

/** The `signing_keys` table: private JWKs, active ones first. Only the key module reads it. */

export interface KeyRow {
  kid: string;
  alg: string;
  private_jwk: string;
  state: 'active' | 'retired';
  created_at: number;
  retired_at: number | null;
}

/** Active keys first (oidc-provider signs with the first key of an algorithm), newest first within each state. */
export async function allKeys(db: Queryable): Promise<KeyRow[]> {
  return db.all<KeyRow>("SELECT * FROM signing_keys ORDER BY CASE state WHEN 'active' THEN 0 ELSE 1 END, created_at DESC");
}

export async function insertActiveKey(db: Queryable, key: { kid: string; alg: string; privateJwk: string; now: number }): Promise<void> {
  await db.run("INSERT INTO signing_keys (kid, alg, private_jwk, state, created_at) VALUES (?, ?, ?, 'active', ?)", [key.kid, key.alg, key.privateJwk, key.now]);
}

export async function retireActiveKeys(db: Queryable, at: number): Promise<void> {
  await db.run("UPDATE signing_keys SET state = 'retired', retired_at = ? WHERE state = 'active'", [at]);
}

export async function activeKids(db: Queryable): Promise<string[]> {
  const rows = await db.all<{ kid: string }>("SELECT kid FROM signing_keys WHERE state = 'active'");
  return rows.map((row) => row.kid);
}

/** Deletes keys retired at or before `cutoff`; returns their ids. */
export async function deleteRetiredBefore(db: Queryable, cutoff: number): Promise<string[]> {
  const rows = await db.all<{ kid: string }>("SELECT kid FROM signing_keys WHERE state = 'retired' AND retired_at <= ?", [cutoff]);
  await db.run("DELETE FROM signing_keys WHERE state = 'retired' AND retired_at <= ?", [cutoff]);
  return rows.map((row) => row.kid);
}
