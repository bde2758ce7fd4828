import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Plain SQL on a test's own database, opened by its URL, without going
 * through Gatehouse's code: for the few things a test can only observe or set
 * up in the rows themselves (a partial state, a trigger that makes a statement
 * fail). Queries use `?` placeholders on both engines.
 */
export interface Sql {
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T | undefined>;
  /** Resolves to the number of rows changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Several statements at once, no parameters (DDL such as triggers). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

const positional = (sql: string) => {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
};

export function openSql(databaseUrl: string): Sql {
  if (databaseUrl.startsWith('postgres')) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    pool.on('error', () => {});
    return {
      all: async (sql, params = []) => (await pool.query(positional(sql), params)).rows,
      get: async (sql, params = []) => (await pool.query(positional(sql), params)).rows[0],
      run: async (sql, params = []) => (await pool.query(positional(sql), params)).rowCount ?? 0,
      exec: async (sql) => {
        await pool.query(sql);
      },
      close: () => pool.end(),
    };
  }
  const db = new Database(databaseUrl.replace(/^sqlite:/, ''));
  db.pragma('busy_timeout = 5000');
  return {
    all: async (sql, params = []) => db.prepare(sql).all(...params) as never,
    get: async (sql, params = []) => db.prepare(sql).get(...params) as never,
    run: async (sql, params = []) => db.prepare(sql).run(...params).changes,
    exec: async (sql) => {
      db.exec(sql);
    },
    close: async () => {
      db.close();
    },
  };
}
