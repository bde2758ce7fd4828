import { randomUUID } from 'node:crypto';
import type { Queryable } from './engines/store.ts';
import { clientNames } from './client-index.ts';
import { keysetPage, placeholders, type Page, type PageRequest } from './paging.ts';
import { emailsOf, findUserRowByEmail } from './users.ts';

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
  'access_token.revoked',
  'session.ended',
  'task.cancelled',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.password_reset',
  'policy.changed',
  'upstream.changed',
  'setup.completed',
  'login.sso_refused',
  'user.linked',
  'identity_provider.added',
  'identity_provider.updated',
  'identity_provider.removed',
  'id_jag.accepted',
  'id_jag.refused',
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

/** Appends to the audit log. Failures to record never fail the action itself. */
export async function audit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db
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

export interface AuditRow {
  id: string;
  at: number;
  event: string;
  actor: string | null;
  subject: string | null;
  ip: string | null;
  detail: string | null;
  /** People-readable names for actor and subject, when they are users or clients we know. */
  actorLabel: string | null;
  subjectLabel: string | null;
}

export interface AuditFilter {
  event?: string | undefined;
  /** A user's email or id, a client id, or any actor/subject value. */
  who?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

/** `2025-03-04` or `2025-03-04T12:30` (UTC) → epoch ms; a bare date as `to` means the end of that day. */
export function parseUtc(value: unknown, endOfDay = false): number | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(start) ? undefined : endOfDay ? start + 86_400_000 - 1 : start;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) {
    const at = Date.parse(`${value}Z`);
    return Number.isNaN(at) ? undefined : endOfDay ? at + 59_999 : at;
  }
  return undefined;
}

type RawRow = Omit<AuditRow, 'actorLabel' | 'subjectLabel'>;

async function labelled(db: Queryable, rows: RawRow[]): Promise<AuditRow[]> {
  const values = new Set<string>();
  for (const row of rows) for (const value of [row.actor, row.subject]) if (value) values.add(value.replace(/^client:/, ''));
  const ids = [...values];
  const labels = new Map<string, string>();
  for (const [id, email] of await emailsOf(db, ids)) labels.set(id, email);
  for (const [id, name] of await clientNames(db, ids)) labels.set(id, name ?? id);
  const label = (value: string | null) => (value ? (labels.get(value.replace(/^client:/, '')) ?? null) : null);
  return rows.map((row) => ({ ...row, actorLabel: label(row.actor), subjectLabel: label(row.subject) }));
}

/** One page of the audit log, newest first, filtered by event, who and time. */
export async function auditPage(db: Queryable, filter: AuditFilter, request: PageRequest): Promise<Page<AuditRow>> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.event) {
    where.push('event = ?');
    params.push(filter.event);
  }
  if (filter.who) {
    const bare = filter.who.replace(/^client:/, '');
    const names = new Set([bare, `client:${bare}`, bare.toLowerCase()]);
    const user = filter.who.includes('@') ? await findUserRowByEmail(db, filter.who.trim().toLowerCase()) : undefined;
    if (user) names.add(user.id);
    const list = [...names];
    where.push(`(actor IN (${placeholders(list.length)}) OR subject IN (${placeholders(list.length)}))`);
    params.push(...list, ...list);
  }
  if (filter.from !== undefined) {
    where.push('at >= ?');
    params.push(filter.from);
  }
  if (filter.to !== undefined) {
    where.push('at <= ?');
    params.push(filter.to);
  }
  const page = await keysetPage<RawRow>(
    request,
    (row) => [Number(row.at), row.id],
    (key, order, limit) => {
      const clauses = key ? [...where, `(at, id) ${key.sql} (?, ?)`] : where;
      return db.all<RawRow>(
        `SELECT id, at, event, actor, subject, ip, detail FROM audit_log ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
         ORDER BY at ${order}, id ${order} LIMIT ?`,
        [...params, ...(key?.params ?? []), limit],
      );
    },
  );
  return { ...page, rows: await labelled(db, page.rows.map((row) => ({ ...row, at: Number(row.at) }))) };
}

/** The latest entries about one subject, for detail pages. */
export async function recentAudit(db: Queryable, subject: string, limit: number): Promise<AuditRow[]> {
  const rows = await db.all<RawRow>('SELECT id, at, event, actor, subject, ip, detail FROM audit_log WHERE subject = ? ORDER BY at DESC LIMIT ?', [subject, limit]);
  return labelled(db, rows.map((row) => ({ ...row, at: Number(row.at) })));
}
