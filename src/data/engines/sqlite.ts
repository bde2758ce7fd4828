import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KeyedMutex } from './keyed-mutex.ts';
import { SqliteCheckpointer } from './sqlite-checkpointer.ts';
import { classifyStoreError, type Queryable, type Row, type RunResult, type Store } from './store.ts';

type Statement = Database.Statement<unknown[], Row>;

/**
 * SQLite through better-sqlite3: one connection, synchronous calls wrapped in
 * promises. A transaction holds a gate that every other caller waits on, so
 * statements from concurrent requests never slip into someone else's
 * transaction across an `await`.
 */
export class SqliteStore implements Store {
  readonly engine = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private gate: Promise<void> | undefined;
  private readonly locks = new KeyedMutex();
  private readonly checkpointer: SqliteCheckpointer | undefined;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    if (path !== ':memory:') this.checkpointer = new SqliteCheckpointer(this.db, path);
  }

  private direct: Queryable = {
    all: async <T>(sql: string, params: readonly unknown[] = []) => attempt(() => this.prepare(sql).all(...bind(params)) as T[]),
    get: async <T>(sql: string, params: readonly unknown[] = []) => attempt(() => this.prepare(sql).get(...bind(params)) as T | undefined),
    run: async (sql: string, params: readonly unknown[] = []): Promise<RunResult> => attempt(() => ({ changes: this.prepare(sql).run(...bind(params)).changes })),
  };

  async all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    while (this.gate) await this.gate;
    return this.direct.all<T>(sql, params);
  }

  async get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    while (this.gate) await this.gate;
    return this.direct.get<T>(sql, params);
  }

  async run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    while (this.gate) await this.gate;
    return this.direct.run(sql, params);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    try {
      attempt(() => this.db.exec('BEGIN IMMEDIATE'));
      try {
        const result = await work(this.direct);
        attempt(() => this.db.exec('COMMIT'));
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.gate = undefined;
      open();
    }
  }

  exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    // One process owns an SQLite file, so an in-process lock is the shared lock.
    return this.locks.run(name, work);
  }

  async ping(): Promise<void> {
    attempt(() => this.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    while (this.gate) await this.gate;
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql) as Statement;
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** Runs a synchronous database call, turning "locked" and I/O failures into StoreUnavailable. */
function attempt<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    return classifyStoreError(error);
  }
}

function bind(params: readonly unknown[]): unknown[] {
  return params.map((value) => {
    if (value === undefined) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value;
  });
}
