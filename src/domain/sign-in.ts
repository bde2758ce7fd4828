import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { audit } from '../data/audit-log.ts';
import type { Store } from '../data/engines/store.ts';
import { clearFailures, countFailure, lock, lockedUntil } from '../data/login-throttle.ts';
import { findUserRowByEmail, recordSignIn, toUser, type User } from '../data/users.ts';
import { normalizeEmail } from './accounts.ts';

// Verifying against this when the account does not exist keeps the timing of
// "no such user" and "wrong password" alike.
const DECOY_HASH = hash(randomBytes(16).toString('hex'));

/** Failures before the first lock, and the lock's growth. */
const FREE_ATTEMPTS = 5;
const FIRST_LOCK_MS = 30_000;
const MAX_LOCK_MS = 15 * 60_000;

export type SignInResult = { ok: true; user: User } | { ok: false; reason: 'invalid' | 'locked'; retryAfterMs: number };

export interface SignInAttempt {
  email: string;
  password: string;
  ip: string;
  /** Where the person signed in, for the audit log: an OAuth client's consent flow, or the account pages. */
  via: { client: string } | { page: 'admin' };
}

/**
 * Signing in with a password, the one way for every page that asks for one
 * (the OAuth sign-in page and /login): wrong, unknown and disabled all answer
 * `invalid`; repeated failures for one account name lock it with a doubling
 * back-off, whether or not the account exists; every attempt is audited and
 * every refusal counted (`login_password`, `login_locked`).
 */
export class PasswordSignIn {
  constructor(
    private readonly store: Store,
    private readonly onRefused: (reason: 'login_password' | 'login_locked') => void = () => {},
  ) {}

  async attempt({ email, password, ip, via }: SignInAttempt): Promise<SignInResult> {
    const result = await this.check(email, password);
    const subject = normalizeEmail(email);
    if (result.ok) {
      await audit(this.store, { event: 'login.succeeded', actor: result.user.id, subject: result.user.id, ip, detail: via });
    } else {
      const locked = result.reason === 'locked';
      this.onRefused(locked ? 'login_locked' : 'login_password');
      await audit(this.store, { event: locked ? 'login.locked' : 'login.failed', subject, ip, detail: via });
    }
    return result;
  }

  private async check(email: string, password: string): Promise<SignInResult> {
    const throttleKey = createHash('sha256').update(normalizeEmail(email)).digest('hex');
    const now = Date.now();
    const until = await lockedUntil(this.store, throttleKey);
    if (until !== null && until > now) return { ok: false, reason: 'locked', retryAfterMs: until - now };

    const row = await findUserRowByEmail(this.store, normalizeEmail(email));
    let passwordMatches = false;
    if (row?.password_hash) passwordMatches = await verify(row.password_hash, password).catch(() => false);
    else await verify(await DECOY_HASH, password).catch(() => false);

    if (row && passwordMatches && row.disabled_at === null) {
      await clearFailures(this.store, throttleKey);
      await recordSignIn(this.store, row.id, now);
      return { ok: true, user: toUser(row) };
    }

    const failures = await countFailure(this.store, throttleKey, now);
    const lockMs = failures >= FREE_ATTEMPTS ? Math.min(FIRST_LOCK_MS * 2 ** (failures - FREE_ATTEMPTS), MAX_LOCK_MS) : 0;
    if (lockMs) await lock(this.store, throttleKey, now + lockMs);
    return lockMs ? { ok: false, reason: 'locked', retryAfterMs: lockMs } : { ok: false, reason: 'invalid', retryAfterMs: 0 };
  }
}

/** What a sign-in page says about a refusal, and the Retry-After it sends. */
export function refusalMessage(result: Extract<SignInResult, { ok: false }>): { status: 401 | 429; message: string; retryAfterSeconds?: number } {
  if (result.reason !== 'locked') return { status: 401, message: 'The email or password is not right.' };
  const minutes = Math.max(1, Math.ceil(result.retryAfterMs / 60_000));
  return { status: 429, message: `Too many attempts. Wait ${minutes} minute(s) and try again.`, retryAfterSeconds: Math.ceil(result.retryAfterMs / 1000) };
}
