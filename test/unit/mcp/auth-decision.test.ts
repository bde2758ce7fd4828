/**
 * The MCP authorization decision on its own: headers and messages in, a
 * principal or a refusal out. Real parts: a Store on the engine under test,
 * signing keys generated as at first start, access tokens signed the way the
 * authorization server signs them, and the real token verifier.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { importJWK, SignJWT } from 'jose';
import type { Store } from '../../../src/data/engines/store.ts';
import { openNotifications } from '../../../src/data/notifications.ts';
import { hashId, upsertModel } from '../../../src/data/oidc-models.ts';
import { createUser } from '../../../src/domain/accounts.ts';
import type { Principal } from '../../../src/domain/principal.ts';
import { loadSigningKeys, loadVerificationKeys } from '../../../src/domain/signing-keys.ts';
import { TokenVerifier } from '../../../src/domain/token-verifier.ts';
import { McpAuth, type BoundSession } from '../../../src/mcp/auth.ts';
import { openTestStore } from '../../helpers/database.ts';

const ISSUER = 'https://gatehouse.test';
const RESOURCE = `${ISSUER}/mcp`;

let store: Store;
let verifier: TokenVerifier;
let userId: string;
let closeStore: (() => Promise<void>) | undefined;

test.before(async () => {
  ({ store, close: closeStore } = await openTestStore());
  userId = (await createUser(store, { email: 'decision@example.test', password: 'decision-password-1' })).id;
  verifier = new TokenVerifier({
    store,
    issuer: ISSUER,
    audiences: [RESOURCE],
    livenessCacheMs: 0,
    loadVerificationKeys: () => loadVerificationKeys(store),
    notifications: openNotifications(store, { enabled: false }),
  });
});
test.after.always(async () => {
  await closeStore?.();
});

/** A live grant, and an access token for it signed with the server's own key. */
async function accessToken(claims: { scope?: string; aud?: string; expiresIn?: number; grantLive?: boolean } = {}): Promise<string> {
  const grantId = randomUUID();
  if (claims.grantLive !== false) {
    await upsertModel(store, { model: 'Grant', key: hashId(grantId), payload: '{}', grantId, clientId: 'client-1', accountId: userId, uid: null, userCode: null, expiresAt: null, now: Date.now() });
  }
  const jwk = (await loadSigningKeys(store)).keys.find((key) => key.alg === 'ES256')!;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: 'client-1', gid: grantId, scope: claims.scope ?? 'mcp:tools mcp:write' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid! })
    .setIssuer(ISSUER)
    .setAudience(claims.aud ?? RESOURCE)
    .setSubject(userId)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresIn ?? 900))
    .sign(await importJWK(jwk, 'ES256'));
}

function auth(options: { fallback?: boolean; wait?: number } = {}) {
  return new McpAuth({
    config: { issuer: ISSUER, mcp: { sessionAuthFallback: options.fallback ?? true } },
    verifier,
    baseScopes: ['mcp:tools'],
    requiredScopes: (tool) => ({ whoami: ['mcp:tools'], notes_add: ['mcp:tools', 'mcp:write'] })[tool],
    challengeScope: 'mcp:tools mcp:write',
    admitOrWait: async () => options.wait,
  });
}

const call = (name: string) => [{ jsonrpc: '2.0' as const, id: 1, method: 'tools/call', params: { name, arguments: {} } }];

function session(binding: Principal): BoundSession & { rebound: Principal[] } {
  const rebound: Principal[] = [];
  return {
    binding,
    rebound,
    async rebind(principal) {
      rebound.push(principal);
      this.binding = principal;
    },
  };
}

test('no credential: 401 with the challenge naming every scope the tools need, and no error attribute', async (t) => {
  const refusal = auth().unauthenticated();
  t.is(refusal.status, 401);
  t.is(refusal.headers['WWW-Authenticate'], `Bearer resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools mcp:write"`);
});

test('a valid bearer is its principal; anything else is 401 invalid_token with a reason', async (t) => {
  const valid = await auth().bearer(`Bearer ${await accessToken()}`);
  t.true(valid.ok && valid.value.userId === userId && valid.value.scopes.includes('mcp:write'));
  for (const [header, reason] of [
    [`Bearer ${await accessToken({ aud: 'https://elsewhere.test/mcp' })}`, /not valid for this resource/],
    [`Bearer ${await accessToken({ expiresIn: -60 })}`, /expired/],
    [`Bearer ${await accessToken({ grantLive: false })}`, /revoked/],
    ['Basic abc', /Bearer/],
    ['Bearer not-a-token', /not valid/],
  ] as const) {
    const decision = await auth().bearer(header);
    t.false(decision.ok, header);
    if (!decision.ok) {
      t.is(decision.refusal.status, 401);
      t.regex(decision.refusal.headers['WWW-Authenticate']!, /error="invalid_token"/);
      t.regex(String(decision.refusal.body.error_description), reason);
    }
  }
});

test('scopes are checked per call: a write needs mcp:write, an unknown tool only the base scope', async (t) => {
  const readOnly = await auth().bearer(`Bearer ${await accessToken({ scope: 'mcp:tools' })}`);
  if (!readOnly.ok) return t.fail();
  const refusal = auth().scopeRefusal(readOnly.value, call('notes_add'));
  t.is(refusal?.status, 403);
  t.regex(refusal!.headers['WWW-Authenticate']!, /error="insufficient_scope"/);
  t.regex(refusal!.headers['WWW-Authenticate']!, /scope="mcp:tools mcp:write"/);
  t.is(auth().scopeRefusal(readOnly.value, call('whoami')), undefined);
  t.is(auth().scopeRefusal(readOnly.value, call('no-such-tool')), undefined, 'the server answers an unknown tool itself');
  const none = await auth().bearer(`Bearer ${await accessToken({ scope: 'openid' })}`);
  if (!none.ok) return t.fail();
  t.is(auth().scopeRefusal(none.value, [])?.status, 403, 'every request needs the base scope');
});

test('on a session: the binding stands in for a missing bearer, another principal sees 404, a fresh bearer rebinds', async (t) => {
  const first = await auth().bearer(`Bearer ${await accessToken()}`);
  if (!first.ok) return t.fail();
  const held = session(first.value);
  const fallback = await auth().onSession(held, undefined);
  t.true(fallback.ok && fallback.value.principal === first.value);

  const someoneElse = { ...first.value, userId: 'another-person' };
  const hijack = await auth().onSession(held, someoneElse);
  t.false(hijack.ok);
  if (!hijack.ok) t.is(hijack.refusal.status, 404, 'a bearer for someone else learns nothing about the session');
  t.is(((await auth().onSession(undefined, first.value)) as { ok: false; refusal: { status: number } }).refusal.status, 404);

  const renewed = await auth().bearer(`Bearer ${await accessToken()}`);
  if (!renewed.ok) return t.fail();
  await auth().onSession(held, renewed.value);
  t.is(held.rebound.length, 1, 'the fresh credential renews the binding');

  const strict = await auth({ fallback: false }).onSession(session(first.value), undefined);
  t.false(strict.ok);
  if (!strict.ok) t.is(strict.refusal.status, 401);
});

test('a binding whose grant is gone no longer stands in: 401 invalid_token', async (t) => {
  const gone = await auth().bearer(`Bearer ${await accessToken()}`);
  if (!gone.ok) return t.fail();
  await store.run('DELETE FROM oidc_models WHERE grant_id = ?', [gone.value.grantId]);
  const decision = await auth().onSession(session(gone.value), undefined);
  t.false(decision.ok);
  if (!decision.ok) t.regex(decision.refusal.headers['WWW-Authenticate']!, /invalid_token/);
});

test('over the rate limit: 429 with Retry-After in JSON-RPC', async (t) => {
  const principal = await auth().bearer(`Bearer ${await accessToken()}`);
  if (!principal.ok) return t.fail();
  const refusal = await auth({ wait: 7 }).admit(principal.value, call('whoami'));
  t.is(refusal?.status, 429);
  t.is(refusal?.headers['Retry-After'], '7');
  t.is((refusal?.body as { error: { code: number } }).error.code, -32000);
});
