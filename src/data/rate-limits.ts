import { createRequire } from 'node:module';
import { RateLimiterRes, type RateLimiterStoreAbstract as StoreAbstract } from 'rate-limiter-flexible';
import type { Store } from './engines/store.ts';

// The package's base class for store-backed limiters: declared in its types,
// not exported at run time, so it is loaded from its file.
const RateLimiterStoreAbstract = createRequire(import.meta.url)('rate-limiter-flexible/lib/RateLimiterStoreAbstract.js') as typeof StoreAbstract;

interface CounterRow {
  points: number;
  expires_at: number | null;
}

/**
 * rate-limiter-flexible's counters kept in Gatehouse's own Store (table
 * `rate_limits`), so every instance on one database shares them, on SQLite
 * and PostgreSQL alike, with the schema under our migrations.
 */
export class StoreRateLimiter extends RateLimiterStoreAbstract {
  constructor(
    private readonly store: Store,
    options: { keyPrefix: string; points: number; duration: number; blockDuration?: number },
  ) {
    super({ ...options, storeClient: store });
  }

  async _upsert(key: string, points: number, msDuration: number, forceExpire = false): Promise<CounterRow> {
    const now = Date.now();
    const expiresAt = msDuration > 0 ? now + msDuration : null;
    // A new window starts when the old one has expired (or a block forces it).
    const row = await this.store.get<CounterRow>(
      `INSERT INTO rate_limits (key, points, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET
         points = CASE WHEN ? = 1 OR (rate_limits.expires_at IS NOT NULL AND rate_limits.expires_at <= ?) THEN excluded.points ELSE rate_limits.points + excluded.points END,
         expires_at = CASE WHEN ? = 1 OR (rate_limits.expires_at IS NOT NULL AND rate_limits.expires_at <= ?) THEN excluded.expires_at ELSE rate_limits.expires_at END
       RETURNING points, expires_at`,
      [key, points, expiresAt, forceExpire ? 1 : 0, now, forceExpire ? 1 : 0, now],
    );
    return row!;
  }

  async _get(key: string): Promise<CounterRow | null> {
    const row = await this.store.get<CounterRow>('SELECT points, expires_at FROM rate_limits WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)', [key, Date.now()]);
    return row ?? null;
  }

  async _delete(key: string): Promise<boolean> {
    const { changes } = await this.store.run('DELETE FROM rate_limits WHERE key = ?', [key]);
    return changes > 0;
  }

  _getRateLimiterRes(_key: string, changedPoints: number, row: CounterRow): RateLimiterRes {
    const isFirstInDuration = changedPoints === row.points;
    const consumedPoints = isFirstInDuration ? changedPoints : row.points;
    const msBeforeNext = row.expires_at ? Math.max(row.expires_at - Date.now(), 0) : -1;
    return new RateLimiterRes(Math.max(this.points - consumedPoints, 0), msBeforeNext, consumedPoints, isFirstInDuration);
  }
}

export async function sweepRateLimits(store: Store): Promise<void> {
  await store.run('DELETE FROM rate_limits WHERE expires_at IS NOT NULL AND expires_at <= ?', [Date.now()]);
}
