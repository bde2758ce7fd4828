import test from 'ava';
import { redirectHostRefusal, DEFAULT_REGISTRATION_POLICY } from '../../../src/domain/registration-policy.ts';
import { looksNative, redirectUriRefusal } from '../../../src/domain/redirect-uris.ts';
import { tokenRequestRefusal } from '../../../src/domain/personal-tokens.ts';
import { selfRegisteredRedirectRefusal } from '../../../src/oauth/client-metadata.ts';

const policy = (redirectHosts: string[]) => ({ ...DEFAULT_REGISTRATION_POLICY, redirectHosts });

test('redirect URIs real clients use are acceptable; dangerous ones are refused with a reason', (t) => {
  for (const uri of ['https://claude.ai/api/mcp/auth_callback', 'http://localhost:51234/callback', 'http://127.0.0.1:33418/', 'http://[::1]:8080/cb', 'cursor://anysphere.cursor-mcp/oauth/callback']) {
    t.is(redirectUriRefusal(uri), undefined, uri);
  }
  for (const [uri, reason] of [
    ['javascript:alert(1)', /javascript/],
    ['data:text/html,x', /data/],
    ['file:///etc/passwd', /file/],
    ['https://app.example/cb#frag', /fragment/],
    ['http://evil.test/cb', /loopback/],
    ['not a uri', /absolute/],
  ] as const) {
    t.regex(redirectUriRefusal(uri) ?? '', reason, uri);
  }
});

test('loopback and private-use callbacks mark a native app', (t) => {
  t.true(looksNative(['http://localhost:1234/callback']));
  t.true(looksNative(['https://vscode.dev/redirect', 'http://127.0.0.1:33418/']));
  t.true(looksNative(['cursor://anysphere.cursor-mcp/oauth/callback']));
  t.false(looksNative(['https://claude.ai/api/mcp/auth_callback']));
});

test('the redirect-host allow-list admits listed hosts, wildcards and loopback only', (t) => {
  t.is(redirectHostRefusal(['https://evil.test/cb'], policy([])), undefined, 'an empty list allows any host');
  t.is(redirectHostRefusal(['https://claude.ai/cb', 'http://localhost:9/cb'], policy(['claude.ai'])), undefined);
  t.is(redirectHostRefusal(['https://n8n.corp.example/cb'], policy(['*.corp.example'])), undefined);
  t.regex(redirectHostRefusal(['https://claude.ai/cb', 'https://evil.test/cb'], policy(['claude.ai'])) ?? '', /evil\.test/);
  t.regex(redirectHostRefusal(['https://corp.example.evil.test/cb'], policy(['*.corp.example'])) ?? '', /not allowed/);
});

test('a self-registered client (DCR or a metadata document) meets both rules', (t) => {
  t.regex(selfRegisteredRedirectRefusal(['http://evil.test/cb'], policy([])) ?? '', /loopback/);
  t.regex(selfRegisteredRedirectRefusal(['https://evil.test/cb'], policy(['claude.ai'])) ?? '', /not allowed/);
  t.is(selfRegisteredRedirectRefusal(['https://claude.ai/cb'], policy(['claude.ai'])), undefined);
});

test('a personal access token needs a name, known scopes including the base one, and a future expiry', (t) => {
  const fine = { name: 'n8n', scopes: ['mcp:tools'], expiresAt: null };
  t.is(tokenRequestRefusal(fine), undefined);
  t.regex(tokenRequestRefusal({ ...fine, name: '  ' }) ?? '', /name/);
  t.regex(tokenRequestRefusal({ ...fine, name: 'x'.repeat(101) }) ?? '', /too long/);
  t.regex(tokenRequestRefusal({ ...fine, scopes: ['mcp:write'] }) ?? '', /mcp:tools/);
  t.regex(tokenRequestRefusal({ ...fine, scopes: ['mcp:tools', 'admin'] }) ?? '', /Unknown scope/);
  t.regex(tokenRequestRefusal({ ...fine, expiresAt: Date.now() - 1 }) ?? '', /future/);
});
