import type { Queryable } from './engines/store.ts';

/** The `identity_providers` table: the OpenID providers administrators added on the admin page. */

export interface StoredIdentityProvider {
  /** Names it in URLs (`/sso/start/<id>`). */
  id: string;
  /** The button says "Continue with <name>". */
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Email domains let in; empty lets in any verified email. */
  allowedDomains: string[];
  /** Values of the `groups` claim that make an administrator. */
  adminGroups: string[];
  updatedAt: number;
}

interface Row {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  client_secret: string;
  allowed_domains: string;
  admin_groups: string;
  updated_at: number;
}

const toProvider = (row: Row): StoredIdentityProvider => ({
  id: row.id,
  name: row.name,
  issuer: row.issuer,
  clientId: row.client_id,
  clientSecret: row.client_secret,
  allowedDomains: JSON.parse(row.allowed_domains) as string[],
  adminGroups: JSON.parse(row.admin_groups) as string[],
  updatedAt: Number(row.updated_at),
});

export async function listStoredIdentityProviders(db: Queryable): Promise<StoredIdentityProvider[]> {
  return (await db.all<Row>('SELECT * FROM identity_providers ORDER BY name')).map(toProvider);
}

/** Adds the provider, or replaces the one with the same id. */
export async function saveIdentityProvider(db: Queryable, provider: Omit<StoredIdentityProvider, 'updatedAt'>): Promise<void> {
  const now = Date.now();
  await db.run(
    `INSERT INTO identity_providers (id, name, issuer, client_id, client_secret, allowed_domains, admin_groups, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, issuer = excluded.issuer, client_id = excluded.client_id,
       client_secret = excluded.client_secret, allowed_domains = excluded.allowed_domains, admin_groups = excluded.admin_groups,
       updated_at = excluded.updated_at`,
    [provider.id, provider.name, provider.issuer, provider.clientId, provider.clientSecret, JSON.stringify(provider.allowedDomains), JSON.stringify(provider.adminGroups), now, now],
  );
}

export async function deleteIdentityProvider(db: Queryable, id: string): Promise<boolean> {
  return (await db.run('DELETE FROM identity_providers WHERE id = ?', [id])).changes === 1;
}
