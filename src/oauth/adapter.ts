import { createHash } from 'node:crypto';
import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Queryable, Store } from '../data/engines/store.ts';

/** Models whose id is public; every other id is a bearer secret and stored hashed. */
const PUBLIC_IDS = new Set(['Client']);

export function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

interface ModelRow {
  payload: string;
  consumed_at: number | null;
}

/** Other spellings of a resource indicator that name the same resource. */
export type ResourceAliases = (indicator: string) => string[];

/**
 * oidc-provider's storage on the Store: one table keyed by (model, id).
 * `consume` is a conditional update, so a code or refresh token redeemed twice
 * at the same moment succeeds once and the loser gets `invalid_grant`.
 */
export class StoreAdapter implements Adapter {
  private readonly hashed: boolean;

  constructor(
    private readonly model: string,
    private readonly store: Store,
    private readonly aliases: ResourceAliases = () => [],
  ) {
    this.hashed = !PUBLIC_IDS.has(model);
  }

  private read(row: ModelRow): AdapterPayload {
    return withResourceAliases(toPayload(row), this.aliases);
  }

  private key(id: string): string {
    return this.hashed ? hashId(id) : id;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const now = Date.now();
    const expiresAt = expiresIn ? now + expiresIn * 1000 : null;
    if (this.model === 'ReplayDetection') return this.recordOnce(id, payload, expiresAt, now);
    await this.store.run(
      `INSERT INTO oidc_models (model, id, payload, grant_id, client_id, account_id, uid, user_code, expires_at, consumed_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, client_id = excluded.client_id,
         account_id = excluded.account_id, uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
      [
        this.model,
        this.key(id),
        JSON.stringify(payload),
        payload.grantId ?? (this.model === 'Grant' ? id : null),
        payload.clientId ?? payload.client_id ?? null,
        payload.accountId ?? null,
        payload.uid ?? null,
        payload.userCode ?? null,
        expiresAt,
        now,
      ],
    );
  }

  /**
   * oidc-provider's replay check (`ReplayDetection.unique`) finds, then saves:
   * two requests with the same assertion could both pass between the two.
   * Saving is conditional here, so only the first one records it.
   */
  private async recordOnce(id: string, payload: AdapterPayload, expiresAt: number | null, now: number): Promise<void> {
    const { changes } = await this.store.run(
      `INSERT INTO oidc_models (model, id, payload, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at
       WHERE oidc_models.expires_at IS NOT NULL AND oidc_models.expires_at <= ?`,
      [this.model, this.key(id), JSON.stringify(payload), expiresAt, now, now],
    );
    if (changes === 0) throw new errors.InvalidRequest('this token was already used');
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const key = this.key(id);
    const row = await this.store.get<ModelRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)',
      [this.model, key, Date.now()],
    );
    if (!row) return undefined;
    if (row.consumed_at !== null && this.model === 'RefreshToken' && isRefreshGrantRequest()) {
      const retry = await this.retryOfRotatedRefreshToken(key, row);
      // Another request is rotating this token right now: this one loses with a
      // plain invalid_grant (not found) instead of being taken for a replay.
      if (retry === 'rotating') return undefined;
      if (retry) return withResourceAliases(retry, this.aliases);
    }
    return this.read(row);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const row = await this.store.get<ModelRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?)',
      [this.model, uid, Date.now()],
    );
    return row ? this.read(row) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const row = await this.store.get<ModelRow>(
      'SELECT payload, consumed_at FROM oidc_models WHERE model = ? AND user_code = ? AND (expires_at IS NULL OR expires_at > ?)',
      [this.model, userCode, Date.now()],
    );
    return row ? this.read(row) : undefined;
  }

  async consume(id: string): Promise<void> {
    const { changes } = await this.store.run(
      'UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL',
      [Date.now(), this.model, this.key(id)],
    );
    if (changes === 0) {
      // Someone redeemed it between our find and this update.
      throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    }
  }

  async destroy(id: string): Promise<void> {
    await this.store.run('DELETE FROM oidc_models WHERE model = ? AND id = ?', [this.model, this.key(id)]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.store.run('DELETE FROM oidc_models WHERE model = ? AND grant_id = ?', [this.model, grantId]);
  }

  /**
   * A rotated refresh token presented again stays usable while its replacement
   * has never been used: the client most likely lost the response that carried
   * the replacement. The unused replacement is withdrawn and the old token is
   * rotated afresh. Once the replacement has been used, reuse is a replay and
   * oidc-provider revokes the whole grant. A consumed token with no replacement
   * yet is being rotated by a concurrent request (on this instance or another).
   */
  private async retryOfRotatedRefreshToken(key: string, row: ModelRow): Promise<AdapterPayload | 'rotating' | undefined> {
    const presented = JSON.parse(row.payload) as AdapterPayload & { rotations?: number };
    if (!presented.grantId) return undefined;
    return this.store.transaction(async (tx: Queryable) => {
      // Lock the presented token's row first (a no-op write both engines
      // accept), so concurrent retries on PostgreSQL take turns and each sees
      // what the previous one committed, as they do under SQLite's one writer.
      await tx.run('UPDATE oidc_models SET consumed_at = consumed_at WHERE model = ? AND id = ?', [this.model, key]);
      const current = await tx.get<{ consumed_at: number | null }>('SELECT consumed_at FROM oidc_models WHERE model = ? AND id = ?', [
        this.model,
        key,
      ]);
      if (!current) return undefined;
      // A concurrent retry already reopened it; the conditional consume decides who wins.
      if (current.consumed_at === null) return presented;
      const siblings = await tx.all<{ id: string; payload: string; consumed_at: number | null }>(
        'SELECT id, payload, consumed_at FROM oidc_models WHERE model = ? AND grant_id = ? AND id <> ?',
        [this.model, presented.grantId, key],
      );
      const nextRotation = (presented.rotations ?? 0) + 1;
      const replacement = siblings.find((sibling) => (JSON.parse(sibling.payload) as { rotations?: number }).rotations === nextRotation);
      if (!replacement) return 'rotating';
      if (replacement.consumed_at !== null) return undefined;
      await tx.run('DELETE FROM oidc_models WHERE model = ? AND id = ? AND consumed_at IS NULL', [this.model, replacement.id]);
      const reopened = await tx.run('UPDATE oidc_models SET consumed_at = NULL WHERE model = ? AND id = ? AND consumed_at = ?', [
        this.model,
        key,
        current.consumed_at,
      ]);
      return reopened.changes === 1 ? presented : undefined;
    });
  }
}

function toPayload(row: ModelRow): AdapterPayload {
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumed_at !== null) payload.consumed = Math.floor(row.consumed_at / 1000);
  return payload;
}

/**
 * Clients spell the resource with and without a trailing slash, sometimes
 * differently at /authorize and /token. Reading codes, refresh tokens and
 * grants with every spelling listed lets oidc-provider match either one; the
 * token's audience is always the canonical spelling.
 */
function withResourceAliases(payload: AdapterPayload, aliases: ResourceAliases): AdapterPayload {
  const { resource, resources } = payload as { resource?: string | string[]; resources?: Record<string, unknown> };
  if (resource !== undefined) {
    const listed = Array.isArray(resource) ? resource : [resource];
    const all = [...new Set(listed.flatMap((indicator) => [indicator, ...aliases(indicator)]))];
    payload.resource = all.length === 1 ? all[0] : all;
  }
  if (resources && typeof resources === 'object') {
    for (const [indicator, scope] of Object.entries(resources)) {
      for (const alias of aliases(indicator)) resources[alias] ??= scope;
    }
  }
  return payload;
}

function isRefreshGrantRequest(): boolean {
  const ctx = Provider.ctx as { oidc?: { route?: string; params?: { grant_type?: unknown } } } | undefined;
  return ctx?.oidc?.route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token';
}

/** Removes expired rows; run periodically. Returns how many went. */
export async function sweepExpiredModels(store: Store): Promise<number> {
  const { changes } = await store.run('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= ?', [Date.now()]);
  return changes;
}

/** True while the grant exists and has not expired: how /mcp learns of revocation. */
export async function grantIsLive(store: Store, grantId: string): Promise<boolean> {
  const row = await store.get(
    "SELECT 1 AS live FROM oidc_models WHERE model = 'Grant' AND id = ? AND (expires_at IS NULL OR expires_at > ?)",
    [hashId(grantId), Date.now()],
  );
  return row !== undefined;
}
