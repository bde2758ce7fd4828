import pg from 'pg';
import { KeyedMutex } from './keyed-mutex.ts';
import { classifyStoreError, type Queryable, type Row, type RunResult, type Store } from './store.ts';

// BIGINT columns hold epoch milliseconds and counters, all far below 2^53:
// read them as numbers so both engines return the same shapes.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface PostgresOptions {
  /** Connections this instance may hold (instances × pool size must stay under the server's max_connections). */
  poolSize?: number;
}

/**
 * PostgreSQL through a pg pool, for one or many instances on one database.
 * Queries are written with `?` placeholders (the shared dialect) and numbered
 * here once per distinct statement.
 */
export class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  private readonly pool: pg.Pool;
  // Callers of `exclusive` queue here before taking a connection, so waiting
  // for a lock never holds more than one connection per lock name.
  private readonly localLocks = new KeyedMutex();

  constructor(
    readonly connectionString: string,
    options: PostgresOptions = {},
  ) {
    this.pool = new pg.Pool({ connectionString, max: options.poolSize ?? 10, connectionTimeoutMillis: 10_000 });
    // An idle client that loses its connection must not crash the process;
    // the pool drops it and the next query opens a new one.
    this.pool.on('error', () => {});
  }

  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return queryOn(this.pool, sql, params).then((result) => result.rows as T[]);
  }

  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return queryOn(this.pool, sql, params).then((result) => result.rows[0] as T | undefined);
  }

  run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return queryOn(this.pool, sql, params).then((result) => ({ changes: result.rowCount ?? 0 }));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch(classifyStoreError);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN').catch(classifyStoreError);
      const result = await work(clientQueryable(client));
      await client.query('COMMIT').catch(classifyStoreError);
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      // A connection that could not roll back is not handed to anyone else.
      client.release(broken);
    }
  }

  exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.localLocks.run(name, async () => {
      const client = await this.pool.connect().catch(classifyStoreError);
      let broken: Error | undefined;
      try {
        // The lock belongs to this connection's session: if the process dies,
        // PostgreSQL releases it with the connection.
        await client.query('SELECT pg_advisory_lock(hashtext($1))', [name]).catch(classifyStoreError);
        try {
          return await work();
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch((error: Error) => (broken = error));
        }
      } finally {
        // Destroying a connection whose unlock failed releases the lock server-side.
        client.release(broken);
      }
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1').catch(classifyStoreError);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const numbered = new Map<string, string>();

/** `a = ? AND b = ?` → `a = $1 AND b = $2`; the shared SQL never contains a literal `?`. */
function toPositional(sql: string): string {
  let converted = numbered.get(sql);
  if (converted === undefined) {
    let index = 0;
    converted = sql.replace(/\?/g, () => `$${++index}`);
    numbered.set(sql, converted);
  }
  return converted;
}

function queryOn(target: pg.Pool | pg.PoolClient, sql: string, params: readonly unknown[] = []) {
  return target.query(toPositional(sql), params.map(bindValue)).catch(classifyStoreError);
}

// Booleans are stored as 0/1 INTEGER on both engines.
function bindValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

function clientQueryable(client: pg.PoolClient): Queryable {
  return {
    all: async <T>(sql: string, params?: readonly unknown[]) => (await queryOn(client, sql, params)).rows as T[],
    get: async <T>(sql: string, params?: readonly unknown[]) => (await queryOn(client, sql, params)).rows[0] as T | undefined,
    run: async (sql: string, params?: readonly unknown[]) => ({ changes: (await queryOn(client, sql, params)).rowCount ?? 0 }),
  };
}
