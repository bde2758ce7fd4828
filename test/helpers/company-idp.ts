import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { UserAgent } from './user-agent.ts';

/**
 * The company's identity provider for tests: a second, real oidc-provider on
 * 127.0.0.1 with its own people (email, email_verified, name, groups), a
 * confidential client for Gatehouse (redirect `$PUBLIC_URL/sso/callback`), a
 * client for an MCP app that trades ID tokens for ID-JAGs (RFC 8693 token
 * exchange, as the enterprise-managed authorization extension describes), and
 * a tiny login form a test's UserAgent fills in. It can also misbehave on
 * purpose (an ID token for another audience) and mint ID-JAGs by hand for
 * the refusal tests, signed with the key it publishes at its jwks_uri or with
 * one it does not.
 */

export interface CompanyPerson {
  sub: string;
  email: string;
  email_verified: boolean;
  name?: string;
  groups?: string[];
}

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ID_JAG_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id-jag';

export const GATEHOUSE_AT_IDP = { clientId: 'gatehouse', clientSecret: `gatehouse-secret-${randomBytes(12).toString('hex')}` };
export const APP_AT_IDP = { clientId: 'mcp-app', clientSecret: `mcp-app-secret-${randomBytes(12).toString('hex')}`, redirectUri: 'http://127.0.0.1:9/app-callback' };

export interface CompanyIdp {
  issuer: string;
  /** The environment that makes a Gatehouse trust this provider. */
  env(extra?: Record<string, string>): Record<string, string>;
  people: Map<string, CompanyPerson>;
  addPerson(person: Omit<CompanyPerson, 'sub'> & { sub?: string }): CompanyPerson;
  /** Set to make the provider issue ID tokens for another audience (a provider bug or an attack). */
  misbehave: { idTokenAudience?: string };
  /** Every code, token and secret this provider handed out: none may appear in Gatehouse's logs. */
  secretsIssued: Set<string>;
  /** The app's client id at Gatehouse, which ID-JAGs name as `client_id`. */
  clientIdAtGatehouse: string;
  /** Signs the person in at the provider as the MCP app (the code flow) and returns the app's ID token. */
  idTokenForApp(email: string): Promise<string>;
  /** An ID-JAG signed by hand: the provider's own key unless `foreignKey`, with claims overridden or removed (undefined). */
  mintIdJag(claims: Record<string, unknown>, options?: { typ?: string; foreignKey?: boolean }): Promise<string>;
  close(): Promise<void>;
}

async function signingKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  return { privateKey, kid, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } };
}

const page = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`;

export async function startCompanyIdp(options: { gatehouseCallback: string; name?: string }): Promise<CompanyIdp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;

  const key = await signingKey();
  const foreign = await signingKey();
  const people = new Map<string, CompanyPerson>();
  const secretsIssued = new Set<string>([GATEHOUSE_AT_IDP.clientSecret]);
  const misbehave: CompanyIdp['misbehave'] = {};
  const idp = { clientIdAtGatehouse: '' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: GATEHOUSE_AT_IDP.clientId,
        client_secret: GATEHOUSE_AT_IDP.clientSecret,
        redirect_uris: [options.gatehouseCallback],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: APP_AT_IDP.clientId,
        client_secret: APP_AT_IDP.clientSecret,
        redirect_uris: [APP_AT_IDP.redirectUri],
        grant_types: ['authorization_code', TOKEN_EXCHANGE],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [key.privateJwk as JWK] } as never,
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    // Put the profile claims in the ID token itself, as Okta, Entra ID and Google do.
    conformIdTokenClaims: false,
    pkce: { required: () => false },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const person = people.get(sub);
      return person && { accountId: sub, claims: async () => ({ ...person }) };
    },
  });

  // The login form and automatic consent.
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
    if (!match) return next();
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.prompt.name === 'login') {
      if (ctx.method === 'GET') {
        ctx.type = 'html';
        ctx.body = page(
          'Company sign-in',
          `<h1>Sign in to the company</h1><form method="post" action="/interaction/${interaction.uid}/login"><input name="email"><input name="password" type="password"><button>Sign in</button></form>`,
        );
        return;
      }
      const body = await new Promise<string>((resolve) => {
        let text = '';
        ctx.req.on('data', (chunk: Buffer) => (text += chunk.toString()));
        ctx.req.on('end', () => resolve(text));
      });
      const email = new URLSearchParams(body).get('email') ?? '';
      const person = [...people.values()].find((candidate) => candidate.email === email);
      if (!person) {
        ctx.status = 401;
        ctx.body = page('Company sign-in', '<p>Unknown person</p>');
        return;
      }
      ctx.status = 303;
      return ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: person.sub } }, { mergeWithLastSubmission: false }));
    }
    const grant = new provider.Grant({ accountId: interaction.session!.accountId, clientId: String(interaction.params.client_id) });
    grant.addOIDCScope(String(interaction.params.scope ?? 'openid'));
    const grantId = await grant.save();
    ctx.status = 303;
    return ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true }));
  });

  // Records what it hands out, and misbehaves on request.
  provider.use(async (ctx, next) => {
    await next();
    const location = ctx.response.get('location');
    const code = location ? URL.parse(location)?.searchParams.get('code') : null;
    if (code) secretsIssued.add(code);
    if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as Record<string, unknown>;
    if (typeof body.id_token === 'string' && misbehave.idTokenAudience) {
      const { payload } = await jwtVerify(body.id_token, createLocalJWKSet({ keys: [key.publicJwk] }));
      body.id_token = await new SignJWT({ ...payload, aud: misbehave.idTokenAudience }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey);
    }
    for (const name of ['id_token', 'access_token', 'refresh_token']) if (typeof body[name] === 'string') secretsIssued.add(body[name] as string);
  });

  async function mintIdJag(claims: Record<string, unknown>, mintOptions: { typ?: string; foreignKey?: boolean } = {}): Promise<string> {
    const signer = mintOptions.foreignKey ? foreign : key;
    const now = Math.floor(Date.now() / 1000);
    const payload = Object.fromEntries(
      Object.entries({ iss: issuer, jti: randomUUID(), iat: now, exp: now + 300, client_id: idp.clientIdAtGatehouse, ...claims }).filter(([, value]) => value !== undefined),
    );
    const jag = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: mintOptions.typ ?? 'oauth-id-jag+jwt' }).sign(signer.privateKey);
    secretsIssued.add(jag);
    return jag;
  }

  // RFC 8693 token exchange: the app's ID token for an ID-JAG naming the same person.
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx: KoaContextWithOIDC) => {
      const params = ctx.oidc.params as Record<string, string | undefined>;
      if (params.requested_token_type !== ID_JAG_TOKEN_TYPE) throw new errors.InvalidRequest('only ID-JAGs are issued here');
      let sub: string;
      try {
        ({ payload: { sub: sub } } = (await jwtVerify(params.subject_token ?? '', createLocalJWKSet({ keys: [key.publicJwk] }), { issuer, audience: ctx.oidc.client!.clientId })) as never);
      } catch {
        throw new errors.InvalidGrant('the subject token is not an ID token this provider issued to you');
      }
      const person = people.get(sub);
      if (!person) throw new errors.InvalidGrant('unknown person');
      const jag = await mintIdJag({ sub, aud: params.audience, resource: params.resource, scope: params.scope, email: person.email, email_verified: person.email_verified });
      ctx.body = { access_token: jag, issued_token_type: ID_JAG_TOKEN_TYPE, token_type: 'N_A', expires_in: 300, ...(params.scope ? { scope: params.scope } : {}) };
    },
    ['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope'] as never,
  );

  server.on('request', provider.callback());

  async function idTokenForApp(email: string): Promise<string> {
    const agent = new UserAgent();
    const authorize = new URL(`${issuer}/auth`);
    authorize.search = new URLSearchParams({ client_id: APP_AT_IDP.clientId, redirect_uri: APP_AT_IDP.redirectUri, response_type: 'code', scope: 'openid email profile', nonce: 'n' }).toString();
    const callback = await signInAtIdp(agent, authorize, email, APP_AT_IDP.redirectUri);
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`the company IdP sent no code: ${callback.href}`);
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP_AT_IDP.redirectUri, client_id: APP_AT_IDP.clientId, client_secret: APP_AT_IDP.clientSecret }),
    });
    const tokens = (await response.json()) as { id_token?: string };
    if (!tokens.id_token) throw new Error(`no ID token from the company IdP: ${JSON.stringify(tokens)}`);
    return tokens.id_token;
  }

  return {
    issuer,
    env: (extra = {}) => ({
      SSO_ISSUER: issuer,
      SSO_CLIENT_ID: GATEHOUSE_AT_IDP.clientId,
      SSO_CLIENT_SECRET: GATEHOUSE_AT_IDP.clientSecret,
      SSO_NAME: options.name ?? 'Acme Corp',
      ...extra,
    }),
    people,
    addPerson(person) {
      const full = { sub: person.sub ?? randomUUID(), ...person };
      people.set(full.sub, full);
      return full;
    },
    misbehave,
    secretsIssued,
    get clientIdAtGatehouse() {
      return idp.clientIdAtGatehouse;
    },
    set clientIdAtGatehouse(value: string) {
      idp.clientIdAtGatehouse = value;
    },
    idTokenForApp,
    mintIdJag,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Follows redirects through the company IdP's login form until a redirect to `stopAt`, which is returned. */
export async function signInAtIdp(agent: UserAgent, start: URL, email: string, stopAt: string): Promise<URL> {
  const result = await browse(agent, start, { idpEmail: email, stopAt });
  if (!result.callback) throw new Error(`stopped at ${result.url} (${result.status}): ${result.html.slice(0, 400)}`);
  return result.callback;
}

export interface Browsed {
  /** The redirect to `stopAt`, when the flow got there. */
  callback?: URL;
  /** Otherwise, the page it ended on (a refusal, /admin, /account). */
  url: string;
  status: number;
  html: string;
}

/**
 * A person's browser through a company sign-in: follows redirects across
 * Gatehouse and the company IdP, clicks "Continue with …" on Gatehouse's
 * sign-in page, fills in the IdP's login form, allows on Gatehouse's consent
 * page, and stops at a redirect to `stopAt` or at any other page.
 */
export async function browse(agent: UserAgent, start: URL | string, options: { idpEmail: string; stopAt?: string; decision?: 'allow' | 'deny'; provider?: string }): Promise<Browsed> {
  const ssoLink = new RegExp(`href="([^"]*/sso/(?:start/)?${options.provider ?? '[^"/?]+'}(?:[?][^"]*)?)"`);
  let url = new URL(start);
  let response = await agent.request(url);
  for (let step = 0; step < 30; step++) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location')!, url);
      if (options.stopAt && location.href.startsWith(options.stopAt)) return { callback: location, url: url.href, status: response.status, html: '' };
      url = location;
      response = await agent.request(url);
      continue;
    }
    const html = await response.text();
    agent.pages.push({ url: url.href, status: response.status, html });
    const sso = ssoLink.exec(html)?.[1];
    const idpLogin = /<form method="post" action="(\/interaction\/[^"]+\/login)"><input name="email">/.exec(html)?.[1];
    const consent = /<form method="post" action="([^"]+\/consent)"/.exec(html)?.[1];
    if (response.status === 200 && idpLogin) {
      response = await agent.submitForm(url.href, html, idpLogin, { email: options.idpEmail, password: 'not-checked' });
    } else if (response.status === 200 && consent) {
      response = await agent.submitForm(url.href, html, consent, { decision: options.decision ?? 'allow' });
    } else if (response.status === 200 && sso && /Continue with/.test(html) && !url.pathname.startsWith('/admin') && !url.pathname.startsWith('/account')) {
      url = new URL(sso.replaceAll('&amp;', '&'), url);
      response = await agent.request(url);
    } else {
      return { url: url.href, status: response.status, html };
    }
  }
  throw new Error('too many steps in the sign-in');
}
