/**
 * Keyset paging: a page is "the N rows after (or before) this key" in a fixed
 * order, so every page costs the same whether it is the first or the 200th.
 * Keys travel in links as opaque base64url tokens.
 */
export type Key = [number, string];

export function encodeKey(key: Key): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeKey(token: unknown): Key | undefined {
  if (typeof token !== 'string' || token.length > 2048) return undefined;
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === 2 && Number.isSafeInteger(key[0]) && typeof key[1] === 'string') return [key[0], key[1]];
  } catch {
    // a mangled link: treated as no key, the first page
  }
  return undefined;
}

export interface PageRequest {
  /** Rows older than this key (the next page). */
  after?: Key | undefined;
  /** Rows newer than this key (the previous page). */
  before?: Key | undefined;
  size: number;
}

export interface Page<T> {
  rows: T[];
  /** Links to the neighbouring pages, when there are rows there. */
  newer?: string;
  older?: string;
}

export function pageRequest(query: Record<string, unknown>, size: number): PageRequest {
  return { after: decodeKey(query.after), before: decodeKey(query.before), size };
}

/**
 * Runs a newest-first keyset query in either direction. `fetch` receives the
 * comparison to add (`(col_a, col_b) < (?, ?)` or `>`), its parameters, the
 * order and the limit; rows come back newest first with links both ways.
 */
export async function keysetPage<T>(
  request: PageRequest,
  keyOf: (row: T) => Key,
  fetch: (where: { sql: string; params: unknown[] } | undefined, order: 'DESC' | 'ASC', limit: number) => Promise<T[]>,
): Promise<Page<T>> {
  const limit = request.size + 1;
  if (request.before) {
    const rows = (await fetch({ sql: '>', params: request.before }, 'ASC', limit)).reverse();
    const hasNewer = rows.length > request.size;
    const page = hasNewer ? rows.slice(1) : rows;
    return withLinks(page, keyOf, hasNewer, true);
  }
  const rows = await fetch(request.after ? { sql: '<', params: request.after } : undefined, 'DESC', limit);
  const hasOlder = rows.length > request.size;
  const page = hasOlder ? rows.slice(0, request.size) : rows;
  return withLinks(page, keyOf, request.after !== undefined, hasOlder);
}

function withLinks<T>(rows: T[], keyOf: (row: T) => Key, hasNewer: boolean, hasOlder: boolean): Page<T> {
  const page: Page<T> = { rows };
  if (rows.length && hasNewer) page.newer = encodeKey(keyOf(rows[0]!));
  if (rows.length && hasOlder) page.older = encodeKey(keyOf(rows.at(-1)!));
  return page;
}

/** `LIKE` pattern for "contains", with the wildcards in the search text taken literally (use with ESCAPE '\'). */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `?, ?, ?` for an IN list. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}
