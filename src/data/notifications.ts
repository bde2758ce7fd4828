import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../ops/logging.ts';
import { PostgresStore } from './engines/postgres.ts';
import type { Store } from './engines/store.ts';

/** A small, flat message: ids, never secrets (payloads travel through the database). */
export type Message = Record<string, string>;

/** Everything instances tell each other. */
export const TOPICS = {
  /** `{ idHash }`: a session was DELETEd; an instance holding it lets calls in flight finish, then drops it. */
  sessionEnded: 'session.ended',
  /** `{ column, value }`: sessions of a person, client, grant or token were ended (their rows are gone); drop them. */
  sessionsEnded: 'sessions.ended',
  /** `{ grantId?, patId?, tokenId?, clientId? }`: access was revoked; stop believing it is live. */
  accessRevoked: 'access.revoked',
  /** Signing keys were rotated or pruned; load them again. */
  keysChanged: 'keys.changed',
  /** An administrator added, changed or disabled an upstream MCP server; read the table again. */
  upstreamsChanged: 'upstreams.changed',
  /** `{ taskId, status }`: a durable task was cancelled, got its input, or ended; whoever runs or watches it acts. */
  taskChanged: 'task.changed',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * How a change made by a use case reaches whoever holds something in memory
 * because of it (a session ended, access revoked, keys changed): the
 * listeners in this process at once, and, on PostgreSQL, every other
 * instance too, so it takes effect everywhere instead of when a cache runs
 * out. Across instances it is best effort: a message can be lost while an
 * instance is disconnected, so every cache still has its own time bound, and
 * a gap in the channel is reported so listeners can distrust everything they
 * cached.
 */
export interface Notifications {
  /** Whether messages actually reach other instances (PostgreSQL with notifications on). */
  readonly enabled: boolean;
  /** Tells this process's listeners, then every other instance. Resolves once the message is committed; never rejects. */
  publish(topic: Topic, message?: Message): Promise<void>;
  /** Runs `handler` for each message on `topic`, published here or by another instance. Handlers must be idempotent. */
  on(topic: Topic, handler: (message: Message) => void): void;
  /** Runs `handler` after the channel was down: messages sent meanwhile were missed. */
  onGap(handler: () => void): void;
  /** Resolves once this instance hears everything published from now on. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** PostgreSQL LISTEN/NOTIFY when the Store is PostgreSQL and `enabled`; otherwise nothing travels. */
export function openNotifications(store: Store, options: { enabled: boolean; logger?: Logger }): Notifications {
  return store instanceof PostgresStore && options.enabled ? new PostgresNotifications(store, options.logger) : new LocalOnly(options.logger);
}

/** This process's listeners, by topic. */
class LocalListeners {
  private readonly handlers = new Map<string, ((message: Message) => void)[]>();

  constructor(private readonly logger?: Logger) {}

  on(topic: string, handler: (message: Message) => void): void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
  }

  dispatch(topic: string, message: Message): void {
    for (const handler of this.handlers.get(topic) ?? []) {
      try {
        handler(message);
      } catch (error) {
        this.logger?.error({ err: error, topic }, 'a notification handler failed');
      }
    }
  }
}

/** One process owns an SQLite file (or notifications are off): only this process's listeners hear. */
class LocalOnly implements Notifications {
  readonly enabled = false;
  private readonly listeners: LocalListeners;

  constructor(logger?: Logger) {
    this.listeners = new LocalListeners(logger);
  }

  async publish(topic: Topic, message: Message = {}): Promise<void> {
    this.listeners.dispatch(topic, message);
  }

  on(topic: Topic, handler: (message: Message) => void): void {
    this.listeners.on(topic, handler);
  }

  onGap(): void {}
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

const CHANNEL = 'gatehouse';
const HEALTH_CHECK_MS = 15_000;
const MAX_RETRY_MS = 30_000;

interface Envelope {
  /** The publishing instance, which does not act on its own messages. */
  origin: string;
  topic: string;
  message: Message;
}

class PostgresNotifications implements Notifications {
  readonly enabled = true;
  private readonly origin = randomUUID();
  private readonly listeners: LocalListeners;
  private readonly gapHandlers: (() => void)[] = [];
  private client: pg.Client | undefined;
  private healthCheck: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private retryMs = 1000;
  private closed = false;

  constructor(
    private readonly store: PostgresStore,
    private readonly logger?: Logger,
  ) {
    this.listeners = new LocalListeners(logger);
  }

  async publish(topic: Topic, message: Message = {}): Promise<void> {
    this.listeners.dispatch(topic, message);
    const envelope: Envelope = { origin: this.origin, topic, message };
    await this.store.run('SELECT pg_notify(?, ?)', [CHANNEL, JSON.stringify(envelope)]).catch((error: unknown) => {
      this.logger?.warn({ err: error, topic }, 'could not notify other instances; their caches expire on their own');
    });
  }

  on(topic: Topic, handler: (message: Message) => void): void {
    this.listeners.on(topic, handler);
  }

  onGap(handler: () => void): void {
    this.gapHandlers.push(handler);
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.disconnect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.store.connectionString, keepAlive: true, query_timeout: 10_000 });
    client.on('notification', (notification) => {
      if (notification.channel === CHANNEL && notification.payload) this.dispatch(notification.payload);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      // Closed while this reconnect was under way.
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    // A connection can die without a word (a dropped network path): ask it something now and then.
    this.healthCheck = setInterval(() => {
      void client.query('SELECT 1').catch(() => this.lost(client));
    }, HEALTH_CHECK_MS);
    this.healthCheck.unref();
  }

  private async disconnect(): Promise<void> {
    clearInterval(this.healthCheck);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** The listening connection is gone: reconnect with back-off, then report the gap. */
  private lost(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.logger?.warn('lost the notification channel to other instances; reconnecting');
    void this.disconnect();
    const attempt = () => {
      this.retry = setTimeout(() => {
        if (this.closed) return;
        this.connect().then(
          () => {
            if (this.closed) return;
            this.retryMs = 1000;
            this.logger?.info('notification channel to other instances is back');
            for (const handler of this.gapHandlers) handler();
          },
          () => {
            this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
            attempt();
          },
        );
      }, this.retryMs);
      this.retry.unref();
    };
    attempt();
  }

  private dispatch(payload: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return;
    }
    // This process heard its own message when it published it.
    if (envelope.origin === this.origin) return;
    this.listeners.dispatch(envelope.topic, envelope.message ?? {});
  }
}
