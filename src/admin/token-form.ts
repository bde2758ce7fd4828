import { BASE_SCOPE, describeScope, RESOURCE_SCOPE_NAMES } from '../authorization/scopes.ts';

export class TokenInputError extends Error {}

export const EXPIRY_CHOICES = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: 'never', label: 'Never' },
];
export const DEFAULT_EXPIRY = '90';

/** The scopes a personal access token may carry; the base scope is always included. */
export const TOKEN_SCOPES = RESOURCE_SCOPE_NAMES.map((name) => ({ name, description: describeScope(name), always: name === BASE_SCOPE }));

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
