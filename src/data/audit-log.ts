import { randomUUID } from 'node:crypto';
import type { Store } from './engines/store.ts';

export const AUDIT_EVENTS = [
  'login.succeeded',
  'login.failed',
  'login.locked',
  'logout',
  'consent.granted',
  'consent.denied',
  'client.registered',
  'client.updated',
  'client.deleted',
  'client.revoked',
  'clients.cleaned',
  'grant.revoked',
  'token.created',
  'token.revoked',
  'session.ended',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.password_reset',
  'policy.changed',
  'setup.completed',
] as const;

export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditEntry {
  event: AuditEvent;
  /** Who did it: a user id, `client:<id>`, `system` or `cli`. */
  actor?: string | undefined;
  /** What it was done to: a client id, user id, grant id… never a secret. */
  subject?: string | undefined;
  ip?: string | undefined;
  detail?: Record<string, unknown> | undefined;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'detail'>> {
  id: string;
  at: number;
  detail: Record<string, unknown> | null;
}

/** Appends to the audit log. Failures to record never fail the action itself. */
export async function audit(store: Store, entry: AuditEntry): Promise<void> {
  await store
    .run('INSERT INTO audit_log (id, at, event, actor, subject, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      randomUUID(),
      Date.now(),
      entry.event,
      entry.actor ?? null,
      entry.subject ?? null,
      entry.ip ?? null,
      entry.detail ? JSON.stringify(entry.detail) : null,
    ])
    .catch(() => {});
}
