import type { Queryable } from './engines/store.ts';

/** The `settings` table: small JSON documents shared by every instance (the registration policy, cookie keys). */

export async function readSetting<T>(db: Queryable, key: string): Promise<T | undefined> {
  const row = await db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]);
  return row ? (JSON.parse(row.value) as T) : undefined;
}

export async function writeSetting(db: Queryable, key: string, value: unknown): Promise<void> {
  await db.run(
    `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    [key, JSON.stringify(value), Date.now()],
  );
}
