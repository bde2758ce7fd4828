import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { Queryable, Store } from '../data/engines/store.ts';
import { audit } from '../data/audit-log.ts';
import { insertSetupToken, setupTokenUsable, spendSetupToken } from '../data/setup-tokens.ts';
import * as users from '../data/users.ts';
import type { User } from '../data/users.ts';

export type { User } from '../data/users.ts';

/**
 * The accounts people sign in with: creating them (from the CLI, the admin
 * page, the setup link, or ADMIN_EMAIL at first start), finding them, and
 * their passwords. Disabling and enabling take access away or give it back,
 * so they are `Access` use cases.
 */

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export const MIN_PASSWORD_LENGTH = 12;

/** A refusal worded so it can be shown to the person as it is. */
export class AccountError extends Error {}

/** Throws an AccountError that can be shown to the person as it is. */
export function validateNewAccount(email: string, password: string | undefined): void {
  if (!/^[^\s@]+@[^\s@]+$/.test(normalizeEmail(email))) throw new AccountError(`not an email address: ${email}`);
  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) {
    throw new AccountError(`passwords need at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

/** A password people can type and nobody guesses; shown once. */
export const generatePassword = () => randomBytes(15).toString('base64url');

export async function createUser(db: Queryable, input: { email: string; password?: string; isAdmin?: boolean; name?: string }): Promise<User> {
  validateNewAccount(input.email, input.password);
  const email = normalizeEmail(input.email);
  if (await users.findUserRowByEmail(db, email)) throw new AccountError(`a user with email ${email} already exists`);
  const id = randomUUID();
  await users.insertUser(db, {
    id,
    email,
    name: input.name ?? null,
    passwordHash: input.password === undefined ? null : await hash(input.password),
    isAdmin: input.isAdmin === true,
    now: Date.now(),
  });
  return (await users.findUserById(db, id))!;
}

export function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  return users.findUserById(db, id);
}

export async function findUserByEmail(db: Queryable, email: string): Promise<User | undefined> {
  const row = await users.findUserRowByEmail(db, normalizeEmail(email));
  return row && users.toUser(row);
}

/** The person with this email, or an AccountError that says there is none. */
export async function requireUserByEmail(db: Queryable, email: string): Promise<User> {
  const user = await findUserByEmail(db, email);
  if (!user) throw new AccountError(`no user with email ${email}`);
  return user;
}

export function countUsers(db: Queryable): Promise<number> {
  return users.countUsers(db);
}

export async function setPassword(db: Queryable, userId: string, password: string): Promise<void> {
  if (password.length < MIN_PASSWORD_LENGTH) throw new AccountError(`passwords need at least ${MIN_PASSWORD_LENGTH} characters`);
  await users.setPasswordHash(db, userId, await hash(password));
}

/**
 * The first administrator: from ADMIN_EMAIL and ADMIN_PASSWORD when given,
 * otherwise a one-time setup link, returned for the operator's eyes only.
 * Under a Store-wide lock, so instances starting together on an empty
 * database create it once.
 */
export async function bootstrapFirstAdministrator(
  store: Store,
  admin: { email: string; password: string } | undefined,
): Promise<{ created?: User; setupToken?: string }> {
  return store.exclusive('gatehouse:bootstrap', async () => {
    if ((await countUsers(store)) > 0) return {};
    if (admin) return { created: await createUser(store, { email: admin.email, password: admin.password, isAdmin: true }) };
    return { setupToken: await createSetupToken(store) };
  });
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** A one-time link that lets the first visitor create the first administrator. */
export async function createSetupToken(db: Queryable, ttlMs = 24 * 3600_000): Promise<string> {
  const token = randomBytes(24).toString('base64url');
  await insertSetupToken(db, sha256(token), Date.now() + ttlMs);
  return token;
}

export function setupTokenIsValid(db: Queryable, token: string): Promise<boolean> {
  return setupTokenUsable(db, sha256(token), Date.now());
}

/** Spends the token and creates the administrator, once. */
export async function completeSetup(db: Queryable, token: string, email: string, password: string): Promise<User> {
  validateNewAccount(email, password);
  if (!(await spendSetupToken(db, sha256(token), Date.now()))) throw new AccountError('this setup link has expired or was already used');
  if ((await countUsers(db)) > 0) throw new AccountError('an administrator already exists; sign in instead');
  return createUser(db, { email, password, isAdmin: true });
}

/**
 * Adds a person (the admin page and `gatehouse user add`): with the password
 * chosen for them, or a generated one returned once. Audited.
 */
export async function addPerson(
  store: Store,
  input: { email: string; name?: string; isAdmin: boolean; password?: string },
  by: { actor: string; ip?: string },
): Promise<{ user: User; generated?: string }> {
  const generated = input.password ? undefined : generatePassword();
  const user = await createUser(store, { email: input.email, ...(input.name ? { name: input.name } : {}), isAdmin: input.isAdmin, password: input.password || generated! });
  await audit(store, { event: 'user.created', actor: by.actor, subject: user.id, ip: by.ip, detail: { email: user.email, admin: user.isAdmin } });
  return generated ? { user, generated } : { user };
}

/** Grants or removes the admin role; nobody removes their own. Audited. */
export async function setAdministrator(store: Store, userId: string, isAdmin: boolean, by: { actor: string; ip?: string }): Promise<User> {
  const user = await users.findUserById(store, userId);
  if (!user) throw new AccountError('There is no such user.');
  if (user.id === by.actor && !isAdmin) throw new AccountError('You cannot remove your own administrator role; ask another administrator.');
  await users.setAdmin(store, userId, isAdmin);
  await audit(store, { event: 'user.updated', actor: by.actor, subject: userId, ip: by.ip, detail: { admin: isAdmin } });
  return user;
}

/** A new generated password (shown once); the person's browser sign-ins end, so the old password's sessions stop. Audited. */
export async function resetPassword(
  store: Store,
  signOutEverywhere: (userId: string) => Promise<void>,
  userId: string,
  by: { actor: string; ip?: string },
): Promise<{ user: User; password: string }> {
  const user = await users.findUserById(store, userId);
  if (!user) throw new AccountError('There is no such user.');
  const password = generatePassword();
  await setPassword(store, userId, password);
  await signOutEverywhere(userId);
  await audit(store, { event: 'user.password_reset', actor: by.actor, subject: userId, ip: by.ip });
  return { user, password };
}

export function listPeople(db: Queryable, search = '', limit = 500): Promise<User[]> {
  return users.listUsers(db, search, limit);
}
