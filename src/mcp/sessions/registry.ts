import { createHash, randomBytes } from 'node:crypto';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCRequest, type McpServer } from '@modelcontextprotocol/server';
import type { Logger } from '../../ops/logging.ts';
import { TOPICS, type Notifications } from '../../data/notifications.ts';
import type { Store } from '../../data/engines/store.ts';
import { LruCache } from '../../util/lru-cache.ts';
import { toAuthInfo, type Principal } from '../principal.ts';
import type { ServerFactory } from '../server-factory.ts';
import { SessionTransport } from './streamable-transport.ts';

/** A session held in this process: its transport, its server, and who it is bound to. */
export interface LiveSession {
  id: string;
  idHash: string;
  transport: SessionTransport;
  server: McpServer;
  binding: Principal;
  protocolVersion: string;
  lastUsed: number;
  /** When the Store last confirmed the session (and its binding) still exist. */
  confirmedAt: number;
  /** When `last_used_at` was last written, so the write happens at most once a minute. */
  persistedUseAt: number;
  closing: boolean;
  /** Renews the binding with a fresh credential for the same principal. */
  rebind(principal: Principal): Promise<void>;
}

interface SessionRow {
  id_hash: string;
  user_id: string;
  client_id: string;
  principal_kind: 'oauth' | 'pat';
  grant_id: string | null;
  pat_id: string | null;
  scopes: string;
  token_expires_at: number;
  protocol_version: string;
  transport: string;
  initialize_request: string;
  created_at: number;
  last_used_at: number;
}

export interface SessionManagerOptions {
  store: Store;
  buildServer: ServerFactory;
  resource: string;
  logger: Logger;
  cacheSize: number;
  idleTtlMs: number;
  maxAgeMs: number;
  deleteGraceMs: number;
  keepAliveMs: number;
  /**
   * How long a held session is trusted before the Store is asked again
   * whether it still exists and whom it is bound to. 0 (several instances on
   * PostgreSQL): every request asks, one primary-key read, so an end or a
   * rebind made on any instance holds on the very next request everywhere.
   */
  confirmEveryMs: number;
  /** Told how long each ended session waited for its calls in flight. */
  onDrained?: (seconds: number) => void;
  /** Tells other instances when sessions end here, and hears when they do, so holders let go at once. */
  notifications?: Notifications;
}

type SessionColumn = 'user_id' | 'client_id' | 'grant_id' | 'pat_id';
/** What confirming a held session reads: its binding and last use, not the stored initialize. */
const BINDING_COLUMNS = 'user_id, client_id, principal_kind, grant_id, pat_id, scopes, token_expires_at, last_used_at';
const BINDING_FIELD = { user_id: 'userId', client_id: 'clientId', grant_id: 'grantId', pat_id: 'patId' } as const;

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function negotiatedVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

function bindingOf(row: SessionRow): Principal {
  return {
    kind: row.principal_kind,
    userId: row.user_id,
    clientId: row.client_id,
    scopes: row.scopes.split(' ').filter(Boolean),
    expiresAt: row.token_expires_at,
    ...(row.grant_id ? { grantId: row.grant_id } : {}),
    ...(row.pat_id ? { patId: row.pat_id } : {}),
  };
}

/**
 * Legacy MCP sessions that outlive processes. The Store holds each session's
 * record; this process holds live transports in a bounded LRU with idle
 * eviction. A request for a session this process does not hold (after a
 * restart, an eviction, or on another instance) rebuilds it from the record
 * by replaying the stored initialize into a fresh transport with the same id.
 */
export class SessionManager {
  private readonly live: LruCache<string, LiveSession>;
  private readonly rebuilding = new Map<string, Promise<LiveSession | undefined>>();
  private readonly hashes: LruCache<string, string>;
  private readonly sweeper: ReturnType<typeof setInterval>;
  /** Counters for /metrics and tests. */
  readonly stats = { created: 0, rebuilt: 0, evicted: 0, ended: 0 };

  constructor(private readonly options: SessionManagerOptions) {
    this.live = new LruCache(options.cacheSize, (_hash, session) => this.evict(session));
    this.hashes = new LruCache(options.cacheSize);
    this.sweeper = setInterval(() => this.evictIdle(), Math.min(60_000, Math.max(1000, options.idleTtlMs / 4)));
    this.sweeper.unref();
    const notifications = options.notifications;
    notifications?.on(TOPICS.sessionEnded, ({ idHash }) => {
      const session = idHash ? this.live.peek(idHash) : undefined;
      if (session && !session.closing) this.closeGracefully(session);
    });
    notifications?.on(TOPICS.sessionsEnded, ({ column, value }) => {
      if (column && value && Object.hasOwn(BINDING_FIELD, column)) this.forgetWhere(column as SessionColumn, value);
    });
  }

  get liveCount(): number {
    return this.live.size;
  }

  async storedCount(): Promise<number> {
    const row = await this.options.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM mcp_sessions');
    return Number(row?.n ?? 0);
  }

  /** Opens a session for an authenticated `initialize`. */
  async create(initialize: JSONRPCRequest, principal: Principal): Promise<LiveSession> {
    const id = randomBytes(32).toString('base64url');
    const idHash = hashSessionId(id);
    const now = Date.now();
    const protocolVersion = negotiatedVersion((initialize.params as { protocolVersion?: unknown } | undefined)?.protocolVersion);
    await this.options.store.run(
      `INSERT INTO mcp_sessions (id_hash, user_id, client_id, principal_kind, grant_id, pat_id, scopes, token_expires_at,
         protocol_version, transport, initialize_request, created_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        idHash,
        principal.userId,
        principal.clientId,
        principal.kind,
        principal.grantId ?? null,
        principal.patId ?? null,
        principal.scopes.join(' '),
        principal.expiresAt,
        protocolVersion,
        'streamable',
        JSON.stringify(initialize),
        now,
        now,
      ],
    );
    const session = await this.open(id, idHash, principal, protocolVersion);
    this.stats.created++;
    return session;
  }

  /**
   * The session with this id, from memory or rebuilt from the Store, or
   * undefined when no such session exists (never did, ended, or expired).
   */
  async find(id: string): Promise<LiveSession | undefined> {
    const idHash = this.hashOf(id);
    const cached = this.live.get(idHash);
    if (cached) {
      if (cached.closing) return undefined;
      if (Date.now() - cached.confirmedAt < this.options.confirmEveryMs) return this.touch(cached);
      const row = await this.loadRow(idHash, BINDING_COLUMNS);
      if (!row) {
        // Ended elsewhere (DELETE on another instance, an administrator, a revoked
        // client): calls already running here still finish, as after a DELETE here.
        this.closeGracefully(cached);
        return undefined;
      }
      cached.binding = bindingOf(row);
      cached.confirmedAt = Date.now();
      return this.touch(cached);
    }
    let pending = this.rebuilding.get(idHash);
    if (!pending) {
      pending = this.rebuild(id, idHash).finally(() => this.rebuilding.delete(idHash));
      this.rebuilding.set(idHash, pending);
    }
    const session = await pending;
    return session ? this.touch(session) : undefined;
  }

  /** A fresh bearer for the same principal renews what the session is bound to. */
  async rebind(session: LiveSession, principal: Principal): Promise<void> {
    session.binding = principal;
    await this.options.store.run(
      'UPDATE mcp_sessions SET scopes = ?, token_expires_at = ?, grant_id = ?, pat_id = ? WHERE id_hash = ?',
      [principal.scopes.join(' '), principal.expiresAt, principal.grantId ?? null, principal.patId ?? null, session.idHash],
    );
  }

  /**
   * Ends a session at the client's request: new requests on it get 404 at
   * once (here and, through the Store, on every instance), calls already in
   * flight finish and deliver their answers (bounded by the grace period),
   * then the transport and server close.
   */
  async end(session: LiveSession): Promise<void> {
    if (session.closing) return;
    session.closing = true;
    await this.options.store.run('DELETE FROM mcp_sessions WHERE id_hash = ?', [session.idHash]);
    this.stats.ended++;
    // Another instance holding this session lets its calls finish the same way.
    await this.options.notifications?.publish(TOPICS.sessionEnded, { idHash: session.idHash });
    this.closeGracefully(session);
  }

  /** Ends every session matching a condition in the Store (an administrator, a revoked client or grant). */
  async endWhere(column: SessionColumn, value: string): Promise<number> {
    const { changes } = await this.options.store.run(`DELETE FROM mcp_sessions WHERE ${column} = ?`, [value]);
    await this.options.notifications?.publish(TOPICS.sessionsEnded, { column, value });
    this.forgetWhere(column, value);
    return changes;
  }

  /** Ends one session by its stored hash (an administrator sees hashes, never session ids). */
  async endByHash(idHash: string): Promise<boolean> {
    const { changes } = await this.options.store.run('DELETE FROM mcp_sessions WHERE id_hash = ?', [idHash]);
    const session = this.live.peek(idHash);
    if (session) this.forget(session);
    if (changes === 1) {
      this.stats.ended++;
      await this.options.notifications?.publish(TOPICS.sessionEnded, { idHash });
    }
    return changes === 1;
  }

  /** Drops sessions nobody has used for longer than the maximum age from the Store. */
  async pruneStored(): Promise<number> {
    const { changes } = await this.options.store.run('DELETE FROM mcp_sessions WHERE last_used_at < ?', [Date.now() - this.options.maxAgeMs]);
    return changes;
  }

  /** Ends every standalone GET stream, so clients reconnect (elsewhere, when this process is stopping). */
  closeStreams(): void {
    for (const session of this.live.values()) session.transport.closeStandaloneStream();
  }

  /** Closes every live transport (process shutdown); the records stay, so sessions resume elsewhere. */
  async closeAll(graceMs: number): Promise<void> {
    clearInterval(this.sweeper);
    const sessions = [...this.live.values()];
    await Promise.all(sessions.map((session) => session.transport.drain(graceMs)));
    for (const session of sessions) this.forget(session);
  }

  private async open(id: string, idHash: string, binding: Principal, protocolVersion: string): Promise<LiveSession> {
    const transport = new SessionTransport(id, this.options.keepAliveMs);
    const server = this.options.buildServer({ era: 'legacy', protocolVersion, inSession: true });
    await server.connect(transport);
    const now = Date.now();
    const session: LiveSession = {
      id,
      idHash,
      transport,
      server,
      binding,
      protocolVersion,
      lastUsed: now,
      confirmedAt: now,
      persistedUseAt: now,
      closing: false,
      rebind: (principal) => this.rebind(session, principal),
    };
    this.live.set(idHash, session);
    return session;
  }

  private async rebuild(id: string, idHash: string): Promise<LiveSession | undefined> {
    const row = await this.loadRow(idHash);
    // Old HTTP+SSE sessions live and die with their stream; only Streamable HTTP ones come back.
    if (!row || row.transport !== 'streamable') return undefined;
    const started = performance.now();
    const binding = bindingOf(row);
    const session = await this.open(id, idHash, binding, row.protocol_version);
    try {
      await session.transport.replayInitialize(JSON.parse(row.initialize_request) as JSONRPCRequest, toAuthInfo(binding, this.options.resource));
    } catch (error) {
      this.forget(session);
      throw error;
    }
    this.stats.rebuilt++;
    this.options.logger.debug({ session: idHash.slice(0, 12), ms: Math.round(performance.now() - started) }, 'session rebuilt');
    return session;
  }

  private async loadRow(idHash: string, columns = '*'): Promise<SessionRow | undefined> {
    const row = await this.options.store.get<SessionRow>(`SELECT ${columns} FROM mcp_sessions WHERE id_hash = ?`, [idHash]);
    if (row && row.last_used_at < Date.now() - this.options.maxAgeMs) return undefined;
    return row;
  }

  /** Hashing every request's session id showed in the profile; ids of live sessions are hashed once. */
  private hashOf(id: string): string {
    let idHash = this.hashes.get(id);
    if (!idHash) {
      idHash = hashSessionId(id);
      this.hashes.set(id, idHash);
    }
    return idHash;
  }

  private touch(session: LiveSession): LiveSession {
    const now = Date.now();
    session.lastUsed = now;
    if (now - session.persistedUseAt > 60_000) {
      session.persistedUseAt = now;
      void this.options.store.run('UPDATE mcp_sessions SET last_used_at = ? WHERE id_hash = ?', [now, session.idHash]).catch(() => {});
    }
    return session;
  }

  private evictIdle(): void {
    const cutoff = Date.now() - this.options.idleTtlMs;
    for (const [, session] of [...this.live.entriesOldestFirst()]) {
      if (session.lastUsed >= cutoff) break;
      if (session.transport.callsInFlight > 0) continue;
      this.live.delete(session.idHash);
      this.evict(session);
    }
  }

  /** Leaves memory but keeps the record: the next request rebuilds it. */
  private evict(session: LiveSession): void {
    this.stats.evicted++;
    void session.transport.close().then(() => session.server.close()).catch(() => {});
  }

  /** New requests get 404 at once; calls in flight finish (bounded by the grace period), then it closes. */
  private closeGracefully(session: LiveSession): void {
    session.closing = true;
    const started = performance.now();
    void session.transport
      .drain(this.options.deleteGraceMs)
      .then(() => {
        this.options.onDrained?.((performance.now() - started) / 1000);
        this.forget(session);
      })
      .catch(() => {});
  }

  private forgetWhere(column: SessionColumn, value: string): void {
    const field = BINDING_FIELD[column];
    for (const [, session] of [...this.live.entriesOldestFirst()]) {
      if (session.binding[field] === value) this.forget(session);
    }
  }

  private forget(session: LiveSession): void {
    session.closing = true;
    if (this.live.peek(session.idHash) === session) this.live.delete(session.idHash);
    void session.transport.close().then(() => session.server.close()).catch(() => {});
  }
}
