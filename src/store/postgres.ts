import pg from 'pg';
import type { Queryable, Row, RunResult, Store } from './store.ts';

// BIGINT columns hold epoch milliseconds and counters, all far below 2^53:
// read them as numbers so both engines return the same shapes.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * PostgreSQL through a pg pool. Queries are written with `?` placeholders (the
 * shared dialect) and numbered here once per distinct statement.
 */
export class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(connectionString: string, poolSize = 10) {
    this.pool = new pg.Pool({ connectionString, max: poolSize });
    // An idle client that loses its connection must not crash the process.
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
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(clientQueryable(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
      }
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
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
  return target.query(toPositional(sql), params.map(bindValue));
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
