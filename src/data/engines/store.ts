/**
 * The one storage interface. Every module writes plain SQL in the subset that
 * both SQLite and PostgreSQL accept (TEXT, BIGINT epoch milliseconds, JSON kept
 * as TEXT, `?` placeholders, INSERT … ON CONFLICT, RETURNING), so a query is
 * written once and runs on either engine.
 */
export interface Queryable {
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
}

export interface Store extends Queryable {
  readonly engine: 'sqlite' | 'postgres';
  /** Runs `work` atomically: all of its statements commit together or none do. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `work` while holding a lock shared by every instance on this Store. */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Cheap round trip used by readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Row = Record<string, unknown>;

export interface RunResult {
  changes: number;
}

/**
 * The database did not answer (refused, dropped or timed out the connection,
 * is starting or shutting down, or SQLite stayed locked): nothing was
 * changed, and the same request may succeed in a moment. Answered 503 with
 * Retry-After, never 500.
 */
export class StoreUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the database is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailable';
  }
}

/**
 * The database refused the statement by its own rules (a constraint, a
 * trigger): nothing the statement, or its transaction, did was kept.
 * Answered 409 ("nothing was changed"), never 500.
 */
export class StoreRefused extends Error {
  constructor(cause: unknown) {
    super(`the database refused the change: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreRefused';
  }
}

/** Connection-level failures of node's sockets and the pg driver (SQLSTATE class 08, 57P0x, 53300). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
]);
const UNAVAILABLE_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i;

/** Rethrows `error` as StoreUnavailable when the database could not be reached, StoreRefused when it said no. */
export function classifyStoreError(error: unknown): never {
  if (error instanceof StoreUnavailable || error instanceof StoreRefused) throw error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // SQLite's extended codes (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT) count as their primary code.
    const primary = code.startsWith('SQLITE_') ? code.split('_', 2).join('_') : code;
    if (UNAVAILABLE_CODES.has(primary) || code.startsWith('08')) throw new StoreUnavailable(error);
    // Integrity constraints (SQLSTATE class 23, SQLITE_CONSTRAINT*) and an error a trigger raised (P0001).
    if (primary === 'SQLITE_CONSTRAINT' || code.startsWith('23') || code === 'P0001') throw new StoreRefused(error);
  }
  if (error instanceof Error && UNAVAILABLE_MESSAGES.test(error.message)) throw new StoreUnavailable(error);
  throw error;
}
