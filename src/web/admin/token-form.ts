import { audit } from '../../data/audit-log.ts';
import { BASE_SCOPE, describeScope, RESOURCE_SCOPE_NAMES } from '../../domain/scopes.ts';
import { createPersonalAccessToken, type PersonalAccessToken } from '../../data/personal-tokens.ts';
import type { Store } from '../../data/engines/store.ts';

export class TokenInputError extends Error {}

const EXPIRY_CHOICES = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: 'never', label: 'Never' },
];
const DEFAULT_EXPIRY = '90';

/** The scopes a personal access token may carry; the base scope is always included. */
const TOKEN_SCOPES = RESOURCE_SCOPE_NAMES.map((name) => ({ name, description: describeScope(name), always: name === BASE_SCOPE }));

export interface TokenRequest {
  name: string;
  scopes: string[];
  expiresAt: number | null;
}

/** Reads the "new personal access token" form (admin and account pages share it). */
export function parseTokenForm(form: Record<string, string>): TokenRequest {
  const name = (form.name ?? '').trim();
  if (!name) throw new TokenInputError('Give the token a name, such as the app that will use it.');
  if (name.length > 100) throw new TokenInputError('The name is too long (100 characters at most).');
  const scopes = TOKEN_SCOPES.filter((scope) => scope.always || form[`scope:${scope.name}`] === 'on').map((scope) => scope.name);
  const expiry = form.expires ?? DEFAULT_EXPIRY;
  if (!EXPIRY_CHOICES.some((choice) => choice.value === expiry)) throw new TokenInputError('Choose when the token expires.');
  return { name, scopes, expiresAt: expiry === 'never' ? null : Date.now() + Number(expiry) * 86_400_000 };
}

/** What a page needs to draw the form again: the values entered (expiry defaulted) and the choices. */
export function tokenFormView(form: Record<string, string>) {
  return { form: { expires: DEFAULT_EXPIRY, ...form }, scopes: TOKEN_SCOPES, expiryChoices: EXPIRY_CHOICES };
}

/** Creates the token for its owner and records who asked for it. */
export async function issueToken(
  store: Store,
  ownerId: string,
  request: TokenRequest,
  by: { actor: string; ip: string },
): Promise<{ token: string; record: PersonalAccessToken }> {
  const created = await createPersonalAccessToken(store, { userId: ownerId, ...request });
  const { record } = created;
  await audit(store, { event: 'token.created', actor: by.actor, subject: record.id, ip: by.ip, detail: { user: ownerId, scopes: record.scopes, name: record.name } });
  return created;
}
