import type { Method, Route, RouteSpec } from './routes.ts';

/** What a request's method and path resolve to. */
export type Resolution =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  /** The path is a route, the method is not one of its methods (OPTIONS on a CORS route is a preflight). */
  | { kind: 'method'; route: Route; params: Record<string, string>; preflight: boolean }
  | { kind: 'none' };

interface Dynamic {
  route: Route;
  /** A literal segment, or null where a parameter goes. */
  segments: (string | null)[];
  keys: (string | null)[];
}

const NONE: Resolution = { kind: 'none' };

/**
 * Resolves paths against the route table, exactly: case-sensitive, no
 * trailing slash unless listed as an alias, no empty segment, a parameter is
 * one segment that percent-decodes cleanly. Static routes win over
 * parameterised ones, then the table's order decides.
 */
export function createRouteMatcher(routes: readonly Route[]): (method: string, path: string) => Resolution {
  const statics = new Map<string, Route>();
  const dynamics: Dynamic[] = [];
  for (const route of routes) {
    const spellings: readonly string[] = [route.pattern, ...((route as RouteSpec).aliases ?? [])];
    for (const spelling of spellings) {
      if (!spelling.includes('/:')) {
        if (statics.has(spelling)) throw new Error(`two routes are spelled ${spelling}`);
        statics.set(spelling, route);
        continue;
      }
      const parts = spelling.split('/');
      dynamics.push({
        route,
        segments: parts.map((part) => (part.startsWith(':') ? null : part)),
        keys: parts.map((part) => (part.startsWith(':') ? part.slice(1) : null)),
      });
    }
  }

  function find(path: string): { route: Route; params: Record<string, string> } | undefined {
    const route = statics.get(path);
    if (route) return { route, params: {} };
    const parts = path.split('/');
    candidates: for (const candidate of dynamics) {
      if (candidate.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const segment = candidate.segments[i];
        const part = parts[i]!;
        if (segment !== null) {
          if (segment !== part) continue candidates;
          continue;
        }
        const value = decodeSegment(part);
        if (value === undefined) continue candidates;
        params[candidate.keys[i]!] = value;
      }
      return { route: candidate.route, params };
    }
    return undefined;
  }

  return (method, path) => {
    const found = find(path);
    if (!found) return NONE;
    const asked = method === 'HEAD' ? 'GET' : method;
    if ((found.route.methods as readonly string[]).includes(asked)) return { kind: 'route', ...found };
    const preflight = method === 'OPTIONS' && (found.route as RouteSpec).cors === true;
    return { kind: 'method', ...found, preflight };
  };
}

function decodeSegment(part: string): string | undefined {
  if (part === '') return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** The methods to list in an `Allow` header. */
export function allowedMethods(route: Route): string {
  const methods: string[] = [...(route.methods as readonly Method[])];
  if (methods.includes('GET')) methods.push('HEAD');
  if ((route as RouteSpec).cors) methods.push('OPTIONS');
  return methods.join(', ');
}
