import type { TokenRequest } from '../../domain/personal-tokens.ts';
import { TokenRequestError } from '../../domain/personal-tokens.ts';
import { BASE_SCOPE, describeScope, RESOURCE_SCOPE_NAMES } from '../../domain/scopes.ts';

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

/** Reads the "new personal access token" form (admin and account pages share it); the use case checks the rest. */
export function parseTokenForm(form: Record<string, string>): Omit<TokenRequest, 'ownerId'> {
  const scopes = TOKEN_SCOPES.filter((scope) => scope.always || form[`scope:${scope.name}`] === 'on').map((scope) => scope.name);
  const expiry = form.expires ?? DEFAULT_EXPIRY;
  if (!EXPIRY_CHOICES.some((choice) => choice.value === expiry)) throw new TokenRequestError('Choose when the token expires.');
  return { name: form.name ?? '', scopes, expiresAt: expiry === 'never' ? null : Date.now() + Number(expiry) * 86_400_000 };
}

/** What a page needs to draw the form again: the values entered (expiry defaulted) and the choices. */
export function tokenFormView(form: Record<string, string>) {
  return { form: { expires: DEFAULT_EXPIRY, ...form }, scopes: TOKEN_SCOPES, expiryChoices: EXPIRY_CHOICES };
}
