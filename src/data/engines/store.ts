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
