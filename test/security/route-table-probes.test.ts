/**
 * Every route in the table that carries a rule (sign-in, a rate limit, the
 * DNS-rebinding guard, CORS, a secret in its path), probed over HTTP with the
 * spellings other routers accept: upper case, a trailing slash, a doubled
 * slash, a dot segment, a percent-encoded letter. None may reach a handler:
 * each is 404, so no spelling can skip the route's rule.
 */
import { request } from 'node:http';
import test from 'ava';
import { createRouteMatcher } from '../../src/web/route-match.ts';
import { ROUTES, type Route, type RouteSpec } from '../../src/web/routes.ts';
import { startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

const concrete = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, 'probe1');

/** Other spellings of a route's path; a percent-encoded letter only in a literal segment (a parameter is decoded, so that is the same value). */
function spellings(pattern: string): string[] {
  const path = concrete(pattern);
  const segments = path.split('/');
  const last = segments.length - 1;
  const letter = segments[last]!;
  const literalLast = !pattern.split('/')[last]!.startsWith(':');
  return [
    path.toUpperCase(),
    `${path}/`,
    `/${path}`,
    [...segments.slice(0, last), '', letter].join('/'),
    [...segments.slice(0, last), '.', letter].join('/'),
    ...(literalLast ? [[...segments.slice(0, last), `%${letter.charCodeAt(0).toString(16)}${letter.slice(1)}`].join('/')] : []),
  ].filter((spelling) => spelling !== path);
}

function rawStatus(method: string, path: string): Promise<number> {
  const { hostname, port } = new URL(gh.url);
  const body = method === 'POST' ? 'client_id=probe&email=a%40b.c&password=x' : undefined;
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers: body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const match = createRouteMatcher(ROUTES);
const rulesOf = (route: RouteSpec) => ({ access: route.access, rateLimit: route.rateLimit, hostGuard: route.hostGuard, cors: route.cors, shape: route.shape });

const carriesRule = (route: RouteSpec) => Boolean(route.access && route.access !== 'public') || Boolean(route.rateLimit || route.hostGuard || route.cors || route.secretParams);

test('no other spelling of a route with a rule reaches a handler: each is 404', async (t) => {
  const aliases = new Set((ROUTES as readonly RouteSpec[]).flatMap((route) => route.aliases ?? []));
  let probed = 0;
  for (const route of (ROUTES as readonly Route[]).filter((candidate) => carriesRule(candidate as RouteSpec))) {
    const method = route.methods.includes('POST' as never) ? 'POST' : route.methods[0]!;
    for (const spelling of spellings(route.pattern)) {
      if (aliases.has(spelling)) continue;
      // A spelling that names another route by its parameter (`/admin/clients/%6eew` is the client
      // whose id is "new") is that route, and must carry the same rules; any other is 404.
      const resolution = match(method, spelling);
      if (resolution.kind !== 'none') {
        t.deepEqual(rulesOf(resolution.route as RouteSpec), rulesOf(route as RouteSpec), `${spelling} resolves to ${resolution.route.pattern}`);
        continue;
      }
      // node:http sends the path as written; fetch would normalise dot segments away.
      const status = await rawStatus(method, spelling);
      t.is(status, 404, `${method} ${spelling} (a spelling of ${route.pattern})`);
      probed++;
    }
  }
  t.true(probed > 100, `${probed} spellings probed`);
});
