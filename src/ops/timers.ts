import { audit } from '../data/audit-log.ts';
import type { Store } from '../data/engines/store.ts';
import { sweepExpiredModels } from '../data/oidc-models.ts';
import { sweepRateLimits } from '../data/rate-limits.ts';
import { sweepRevokedAccessTokens } from '../data/revoked-access-tokens.ts';
import { sweepUsedAssertions } from '../data/used-assertions.ts';
import type { Access } from '../domain/access.ts';
import type { RegistrationPolicy } from '../domain/registration-policy.ts';
import { deleteStaleClients } from '../domain/stale-clients.ts';
import type { Logger } from './logging.ts';

const SWEEP_EVERY_MS = 10 * 60_000;
const CLEANUP_EVERY_MS = 3600_000;
/** The first stale-client clean-up comes soon after start, so a process that restarts often still cleans up. */
const FIRST_CLEANUP_AFTER_MS = 60_000;

export interface PeriodicWork {
  store: Store;
  access: Access;
  registrationPolicy: RegistrationPolicy;
  logger: Logger;
  /** The other things that expire in memory or in the Store (sessions, admin sign-ins). */
  sweeps: (() => Promise<unknown>)[];
}

/**
 * Every timer Gatehouse runs, in one place: expired rows go every ten
 * minutes; stale self-registered clients, per the registration policy's
 * retention, every hour (one instance at a time). Returns the stop.
 */
export function startTimers({ store, access, registrationPolicy, logger, sweeps }: PeriodicWork): () => void {
  const quietly = (what: string, work: () => Promise<unknown>) => () =>
    void work().catch((error: unknown) => logger.warn({ err: error }, `${what} failed; it runs again later`));

  const sweep = quietly('sweeping expired records', async () => {
    await sweepExpiredModels(store);
    await sweepRateLimits(store);
    await sweepRevokedAccessTokens(store, Date.now());
    await sweepUsedAssertions(store, Date.now());
    for (const more of sweeps) await more();
  });

  const cleanup = quietly('stale client cleanup', async () => {
    const { staleClientRetentionDays: days } = await registrationPolicy.settings();
    const deleted = await store.exclusive('gatehouse:client-cleanup', () => deleteStaleClients(store, access, days, { actor: 'system' }));
    if (deleted > 0) await audit(store, { event: 'clients.cleaned', actor: 'system', detail: { deleted, olderThanDays: days } });
  });

  const timers = [setInterval(sweep, SWEEP_EVERY_MS), setInterval(cleanup, CLEANUP_EVERY_MS)];
  const first = setTimeout(cleanup, FIRST_CLEANUP_AFTER_MS);
  for (const timer of [...timers, first]) timer.unref();
  return () => {
    clearTimeout(first);
    for (const timer of timers) clearInterval(timer);
  };
}
