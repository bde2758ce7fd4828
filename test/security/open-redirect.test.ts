/**
 * Finding 3: after signing in at /login, `next` decides where the browser
 * goes. Whatever `next` says, the browser must stay on our origin: a path the
 * browser resolves to `//evil.test` is another site.
 */
import test from 'ava';
import { AdminAgent, signedInAdmin } from '../helpers/admin-pages.ts';
import { ADMIN, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

const NEXT_VALUES = [
  '/..//evil.test',
  '/.//evil.test',
  '/%2e%2e//evil.test',
  '/%2E%2E//evil.test/path',
  '/./..//evil.test',
  '/admin/..//evil.test',
  '//evil.test',
  '/\\evil.test',
  '/\\/evil.test',
  'https://evil.test',
  '/%09/evil.test',
];

/** Where a browser goes with this Location header, relative to the page it was on. */
const destination = (location: string | null) => new URL(location ?? '', `${gh.issuer}/login`);

test('signed in, GET /login?next=… sends the browser only to our own origin', async (t) => {
  const admin = await signedInAdmin(gh.url);
  for (const next of NEXT_VALUES) {
    const page = await admin.page(`/login?next=${encodeURIComponent(next)}`);
    t.true(page.status >= 300 && page.status < 400, `${next}: ${page.status}`);
    t.is(destination(page.location).origin, gh.issuer, `next=${next} sent the browser to ${page.location}`);
  }
});

test('POST /login with next=… sends the browser only to our own origin', async (t) => {
  for (const next of NEXT_VALUES) {
    const answer = await new AdminAgent(gh.url).signIn(ADMIN, next);
    t.is(answer.status, 303, `${next}: signed in`);
    t.is(destination(answer.location).origin, gh.issuer, `next=${next} sent the browser to ${answer.location}`);
  }
});

test('a local next still works after sign-in', async (t) => {
  const answer = await new AdminAgent(gh.url).signIn(ADMIN, '/admin/users?q=alice');
  t.is(answer.status, 303);
  t.is(destination(answer.location).href, `${gh.issuer}/admin/users?q=alice`);
});
