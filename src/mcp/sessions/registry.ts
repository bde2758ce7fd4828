import { createHash, randomBytes } from 'node:crypto';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCRequest, type McpServer, type Server } from '@modelcontextprotocol/server';
import type { Store } from '../../data/engines/store.ts';
import {
  countSessions,
  deleteSession,
  deleteSessionsUnusedSince,
  existingSessions,
  findSession,
  findSessionBinding,
  insertSession,
  rebindSession,
  SESSION_COLUMNS,
  touchSession,
  type SessionBindingRow,
  type SessionColumn,
} from '../../data/mcp-sessions.ts';
import { TOPICS, type Notifications } from '../../data/notifications.ts';
import type { Principal } from '../../domain/principal.ts';
import type { Logger } from '../../ops/logging.ts';
import { LruCache } from '../../util/lru-cache.ts';
import { toAuthInfo } from '../auth-info.ts';
import type { ServerFactory } from '../server-factory.ts';
import { SseTransport } from './sse-transport.ts';
import { StreamableTransport } from './streamable-transport.ts';

interface SessionState {
  id: string;
  idHash: string;
  server: McpServer | Server;
  binding: Principal;
  protocolVersion: string;
  /** The upstream this session proxies to (at /mcp/<name>), or null for /mcp. */
  upstream: string | null;
  lastUsed: number;
  /** When the Store last confirmed the session (and its binding) still exist. */
  confirmedAt: number;
  /** When `last_used_at` was last written, so the write happens at most once a minute. */
  persistedUseAt: number;
  closing: boolean;
  /** Renews the binding with a fresh credential for the same principal. */
  rebind(principal: Principal): Promise<void>;
}

/** A Streamable HTTP session (2025-03-26 … 2025-11-25 and 2024-11-05 clients on /mcp): rebuilt anywhere from its record. */
export interface StreamableSession extends SessionState {
  kind: 'streamable';
  transport: StreamableTransport;
}

/** An old HTTP+SSE session (/sse + /messages): it lives as long as its stream, on the instance that holds it. */
export interface SseSession extends SessionState {
  kind: 'sse';
  transport: SseTransport;
}

export type LiveSession = StreamableSession | SseSession;

export interface SessionRegistryOptions {
  store: Store;
  buildServer: ServerFactory;
  resource: string;
  logger: Logger;
  cacheSize: number;
  /** How long an idle session at /mcp/<upstream> is held (its upstream session, or stdio process, with it). */
  idleTtlMs: number;
  /**
   * How long a session at /mcp keeps its server and transport after its last
   * request, stream or call in flight. After that only its record remains (in
   * the Store) and the next request rebuilds them from it: an idle session
   * costs no memory here.
   */
  warmMs: number;
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
  /** Whether a held binding's access was revoked (held streams end when it is). */
  isLive(principal: Principal): Promise<boolean>;
  /** Told how long each ended session waited for its calls in flight. */
  onDrained?: (seconds: number) => void;
  /** Ends made by any use case, here or on another instance. */
  notifications: Notifications;
}

const BINDING_FIELD = { user_id: 'userId', client_id: 'clientId', grant_id: 'grantId', pat_id: 'patId', token_id: 'tokenId' } as const;

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function negotiatedVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
}

function bindingOf(row: SessionBindingRow): Principal {
  return {
    kind: row.principal_kind,
    userId: row.user_id,
    clientId: row.client_id,
    scopes: row.scopes.split(' ').filter(Boolean),
    expiresAt: Number(row.token_expires_at),
    ...(row.grant_id ? { grantId: row.grant_id } : {}),
    ...(row.pat_id ? { patId: row.pat_id } : {}),
    ...(row.token_id ? { tokenId: row.token_id } : {}),
  };
}

/**
 * Every legacy MCP session, of both transports, in one place. The Store holds
 * each session's record; this process holds live transports. Streamable HTTP
 * sessions sit in a bounded LRU with idle eviction, and a request for one
 * this process does not hold (after a restart, an eviction, or on another
 * instance) rebuilds it by replaying the stored initialize into a fresh
 * transport with the same id. HTTP+SSE sessions live as long as their stream.
 *
 * Whatever ends sessions (a DELETE, an administrator, a revocation, here or
 * on another instance) reaches both kinds through the Store's notifications;
 * held streams are also checked against the Store every few seconds, so one
 * ended by a process that could not notify (the CLI on SQLite) closes too.
 */
export class SessionRegistry {
  private readonly live: LruCache<string, StreamableSession>;
  private readonly sse = new Map<string, SseSession>();
  private readonly rebuilding = new Map<string, Promise<StreamableSession | undefined>>();
  private readonly draining = new Set<StreamableSession>();
  private readonly hashes: LruCache<string, string>;
  private readonly timers: ReturnType<typeof setInterval>[];
  private reconciling = false;
  /** Counters for /metrics and tests. */
  readonly stats = { created: 0, rebuilt: 0, evicted: 0, ended: 0 };

  constructor(private readonly options: SessionRegistryOptions) {
    this.live = new LruCache(options.cacheSize, (_hash, session) => this.evict(session));
    this.hashes = new LruCache(options.cacheSize);
    const evictEvery = Math.max(250, Math.min(60_000, options.idleTtlMs / 4, options.warmMs / 2));
    const reconcileEvery = Math.min(5000, Math.max(1000, options.confirmEveryMs));
    this.timers = [setInterval(() => this.evictIdle(), evictEvery), setInterval(() => void this.reconcileStreams(), reconcileEvery)];
    for (const timer of this.timers) timer.unref();
    const { notifications } = options;
    notifications.on(TOPICS.sessionEnded, ({ idHash }) => {
      const session = idHash ? this.held(idHash) : undefined;
      if (session) this.closeGracefully(session);
    });
    notifications.on(TOPICS.sessionsEnded, ({ column, value }) => {
      if (column && value && (SESSION_COLUMNS as readonly string[]).includes(column)) this.dropWhere(column as SessionColumn, value);
    });
  }

  get liveCount(): number {
    return this.live.size + this.sse.size;
  }

  storedCount(): Promise<number> {
    return countSessions(this.options.store);
  }

  /** Opens a Streamable HTTP session for an authenticated `initialize` at /mcp, or at /mcp/<upstream>. */
  async create(initialize: JSONRPCRequest, principal: Principal, upstream: string | null = null): Promise<StreamableSession> {
    const id = randomBytes(32).toString('base64url');
    const idHash = hashSessionId(id);
    const protocolVersion = negotiatedVersion((initialize.params as { protocolVersion?: unknown } | undefined)?.protocolVersion);
    await insertSession(this.options.store, this.record(idHash, principal, protocolVersion, 'streamable', JSON.stringify(initialize), upstream));
    const session = await this.openStreamable(id, idHash, principal, protocolVersion, upstream);
    this.stats.created++;
    return session;
  }

  /** Opens an HTTP+SSE session for an authenticated GET /sse; it ends when its stream does. */
  async openSse(principal: Principal): Promise<SseSession> {
    const id = randomBytes(32).toString('base64url');
    const idHash = hashSessionId(id);
    const protocolVersion = '2024-11-05';
    await insertSession(this.options.store, this.record(idHash, principal, protocolVersion, 'sse', '{}', null));
    const transport = new SseTransport(id, this.options.keepAliveMs);
    const server = this.options.buildServer({ era: 'legacy', protocolVersion, inSession: true });
    await server.connect(transport);
    const session = this.newSession<SseSession>({ kind: 'sse', transport, id, idHash, server, binding: principal, protocolVersion, upstream: null });
    this.sse.set(idHash, session);
    transport.stream.onClose(() => {
      session.closing = true;
      if (this.sse.get(idHash) === session) this.sse.delete(idHash);
      void server.close().catch(() => {});
      void deleteSession(this.options.store, idHash).catch(() => {});
    });
    this.stats.created++;
    return session;
  }

  /**
   * The Streamable HTTP session with this id, from memory or rebuilt from the
   * Store, or undefined when no such session exists (never did, ended, or
   * expired) or belongs to another resource (/mcp and each /mcp/<upstream>
   * know only their own sessions).
   */
  async find(id: string, upstream: string | null = null): Promise<StreamableSession | undefined> {
    const session = await this.findAnywhere(id);
    return session?.upstream === upstream ? session : undefined;
  }

  private async findAnywhere(id: string): Promise<StreamableSession | undefined> {
    const idHash = this.hashOf(id);
    const cached = this.live.get(idHash);
    if (cached) return this.confirmed(cached);
    let pending = this.rebuilding.get(idHash);
    if (!pending) {
      pending = this.rebuild(id, idHash).finally(() => this.rebuilding.delete(idHash));
      this.rebuilding.set(idHash, pending);
    }
    const session = await pending;
    return session ? this.touch(session) : undefined;
  }

  /** The HTTP+SSE session with this id, held by this process (its stream is here), or undefined. */
  async findSse(id: string): Promise<SseSession | undefined> {
    const session = this.sse.get(this.hashOf(id));
    return session ? this.confirmed(session) : undefined;
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
    await this.endByHash(session.idHash);
  }

  /** Ends one session by its stored hash (an administrator sees hashes, never session ids). */
  async endByHash(idHash: string): Promise<boolean> {
    const ended = await deleteSession(this.options.store, idHash);
    if (ended) this.stats.ended++;
    await this.options.notifications.publish(TOPICS.sessionEnded, { idHash });
    return ended;
  }

  /** Drops sessions nobody has used for longer than the maximum age from the Store. */
  pruneStored(): Promise<number> {
    return deleteSessionsUnusedSince(this.options.store, Date.now() - this.options.maxAgeMs);
  }

  /** Ends every event stream, so clients reconnect (elsewhere, when this process is stopping). */
  closeStreams(): void {
    for (const session of this.live.values()) session.transport.closeStandaloneStream();
    for (const session of this.sse.values()) void session.transport.close();
  }

  /** Closes every live transport (process shutdown); Streamable HTTP records stay, so sessions resume elsewhere. */
  async closeAll(graceMs: number): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    const sessions = [...this.live.values()];
    await Promise.all(sessions.map((session) => session.transport.drain(graceMs)));
    for (const session of [...sessions, ...this.sse.values()]) this.drop(session);
  }

  /** A held session of either kind; renewing its binding writes the Store too. */
  private newSession<S extends LiveSession>(fields: Pick<S, 'kind' | 'transport' | 'id' | 'idHash' | 'server' | 'binding' | 'protocolVersion' | 'upstream'>): S {
    const now = Date.now();
    const session = {
      ...fields,
      lastUsed: now,
      confirmedAt: now,
      persistedUseAt: now,
      closing: false,
      rebind: async (principal: Principal) => {
        session.binding = principal;
        await rebindSession(this.options.store, session.idHash, {
          scopes: principal.scopes,
          tokenExpiresAt: principal.expiresAt,
          grantId: principal.grantId ?? null,
          patId: principal.patId ?? null,
          tokenId: principal.tokenId ?? null,
        });
      },
    } as S;
    return session;
  }

  private record(idHash: string, principal: Principal, protocolVersion: string, transport: 'streamable' | 'sse', initializeRequest: string, upstream: string | null) {
    return {
      idHash,
      userId: principal.userId,
      clientId: principal.clientId,
      kind: principal.kind,
      grantId: principal.grantId ?? null,
      patId: principal.patId ?? null,
      tokenId: principal.tokenId ?? null,
      scopes: principal.scopes,
      tokenExpiresAt: principal.expiresAt,
      protocolVersion,
      transport,
      initializeRequest,
      upstream,
      now: Date.now(),
    };
  }

  private async openStreamable(id: string, idHash: string, binding: Principal, protocolVersion: string, upstream: string | null): Promise<StreamableSession> {
    const transport = new StreamableTransport(id, this.options.keepAliveMs);
    const server = this.options.buildServer({ era: 'legacy', protocolVersion, inSession: true, upstream, sessionKey: idHash });
    await server.connect(transport);
    const session = this.newSession<StreamableSession>({ kind: 'streamable', transport, id, idHash, server, binding, protocolVersion, upstream });
    this.live.set(idHash, session);
    return session;
  }

  private async rebuild(id: string, idHash: string): Promise<StreamableSession | undefined> {
    const row = await findSession(this.options.store, idHash);
    // Old HTTP+SSE sessions live and die with their stream; only Streamable HTTP ones come back.
    if (!row || row.transport !== 'streamable' || this.expired(row)) return undefined;
    const started = performance.now();
    const binding = bindingOf(row);
    const upstream = row.upstream ?? null;
    const session = await this.openStreamable(id, idHash, binding, row.protocol_version, upstream);
    try {
      const resource = upstream ? `${this.options.resource}/${upstream}` : this.options.resource;
      await session.transport.replayInitialize(JSON.parse(row.initialize_request) as JSONRPCRequest, toAuthInfo(binding, resource));
    } catch (error) {
      this.drop(session);
      throw error;
    }
    this.stats.rebuilt++;
    this.options.logger.debug({ session: idHash.slice(0, 12), ms: Math.round(performance.now() - started) }, 'session rebuilt');
    return session;
  }

  /** A held session, re-read from the Store when it has not been for `confirmEveryMs`: ended or rebound elsewhere? */
  private async confirmed<S extends LiveSession>(session: S): Promise<S | undefined> {
    if (session.closing) return undefined;
    if (Date.now() - session.confirmedAt >= this.options.confirmEveryMs) {
      const row = await findSessionBinding(this.options.store, session.idHash);
      if (!row || this.expired(row)) {
        // Ended elsewhere (DELETE on another instance, an administrator, a
        // revocation): calls already running here still finish, as after a DELETE here.
        this.closeGracefully(session);
        return undefined;
      }
      session.binding = bindingOf(row);
      session.confirmedAt = Date.now();
    }
    return this.touch(session);
  }

  private expired(row: { last_used_at: number }): boolean {
    return Number(row.last_used_at) < Date.now() - this.options.maxAgeMs;
  }

  private held(idHash: string): LiveSession | undefined {
    return this.live.peek(idHash) ?? this.sse.get(idHash);
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

  private touch<S extends LiveSession>(session: S): S {
    const now = Date.now();
    session.lastUsed = now;
    if (now - session.persistedUseAt > 60_000) {
      session.persistedUseAt = now;
      void touchSession(this.options.store, session.idHash, now).catch(() => {});
    }
    return session;
  }

  /**
   * Sessions holding a stream open get no request that would notice they
   * ended: every few seconds, those whose record is gone, or whose access was
   * revoked, are closed.
   */
  private async reconcileStreams(): Promise<void> {
    if (this.reconciling) return;
    const holding = [...this.sse.values(), ...[...this.live.values()].filter((session) => session.transport.holdsStream)].filter((session) => !session.closing);
    if (holding.length === 0) return;
    this.reconciling = true;
    try {
      const existing = await existingSessions(this.options.store, holding.map((session) => session.idHash));
      for (const session of holding) {
        if (!existing.has(session.idHash) || !(await this.options.isLive(session.binding))) this.drop(session);
      }
    } catch {
      // The Store did not answer: try again next time.
    } finally {
      this.reconciling = false;
    }
  }

  private evictIdle(): void {
    const now = Date.now();
    const warmCutoff = now - this.options.warmMs;
    const idleCutoff = now - this.options.idleTtlMs;
    for (const [, session] of [...this.live.entriesOldestFirst()]) {
      // Oldest first: once one is recent enough for both, the rest are too.
      if (session.lastUsed >= Math.max(warmCutoff, idleCutoff)) break;
      // A gateway session holds its upstream session (or stdio process): it stays for the idle TTL.
      if (session.lastUsed >= (session.upstream === null ? warmCutoff : idleCutoff)) continue;
      if (session.transport.callsInFlight > 0 || session.transport.holdsStream) continue;
      this.live.delete(session.idHash);
      this.evict(session);
    }
  }

  /** Leaves memory but keeps the record: the next request rebuilds it. */
  private evict(session: StreamableSession): void {
    this.stats.evicted++;
    void session.transport.close().then(() => session.server.close()).catch(() => {});
  }

  /** New requests get 404 at once; calls in flight finish (bounded by the grace period), then it closes. */
  private closeGracefully(session: LiveSession): void {
    if (session.kind === 'sse') return this.drop(session);
    if (this.draining.has(session)) return;
    this.draining.add(session);
    session.closing = true;
    const started = performance.now();
    void session.transport
      .drain(this.options.deleteGraceMs)
      .then(() => {
        this.options.onDrained?.((performance.now() - started) / 1000);
        this.draining.delete(session);
        this.drop(session);
      })
      .catch(() => {});
  }

  /** Sessions bound to this person, client, grant or token were ended: close them now, both transports. */
  private dropWhere(column: SessionColumn, value: string): void {
    const field = BINDING_FIELD[column];
    for (const session of [...this.live.values(), ...this.sse.values()]) {
      if (session.binding[field] === value) this.drop(session);
    }
  }

  private drop(session: LiveSession): void {
    session.closing = true;
    if (session.kind === 'sse') {
      if (this.sse.get(session.idHash) === session) this.sse.delete(session.idHash);
      void session.transport.close().catch(() => {});
      return;
    }
    if (this.live.peek(session.idHash) === session) this.live.delete(session.idHash);
    void session.transport.close().then(() => session.server.close()).catch(() => {});
  }
}
