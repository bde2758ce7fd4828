import test from 'ava';
import { allowedMethods, createRouteMatcher } from '../../../src/web/route-match.ts';
import { ROUTES, type Route, type RouteSpec } from '../../../src/web/routes.ts';

const match = createRouteMatcher(ROUTES);

/** A concrete path for a pattern: each parameter filled with a value. */
const concrete = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, 'x1');

/** Other spellings of a path that some router (oidc-provider's folds case and trailing slashes) might serve. */
function otherSpellings(path: string): string[] {
  const segments = path.split('/');
  const first = segments.findIndex((segment, i) => i > 0 && /^[a-z]/.test(segment));
  const encodedFirstLetter =
    first > 0 ? segments.map((segment, i) => (i === first ? `%${segment.charCodeAt(0).toString(16)}${segment.slice(1)}` : segment)).join('/') : undefined;
  return [path.toUpperCase(), `${path}/`, `/${path}`, path.replace(/\/([^/]+)$/, '//$1'), ...(encodedFirstLetter ? [encodedFirstLetter] : [])].filter(
    (spelling) => spelling !== path,
  );
}

test('every route resolves to itself by its pattern, for each of its methods (GET also for HEAD)', (t) => {
  for (const route of ROUTES as readonly Route[]) {
    for (const method of route.methods) {
      const resolution = match(method, concrete(route.pattern));
      t.is(resolution.kind, 'route', `${method} ${route.pattern}`);
      if (resolution.kind === 'route') t.is(resolution.route.name, route.name);
    }
    if ((route.methods as readonly string[]).includes('GET')) t.is(match('HEAD', concrete(route.pattern)).kind, 'route');
  }
});

test('no other spelling of a route (case, trailing slash, doubled slash, percent-encoding) resolves, unless it is a listed alias', (t) => {
  const aliases = new Set((ROUTES as readonly RouteSpec[]).flatMap((route) => (route.aliases ?? []).map(concrete)));
  for (const route of ROUTES as readonly Route[]) {
    for (const spelling of otherSpellings(concrete(route.pattern))) {
      if (aliases.has(spelling)) continue;
      const resolution = match(route.methods[0]!, spelling);
      t.is(resolution.kind, 'none', `${spelling} (a spelling of ${route.pattern}) resolved to ${resolution.kind === 'none' ? '' : resolution.route.pattern}`);
    }
  }
});

test('aliases are served as their route', (t) => {
  for (const [alias, name] of [
    ['/mcp/', 'mcp'],
    ['/.well-known/oauth-protected-resource/', 'resource.metadata'],
    ['/.well-known/oauth-protected-resource/mcp/', 'resource.metadata.mcp'],
  ] as const) {
    const resolution = match('GET', alias);
    t.is(resolution.kind, 'route', alias);
    if (resolution.kind === 'route') t.is(resolution.route.name, name);
  }
});

test('a literal segment wins over a parameter, and parameters are percent-decoded', (t) => {
  const literal = match('GET', '/admin/clients/new');
  t.is(literal.kind === 'route' && literal.route.name, 'admin.client.new');
  const parameter = match('GET', `/admin/clients/${encodeURIComponent('https://app.example/client.json')}`);
  t.is(parameter.kind === 'route' && parameter.route.name, 'admin.client');
  t.deepEqual(parameter.kind === 'route' && parameter.params, { id: 'https://app.example/client.json' });
});

test('a parameter that does not percent-decode, or is empty, matches nothing', (t) => {
  t.is(match('GET', '/admin/clients/%E0%A4%A').kind, 'none');
  t.is(match('GET', '/interaction/').kind, 'none');
  t.is(match('POST', '/interaction//login').kind, 'none');
});

test('a known path with another method is a 405 with Allow; OPTIONS on a CORS route is a preflight', (t) => {
  const wrong = match('PUT', '/mcp');
  t.is(wrong.kind, 'method');
  if (wrong.kind === 'method') {
    t.false(wrong.preflight);
    t.is(allowedMethods(wrong.route), 'POST, GET, DELETE, HEAD, OPTIONS');
  }
  const preflight = match('OPTIONS', '/token');
  t.true(preflight.kind === 'method' && preflight.preflight);
  const pageOptions = match('OPTIONS', '/login');
  t.true(pageOptions.kind === 'method' && !pageOptions.preflight, 'pages answer no preflight');
});

test('paths that are no route resolve to nothing', (t) => {
  for (const path of ['/', '/nothing', '/register/a/b', '/.well-known/oauth-authorization-server/mcp', '/admin/', '/assets/']) {
    t.is(match('GET', path).kind, 'none', path);
  }
});

test('two routes never share a spelling', (t) => {
  t.notThrows(() => createRouteMatcher(ROUTES));
  const duplicated = [...(ROUTES as readonly Route[]), { ...(ROUTES[0] as Route), name: 'copy' } as unknown as Route];
  t.throws(() => createRouteMatcher(duplicated), { message: /two routes are spelled/ });
});
