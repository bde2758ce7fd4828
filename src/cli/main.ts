import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { COMMANDS, isRefusal, type Invocation } from './commands.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';

const USAGE = `Usage: gatehouse <command>

  serve                                   migrate, then serve (the default)
  migrate                                 apply database migrations and exit
  user add <email> [--admin] [--password-stdin] [--name "Full Name"]
  user list                               everyone who can sign in, and whether they may
  user disable <email>                    end everything the person holds; they cannot sign in
  user enable <email>                     let a disabled person sign in again
  token create --user <email> --scope "mcp:tools mcp:write" [--name n8n] [--expires 90d|never]
                                          a personal access token (shown once)
  token list [--user <email>]             personal access tokens
  token revoke <id>                       revoke a personal access token
  client list                             registered OAuth clients
  client create --name <n> --client-credentials [--id-jag] [--scope "mcp:tools"]
                                          a machine client (client credentials and/or ID-JAG);
                                          prints client_id and client_secret once
  client revoke <id>                      end everything a client holds (it stays registered)
  client delete <id>                      revoke, then delete the registration
  keys rotate                             start signing with new keys (old ones keep verifying)
  keys prune [--older-than 1h]            delete keys retired longer ago than that

Configuration comes from the environment; see README.md.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function serve(config: Config): Promise<void> {
  // Loaded only to serve: the other commands never load the authorization server.
  const { createGatehouse } = await import('../server.ts');
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

class UsageError extends Error {}

const OPTIONS = {
  admin: { type: 'boolean', default: false },
  'password-stdin': { type: 'boolean', default: false },
  name: { type: 'string' },
  user: { type: 'string' },
  scope: { type: 'string' },
  expires: { type: 'string' },
  'older-than': { type: 'string', default: '1h' },
  'client-credentials': { type: 'boolean', default: false },
  'id-jag': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/**
 * parseArgs with ids that begin with a single "-" read as arguments: client
 * ids and token ids are base64url, so one in 64 starts with "-" and would
 * otherwise be refused as an unknown option. An unknown "--word" stays a
 * usage error (an id that starts with "--" can follow a "--").
 */
function parseCommandLine(argv: string[]) {
  const takesValue = (arg: string) => Object.entries(OPTIONS).some(([name, option]) => option.type === 'string' && arg === `--${name}`);
  const dashed: string[] = [];
  // A NUL cannot occur in a real argument, so the placeholder cannot collide with one.
  const args = argv.map((arg, i) => {
    if (!arg.startsWith('-') || arg.startsWith('--') || arg === '-h' || (i > 0 && takesValue(argv[i - 1]!))) return arg;
    dashed.push(arg);
    return `\0${dashed.length - 1}`;
  });
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const positionals = parsed.positionals.map((arg) => (arg.startsWith('\0') ? dashed[Number(arg.slice(1))]! : arg));
  return { values: parsed.values, positionals };
}

/** Parses the command line and runs the command; -1 means "keep running" (serve). */
async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command = 'serve', subcommand, argument, ...extra] = positionals;
  const config = loadConfig();
  if (command === 'serve' && !subcommand) {
    await serve(config);
    return -1;
  }
  const name = command === 'migrate' ? command : `${command} ${subcommand ?? ''}`.trim();
  const run = COMMANDS[name];
  if (!run || extra.length > 0 || (command === 'migrate' && subcommand)) throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  const invocation: Invocation = {
    argument: command === 'migrate' ? undefined : argument,
    options: {
      admin: values.admin,
      passwordStdin: values['password-stdin'],
      name: values.name,
      user: values.user,
      scope: values.scope,
      expires: values.expires,
      olderThan: values['older-than'],
      clientCredentials: values['client-credentials'],
      idJag: values['id-jag'],
    },
    readStdin,
    print: (line) => console.log(line),
  };
  return run(config, invocation);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigError || isRefusal(error)) console.error(error instanceof Error ? error.message : String(error));
    else console.error(error);
    process.exit(1);
  },
);
