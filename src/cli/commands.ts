import type { Config } from '../config/config.ts';
import { parseDuration } from '../config/config.ts';
import { audit } from '../data/audit-log.ts';
import { listClients } from '../data/client-index.ts';
import { openStore } from '../data/engines/open.ts';
import type { Store } from '../data/engines/store.ts';
import { migrate } from '../data/migrate.ts';
import { openNotifications, TOPICS, type Notifications } from '../data/notifications.ts';
import { listPersonalAccessTokens, tokenState } from '../data/personal-tokens.ts';
import { Access } from '../domain/access.ts';
import { AccountError, addPerson, listPeople, requireUserByEmail } from '../domain/accounts.ts';
import { issuePersonalToken, TokenRequestError } from '../domain/personal-tokens.ts';
import { BASE_SCOPE } from '../domain/scopes.ts';
import { ClientInputError } from '../oauth/client-errors.ts';
import { pruneRetiredKeys, rotateSigningKeys } from '../domain/signing-keys.ts';

/** A refusal the CLI prints as it is, exiting 1. */
export class CommandError extends Error {}

/** What the operator asked, parsed: the positional arguments after the command and its options. */
export interface Invocation {
  argument?: string | undefined;
  options: {
    admin: boolean;
    passwordStdin: boolean;
    name?: string | undefined;
    user?: string | undefined;
    scope?: string | undefined;
    expires?: string | undefined;
    olderThan: string;
    clientCredentials: boolean;
    idJag: boolean;
  };
  readStdin(): Promise<string>;
  print(line: string): void;
}

const BY_CLI = { actor: 'cli' } as const;

/**
 * Runs `work` against the migrated Store, with the same use cases as the
 * admin page. On PostgreSQL, what a use case announces reaches every running
 * instance (so a revocation ends their sessions and streams at once); on
 * SQLite the server notices within GRANT_CHECK_CACHE.
 */
async function withStore<T>(config: Config, work: (store: Store, events: Notifications) => Promise<T>): Promise<T> {
  const store = openStore(config.databaseUrl);
  const events = openNotifications(store, { enabled: config.databaseNotifications });
  try {
    await migrate(store);
    return await work(store, events);
  } finally {
    await events.close();
    await store.close();
  }
}

function requireArgument(invocation: Invocation, what: string): string {
  if (!invocation.argument) throw new CommandError(`this command needs ${what}`);
  return invocation.argument;
}

/** Every command but `serve`, by name. Each returns its exit code. */
export const COMMANDS: Record<string, (config: Config, invocation: Invocation) => Promise<number>> = {
  async migrate(config, { print }) {
    const store = openStore(config.databaseUrl);
    const applied = await migrate(store).finally(() => store.close());
    print(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    return 0;
  },

  async 'user add'(config, invocation) {
    const email = requireArgument(invocation, 'an email address');
    const { options } = invocation;
    const password = options.passwordStdin ? await invocation.readStdin() : undefined;
    const { user, generated } = await withStore(config, (store) =>
      addPerson(store, { email, isAdmin: options.admin, ...(options.name ? { name: options.name } : {}), ...(password ? { password } : {}) }, BY_CLI),
    );
    invocation.print(`created ${user.isAdmin ? 'administrator' : 'user'} ${user.email} (${user.id})`);
    if (generated) invocation.print(`password (shown once): ${generated}`);
    return 0;
  },

  async 'user list'(config, { print }) {
    const people = await withStore(config, (store) => listPeople(store, '', 100_000));
    if (!people.length) print('no users');
    for (const person of people) {
      print(`${person.email}\t${person.disabledAt === null ? 'enabled' : 'disabled'}\t${person.isAdmin ? 'admin' : 'user'}\t${person.name ?? '-'}\t${person.id}`);
    }
    return 0;
  },

  async 'user disable'(config, invocation) {
    const email = requireArgument(invocation, 'an email address');
    await withStore(config, async (store, events) => {
      const user = await requireUserByEmail(store, email);
      if (user.disabledAt !== null) throw new CommandError(`${user.email} is already disabled`);
      await new Access(store, events).disablePerson(user.id, BY_CLI);
    });
    invocation.print(`disabled ${email}: their grants, tokens and sessions have ended`);
    return 0;
  },

  async 'user enable'(config, invocation) {
    const email = requireArgument(invocation, 'an email address');
    await withStore(config, async (store, events) => {
      const user = await requireUserByEmail(store, email);
      await new Access(store, events).enablePerson(user.id, BY_CLI);
    });
    invocation.print(`enabled ${email}: they can sign in again`);
    return 0;
  },

  async 'token create'(config, invocation) {
    const { options } = invocation;
    if (!options.user) throw new CommandError('token create needs --user <email>');
    const scopes = (options.scope ?? BASE_SCOPE).split(/[\s,]+/).filter(Boolean);
    const expiresAt = options.expires === 'never' ? null : Date.now() + parseDuration(options.expires ?? '90d') * 1000;
    const { token, record } = await withStore(config, async (store) => {
      const owner = await requireUserByEmail(store, options.user!);
      return issuePersonalToken(store, { ownerId: owner.id, name: options.name ?? 'cli', scopes, expiresAt }, BY_CLI);
    });
    invocation.print(
      `token ${record.id} for ${options.user}, scopes "${record.scopes.join(' ')}", ${record.expiresAt ? `expires ${new Date(record.expiresAt).toISOString()}` : 'never expires'}`,
    );
    invocation.print(`\n${token}\n\nShown once. Use it as: Authorization: Bearer <token>`);
    return 0;
  },

  async 'token list'(config, { options, print }) {
    const tokens = await withStore(config, async (store) => {
      const owner = options.user ? await requireUserByEmail(store, options.user) : undefined;
      return listPersonalAccessTokens(store, owner?.id);
    });
    for (const token of tokens) print(`${token.id}\t${token.hint}\t${token.name}\t${token.scopes.join(' ')}\t${tokenState(token)}`);
    if (!tokens.length) print('no personal access tokens');
    return 0;
  },

  async 'token revoke'(config, invocation) {
    const id = requireArgument(invocation, 'the token id');
    const revoked = await withStore(config, (store, events) => new Access(store, events).revokePersonalToken(id, BY_CLI));
    invocation.print(revoked ? `revoked ${id}` : `no active token ${id}`);
    return revoked ? 0 : 1;
  },

  async 'client list'(config, { print }) {
    const clients = await withStore(config, (store) => listClients(store));
    if (!clients.length) print('no clients registered');
    for (const client of clients) {
      print(`${client.clientId}\t${client.kind}\t${client.name ?? '-'}\t${client.redirectHosts.join(',')}\t${new Date(client.createdAt).toISOString()}`);
    }
    return 0;
  },

  async 'client create'(config, invocation) {
    const { options } = invocation;
    if (!options.name) throw new CommandError('client create needs --name <name>');
    if (!options.clientCredentials && !options.idJag) throw new CommandError('client create makes machine clients: add --client-credentials and/or --id-jag (people\'s apps register themselves)');
    const created = await withStore(config, async (store) => {
      // Loaded only here: registering checks the metadata as the authorization server does.
      const [{ createProvider }, { registerManualClient }, { ClientIndex }, { RegistrationPolicy }, { IdentityProviders }, { CompanySignIn }, { UpstreamSignIn }] = await Promise.all([
        import('../oauth/provider.ts'),
        import('../oauth/manual-clients.ts'),
        import('../data/client-index.ts'),
        import('../domain/registration-policy.ts'),
        import('../domain/identity-providers.ts'),
        import('../domain/company-sign-in.ts'),
        import('../oauth/upstream.ts'),
      ]);
      const clientIndex = new ClientIndex(store);
      const provider = await createProvider({
        config,
        store,
        clientIndex,
        registrationPolicy: new RegistrationPolicy(store, config.cimd.enabled),
        renderError: async () => {},
        idJag: { identityProviders: new IdentityProviders(store, config.sso), companySignIn: new CompanySignIn(store), upstream: new UpstreamSignIn(`${config.issuer}/sso/callback`) },
      });
      const client = await registerManualClient(
        { store, provider, clientIndex },
        { name: options.name!, redirectUris: [], confidential: true, clientCredentials: options.clientCredentials, idJag: options.idJag, ...(options.scope ? { scope: options.scope } : {}) },
      );
      await audit(store, { event: 'client.registered', actor: 'cli', subject: client.clientId, detail: { kind: 'manual', name: options.name, clientCredentials: options.clientCredentials, idJag: options.idJag } });
      return client;
    });
    invocation.print(`client_id: ${created.clientId}`);
    invocation.print(`client_secret: ${created.secret}`);
    invocation.print('\nThe secret is shown once. The token endpoint is ' + `${config.issuer}/token` + '; ask with resource=' + config.resource + (options.scope ? ` and scope="${options.scope}".` : '.'));
    return 0;
  },

  async 'client revoke'(config, invocation) {
    const clientId = requireArgument(invocation, 'the client id');
    const { grants, sessions } = await withStore(config, (store, events) => new Access(store, events).revokeClient(clientId, BY_CLI));
    invocation.print(`revoked everything ${clientId} held: ${grants} grant(s), ${sessions} session(s)`);
    return 0;
  },

  async 'client delete'(config, invocation) {
    const clientId = requireArgument(invocation, 'the client id');
    const known = await withStore(config, async (store, events) => {
      if (!(await listClients(store)).some((client) => client.clientId === clientId)) return false;
      await new Access(store, events).deleteClient(clientId, BY_CLI);
      return true;
    });
    invocation.print(known ? `deleted ${clientId}` : `no client ${clientId}`);
    return known ? 0 : 1;
  },

  async 'keys rotate'(config, { print }) {
    const kids = await withStore(config, async (store, events) => {
      const active = await rotateSigningKeys(store);
      await events.publish(TOPICS.keysChanged);
      return active;
    });
    print(`now signing with: ${kids.join(', ')}`);
    print('Restart every instance so it signs with the new keys; tokens signed before keep verifying until they expire.');
    return 0;
  },

  async 'keys prune'(config, { options, print }) {
    const olderThanMs = parseDuration(options.olderThan) * 1000;
    const kids = await withStore(config, async (store, events) => {
      const pruned = await pruneRetiredKeys(store, olderThanMs);
      if (pruned.length) await events.publish(TOPICS.keysChanged);
      return pruned;
    });
    print(kids.length ? `deleted: ${kids.join(', ')}` : 'nothing to prune');
    return 0;
  },
};

/** Refusals worded for the operator, printed without a stack. */
export function isRefusal(error: unknown): boolean {
  return error instanceof CommandError || error instanceof AccountError || error instanceof TokenRequestError || error instanceof ClientInputError;
}
