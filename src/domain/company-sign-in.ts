import { audit } from '../data/audit-log.ts';
import type { Store } from '../data/engines/store.ts';
import { findIdentityLink, linkIdentity } from '../data/identity-links.ts';
import * as users from '../data/users.ts';
import { createUser, findUserByEmail, normalizeEmail, type User } from './accounts.ts';
import type { IdentityProvider } from './identity-providers.ts';

/** What a provider says about the person, after the ID token's signature, issuer, audience and nonce were checked. */
export interface VerifiedIdentity {
  sub: string;
  email?: unknown;
  email_verified?: unknown;
  name?: unknown;
  groups?: unknown;
  /** Entra ID's "email domain owner verified": Entra sends this instead of `email_verified`. */
  xms_edov?: unknown;
}

/** A verified email: `email_verified`, or Entra ID's `xms_edov` (the tenant owns the email's domain). */
const emailVerified = (identity: VerifiedIdentity) => identity.email_verified === true || identity.xms_edov === true;

export type CompanySignInResult =
  | { ok: true; user: User; created: boolean }
  | { ok: false; reason: 'unverified_email' | 'domain' | 'disabled' | 'unknown'; message: string };

const REFUSALS = {
  unverified_email: 'Your identity provider did not confirm your email address, so Gatehouse cannot tell who you are. Ask your administrator.',
  domain: 'Your email domain is not allowed to sign in to this Gatehouse. Ask your administrator.',
  disabled: 'Your account is disabled. Ask an administrator to enable it.',
  unknown: 'There is no account here for this person. Ask an administrator to add you, then sign in once through the sign-in page.',
} as const;

const refuse = (reason: keyof typeof REFUSALS) => ({ ok: false as const, reason, message: REFUSALS[reason] });

function domainAllowed(provider: IdentityProvider, email: string): boolean {
  if (provider.allowedDomains.length === 0) return true;
  const domain = email.slice(email.lastIndexOf('@') + 1);
  return provider.allowedDomains.includes(domain);
}

const groupsOf = (identity: VerifiedIdentity) => (Array.isArray(identity.groups) ? identity.groups.filter((group): group is string => typeof group === 'string') : []);

/**
 * The account rules for people who come through their company's identity
 * provider, for every page that signs people in (the OAuth sign-in, /login,
 * /admin). The provider's subject finds the account it was linked to; the
 * first time, a verified email in an allowed domain links the account with
 * that email (never a second one), or creates it just in time. Every sign-in
 * refreshes the name, and the administrator role when the provider has admin
 * groups. A disabled account stays out; nothing is created for a refused person.
 */
export class CompanySignIn {
  constructor(
    private readonly store: Store,
    private readonly onRefused: (reason: 'login_sso') => void = () => {},
  ) {}

  async complete(provider: IdentityProvider, identity: VerifiedIdentity, context: { ip: string; via: { client: string } | { page: 'admin' } }): Promise<CompanySignInResult> {
    const result = await this.decide(provider, identity);
    const detail = { provider: provider.id, via: context.via };
    if (result.ok) {
      await audit(this.store, { event: 'login.succeeded', actor: result.user.id, subject: result.user.id, ip: context.ip, detail });
    } else {
      this.onRefused('login_sso');
      const email = typeof identity.email === 'string' ? normalizeEmail(identity.email) : undefined;
      await audit(this.store, { event: 'login.sso_refused', subject: email ?? `${provider.issuer}#${identity.sub}`, ip: context.ip, detail: { ...detail, reason: result.reason } });
    }
    return result;
  }

  /** The enabled account an assertion from this provider names (by link, then by verified email), as the sign-in would find it, or why not. */
  async personFor(provider: IdentityProvider, identity: VerifiedIdentity): Promise<{ ok: true; user: User } | { ok: false; reason: string }> {
    const link = await findIdentityLink(this.store, provider.issuer, identity.sub);
    let user = link ? await users.findUserById(this.store, link.userId) : undefined;
    if (!user && typeof identity.email === 'string' && emailVerified(identity) && domainAllowed(provider, normalizeEmail(identity.email))) {
      user = await findUserByEmail(this.store, identity.email);
    }
    if (!user) return { ok: false, reason: 'the assertion names nobody with an account here' };
    if (user.disabledAt !== null) return { ok: false, reason: 'the account is disabled' };
    return { ok: true, user };
  }

  private async decide(provider: IdentityProvider, identity: VerifiedIdentity): Promise<CompanySignInResult> {
    const link = await findIdentityLink(this.store, provider.issuer, identity.sub);
    let user = link ? await users.findUserById(this.store, link.userId) : undefined;
    let created = false;
    if (!user) {
      if (typeof identity.email !== 'string' || !emailVerified(identity)) return refuse('unverified_email');
      const email = normalizeEmail(identity.email);
      if (!domainAllowed(provider, email)) return refuse('domain');
      user = await findUserByEmail(this.store, email);
      if (user) {
        if (user.disabledAt !== null) return refuse('disabled');
        await linkIdentity(this.store, { issuer: provider.issuer, subject: identity.sub, userId: user.id });
        await audit(this.store, { event: 'user.linked', actor: `sso:${provider.id}`, subject: user.id, detail: { provider: provider.id, issuer: provider.issuer } });
      } else {
        user = await this.store.transaction(async (tx) => {
          const person = await createUser(tx, { email, isAdmin: this.isAdmin(provider, identity) ?? false, ...(typeof identity.name === 'string' && identity.name ? { name: identity.name } : {}) });
          await linkIdentity(tx, { issuer: provider.issuer, subject: identity.sub, userId: person.id });
          return person;
        });
        created = true;
        await audit(this.store, { event: 'user.created', actor: `sso:${provider.id}`, subject: user.id, detail: { email: user.email, admin: user.isAdmin, provider: provider.id } });
      }
    }
    if (user.disabledAt !== null) return refuse('disabled');
    await this.refresh(provider, identity, user);
    await linkIdentity(this.store, { issuer: provider.issuer, subject: identity.sub, userId: user.id });
    await users.recordSignIn(this.store, user.id, Date.now());
    return { ok: true, user: (await users.findUserById(this.store, user.id))!, created };
  }

  /** Administrator when in one of the provider's admin groups; undefined when the provider decides nothing about it. */
  private isAdmin(provider: IdentityProvider, identity: VerifiedIdentity): boolean | undefined {
    if (provider.adminGroups.length === 0) return undefined;
    const groups = groupsOf(identity);
    return provider.adminGroups.some((group) => groups.includes(group));
  }

  private async refresh(provider: IdentityProvider, identity: VerifiedIdentity, user: User): Promise<void> {
    if (typeof identity.name === 'string' && identity.name && identity.name !== user.name) await users.setName(this.store, user.id, identity.name);
    const admin = this.isAdmin(provider, identity);
    if (admin !== undefined && admin !== user.isAdmin) {
      await users.setAdmin(this.store, user.id, admin);
      await audit(this.store, { event: 'user.updated', actor: `sso:${provider.id}`, subject: user.id, detail: { admin, from: 'groups' } });
    }
  }
}
