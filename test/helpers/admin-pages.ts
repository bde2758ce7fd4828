import { AdminAgent, signedIn, type Page } from '../admin/admin-agent.ts';
import { ADMIN } from './server.ts';

export { AdminAgent, signedIn, type Page };

/** The administrator, signed in on the admin page of this server. */
export const signedInAdmin = (baseUrl: string) => signedIn(baseUrl, ADMIN);

export interface PolicyForm {
  dcr?: boolean;
  cimd?: boolean;
  redirectHosts?: string[];
  cimdDomains?: string[];
  retentionDays?: number;
}

/** Saves the registration policy through the Policy page, as an administrator does; defaults are the product's. */
export async function savePolicy(admin: AdminAgent, policy: PolicyForm): Promise<void> {
  const form: Record<string, string> = {
    redirect_hosts: (policy.redirectHosts ?? []).join('\n'),
    cimd_domains: (policy.cimdDomains ?? []).join('\n'),
    retention_days: String(policy.retentionDays ?? 30),
  };
  if (policy.dcr ?? true) form.dcr = 'on';
  if (policy.cimd ?? true) form.cimd = 'on';
  await admin.act('/admin/policy', form);
}

/** A person's id as the Users page links to it. */
export async function userIdOnAdminPage(admin: AdminAgent, email: string): Promise<string> {
  const page = await admin.page(`/admin/users?q=${encodeURIComponent(email)}`);
  const escaped = email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`href="/admin/users/([^"]+)">${escaped}<`, 'i').exec(page.html);
  if (!match) throw new Error(`no user ${email} on the Users page`);
  return decodeURIComponent(match[1]!);
}

/** The Users page's "Disable" action (with its confirmation box ticked). */
export async function disableOnAdminPage(admin: AdminAgent, email: string): Promise<Page> {
  const id = await userIdOnAdminPage(admin, email);
  return admin.post(`/admin/users/${encodeURIComponent(id)}/disable`, { confirm: 'yes' });
}

/** A client page's "Revoke everything" action (with its confirmation box ticked). */
export function revokeClientOnAdminPage(admin: AdminAgent, clientId: string): Promise<Page> {
  return admin.post(`/admin/clients/${encodeURIComponent(clientId)}/revoke`, { confirm: 'yes' });
}

let people = 0;
/** A fresh person added on the Users page with a password of the test's choosing (for tests that change them). */
export async function addPersonOnAdminPage(admin: AdminAgent, label = 'person'): Promise<{ email: string; password: string }> {
  const person = { email: `${label}-${++people}-${Date.now()}@example.test`, password: 'a-long-enough-password' };
  const answer = await admin.post('/admin/users', { email: person.email, name: '', password: person.password });
  if (answer.status !== 303) throw new Error(`adding ${person.email} answered ${answer.status}`);
  return person;
}
