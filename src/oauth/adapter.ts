import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Queryable, Store } from '../data/engines/store.ts';
import {
  consumeModel,
  deleteModel,
  deleteModelsOfGrant,
  findModel,
  findModelBy,
  insertOnce,
  lockRefreshToken,
  modelKey,
  reopenRefreshToken,
  upsertModel,
  type ModelRow,
} from '../data/oidc-models.ts';

/** Other spellings of a resource indicator that name the same resource. */
export type ResourceAliases = (indicator: string) => string[];

export interface AdapterOptions {
  aliases?: ResourceAliases;
  /**
   * How long after its rotation a refresh token may be presented again while
   * its replacement is unused (a client that lost the response retries).
   * After it, presenting it is a replay: oidc-provider revokes the grant.
   */
  refreshReuseGraceMs?: number;
}

/**
 * oidc-provider's storage on the Store (table `oidc_models`, see
 * data/oidc-models.ts). `consume` is a conditional update, so a code or
 * refresh token redeemed twice at the same moment succeeds once and the
 * loser gets `invalid_grant`.
 */
export class StoreAdapter implements Adapter {
  private readonly aliases: ResourceAliases;
  private readonly refreshReuseGraceMs: number;

  constructor(
    private readonly model: string,
    private readonly store: Store,
    options: AdapterOptions = {},
  ) {
    this.aliases = options.aliases ?? (() => []);
    this.refreshReuseGraceMs = options.refreshReuseGraceMs ?? 60_000;
  }

  private read(row: ModelRow): AdapterPayload {
    return withResourceAliases(toPayload(row), this.aliases);
  }

  private key(id: string): string {
    return modelKey(this.model, id);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const now = Date.now();
    const expiresAt = expiresIn ? now + expiresIn * 1000 : null;
    if (this.model === 'ReplayDetection') {
      // oidc-provider's replay check finds, then saves: two requests with the
      // same assertion could both pass between the two. Saving is conditional
      // here, so only the first one records it.
      if (!(await insertOnce(this.store, this.model, this.key(id), JSON.stringify(payload), expiresAt, now))) {
        throw new errors.InvalidRequest('this token was already used');
      }
      return;
    }
    await upsertModel(this.store, {
      model: this.model,
      key: this.key(id),
      payload: JSON.stringify(payload),
      grantId: payload.grantId ?? (this.model === 'Grant' ? id : null),
      clientId: payload.clientId ?? payload.client_id ?? null,
      accountId: payload.accountId ?? null,
      uid: payload.uid ?? null,
      userCode: payload.userCode ?? null,
      expiresAt,
      now,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const key = this.key(id);
    const row = await findModel(this.store, this.model, key, Date.now());
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
    const row = await findModelBy(this.store, this.model, 'uid', uid, Date.now());
    return row ? this.read(row) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const row = await findModelBy(this.store, this.model, 'user_code', userCode, Date.now());
    return row ? this.read(row) : undefined;
  }

  async consume(id: string): Promise<void> {
    if (!(await consumeModel(this.store, this.model, this.key(id), Date.now()))) {
      // Someone redeemed it between our find and this update.
      throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    }
  }

  async destroy(id: string): Promise<void> {
    await deleteModel(this.store, this.model, this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await deleteModelsOfGrant(this.store, this.model, grantId);
  }

  /**
   * A rotated refresh token presented again within `refreshReuseGraceMs` of
   * its rotation, while its replacement has never been used, is a retry: the
   * client most likely lost the response that carried the replacement. The
   * unused replacement is withdrawn and the old token is rotated afresh.
   * After the grace, or once the replacement has been used, reuse is a
   * replay and oidc-provider revokes the whole grant: a thief holding an old
   * token cannot take the grant over by outrunning the real client. A
   * consumed token with no replacement yet is being rotated by a concurrent
   * request (on this instance or another).
   */
  private async retryOfRotatedRefreshToken(key: string, row: ModelRow): Promise<AdapterPayload | 'rotating' | undefined> {
    const presented = JSON.parse(row.payload) as AdapterPayload & { rotations?: number };
    const grantId = presented.grantId;
    if (!grantId) return undefined;
    return this.store.transaction(async (tx: Queryable) => {
      const locked = await lockRefreshToken(tx, key, grantId);
      if (!locked) return undefined;
      // A concurrent retry already reopened it; the conditional consume decides who wins.
      if (locked.consumedAt === null) return presented;
      const nextRotation = (presented.rotations ?? 0) + 1;
      const replacement = locked.siblings.find((sibling) => (JSON.parse(sibling.payload) as { rotations?: number }).rotations === nextRotation);
      if (!replacement) return 'rotating';
      if (replacement.consumed_at !== null) return undefined;
      if (Date.now() - locked.consumedAt > this.refreshReuseGraceMs) return undefined;
      return (await reopenRefreshToken(tx, key, locked.consumedAt, replacement.id)) ? presented : undefined;
    });
  }
}

function toPayload(row: ModelRow): AdapterPayload {
  const payload = JSON.parse(row.payload) as AdapterPayload;
  if (row.consumed_at !== null) payload.consumed = Math.floor(Number(row.consumed_at) / 1000);
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
