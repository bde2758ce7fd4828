import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createGatehouse } from './server.ts';
import { AccountError, createUser, findUserByEmail } from './domain/accounts.ts';
import { pruneRetiredKeys, rotateSigningKeys } from './oauth/keys.ts';
import { listClients } from './data/client-index.ts';
import { ConfigError, loadConfig, parseDuration, type Config } from './config/config.ts';
import { audit } from './data/audit-log.ts';
import { BASE_SCOPE, RESOURCE_SCOPE_NAMES } from './domain/scopes.ts';
import { createPersonalAccessToken, listPersonalAccessTokens, revokePersonalAccessToken, tokenState } from './data/personal-tokens.ts';
import { migrate } from './data/migrate.ts';
import { openNotifications, TOPICS, type Topic } from './data/notifications.ts';
import { openStore } from './data/engines/open.ts';
import type { Store } from './data/engines/store.ts';
import { randomBytes } from 'node:crypto';

const USAGE = `Usage: gatehouse <command>

  serve                                   migrate, then serve (the default)
  migrate                                 apply database migrations and exit
  user add <email> [--admin] [--password-stdin] [--name "Full Name"]
  token create --user <email> --scope "mcp:tools mcp:write" [--name n8n] [--expires 90d]
                                          a personal access token (shown once)
  token list [--user <email>]             personal access tokens
  token revoke <id>                       revoke a personal access token
  client list                             registered OAuth clients
  keys rotate                             start signing with new keys (old ones keep verifying)
  keys prune [--older-than 1h]            delete keys retired longer ago than that

Configuration comes from the environment; see README.md.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Tells running instances (on PostgreSQL) to drop what they cached about this change at once. */
function announce(config: Config, store: Store, topic: Topic, message?: Record<string, string>): Promise<void> {
  return openNotifications(store, { enabled: config.databaseNotifications }).publish(topic, message);
}

/** Runs a command against the migrated Store and closes it. */
async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(config.databaseUrl);
  try {
    await migrate(store);
    return await work(store);
  } finally {
    await store.close();
  }
}

async function serve(config: Config): Promise<void> {
  const gatehouse = await createGatehouse(config);
  const server = createServer();
  gatehouse.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  gatehouse.logger.info({ host: config.host, port, issuer: config.issuer, resource: config.resource }, 'Gatehouse is listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      gatehouse.logger.warn({ signal }, 'second signal: stopping now');
      process.exit(1);
    }
    stopping = true;
    gatehouse.logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing requests in flight');
    await gatehouse.close();
    gatehouse.logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A promise nobody awaited must not take every session's process down with it.
  process.on('unhandledRejection', (reason) => gatehouse.logger.error({ err: reason }, 'unhandled rejection'));
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean', default: false },
      'password-stdin': { type: 'boolean', default: false },
      name: { type: 'string' },
      user: { type: 'string' },
      scope: { type: 'string' },
      expires: { type: 'string' },
      'older-than': { type: 'string', default: '1h' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command = 'serve', subcommand, argument] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();

  switch (`${command}${subcommand ? ` ${subcommand}` : ''}`) {
    case 'serve':
      await serve(config);
      return -1;
    case 'migrate': {
      const store = openStore(config.databaseUrl);
      const applied = await migrate(store).finally(() => store.close());
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
      return 0;
    }
    case 'user add': {
      if (!argument) throw new UsageError('user add needs an email address');
      const generated = values['password-stdin'] ? undefined : randomBytes(18).toString('base64url');
      const password = values['password-stdin'] ? await readStdin() : generated!;
      const user = await withStore(config, async (store) => {
        if (await findUserByEmail(store, argument)) throw new AccountError(`a user with email ${argument} already exists`);
        return createUser(store, { email: argument, password, isAdmin: values.admin, name: values.name });
      });
      console.log(`created ${user.isAdmin ? 'administrator' : 'user'} ${user.email} (${user.id})`);
      if (generated) console.log(`password (shown once): ${generated}`);
      return 0;
    }
    case 'token create': {
      if (!values.user) throw new UsageError('token create needs --user <email>');
      const scopes = (values.scope ?? BASE_SCOPE).split(/[\s,]+/).filter(Boolean);
      const unknown = scopes.filter((scope) => !(RESOURCE_SCOPE_NAMES as string[]).includes(scope));
      if (unknown.length) throw new UsageError(`unknown scope(s): ${unknown.join(', ')}; choose from ${RESOURCE_SCOPE_NAMES.join(', ')}`);
      const expiresAt = values.expires === 'never' ? null : Date.now() + parseDuration(values.expires ?? '90d') * 1000;
      const { token, record } = await withStore(config, async (store) => {
        const user = await findUserByEmail(store, values.user!);
        if (!user) throw new AccountError(`no user with email ${values.user}`);
        const created = await createPersonalAccessToken(store, { userId: user.id, name: values.name ?? 'cli', scopes, expiresAt });
        await audit(store, { event: 'token.created', actor: 'cli', subject: created.record.id, detail: { user: user.id, scopes } });
        return created;
      });
      console.log(`token ${record.id} for ${values.user}, scopes "${record.scopes.join(' ')}", ${record.expiresAt ? `expires ${new Date(record.expiresAt).toISOString()}` : 'never expires'}`);
      console.log(`\n${token}\n\nShown once. Use it as: Authorization: Bearer <token>`);
      return 0;
    }
    case 'token list': {
      const tokens = await withStore(config, async (store) => {
        const user = values.user ? await findUserByEmail(store, values.user) : undefined;
        if (values.user && !user) throw new AccountError(`no user with email ${values.user}`);
        return listPersonalAccessTokens(store, user?.id);
      });
      for (const token of tokens) {
        console.log(`${token.id}\t${token.hint}\t${token.name}\t${token.scopes.join(' ')}\t${tokenState(token)}`);
      }
      if (!tokens.length) console.log('no personal access tokens');
      return 0;
    }
    case 'token revoke': {
      if (!argument) throw new UsageError('token revoke needs the token id');
      const revoked = await withStore(config, async (store) => {
        const done = await revokePersonalAccessToken(store, argument);
        if (done) {
          await audit(store, { event: 'token.revoked', actor: 'cli', subject: argument });
          await announce(config, store, TOPICS.accessRevoked, { patId: argument });
        }
        return done;
      });
      console.log(revoked ? `revoked ${argument}` : `no active token ${argument}`);
      return revoked ? 0 : 1;
    }
    case 'client list': {
      const clients = await withStore(config, (store) => listClients(store));
      if (!clients.length) console.log('no clients registered');
      for (const client of clients) {
        console.log(`${client.clientId}\t${client.kind}\t${client.name ?? '-'}\t${client.redirectHosts.join(',')}\t${new Date(client.createdAt).toISOString()}`);
      }
      return 0;
    }
    case 'keys rotate': {
      const kids = await withStore(config, async (store) => {
        const active = await rotateSigningKeys(store);
        await announce(config, store, TOPICS.keysChanged);
        return active;
      });
      console.log(`now signing with: ${kids.join(', ')}`);
      console.log('Restart every instance so it signs with the new keys; tokens signed before keep verifying until they expire.');
      return 0;
    }
    case 'keys prune': {
      const olderThanMs = parseDuration(values['older-than']!) * 1000;
      const kids = await withStore(config, async (store) => {
        const pruned = await pruneRetiredKeys(store, olderThanMs);
        if (pruned.length) await announce(config, store, TOPICS.keysChanged);
        return pruned;
      });
      console.log(kids.length ? `deleted: ${kids.join(', ')}` : 'nothing to prune');
      return 0;
    }
    default:
      throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigError || error instanceof AccountError) console.error(error.message);
    else console.error(error);
    process.exit(1);
  },
);
