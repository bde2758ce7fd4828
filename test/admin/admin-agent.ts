import { createHash } from 'node:crypto';
import { UserAgent } from '../helpers/user-agent.ts';

export interface Page {
  status: number;
  html: string;
  location: string | null;
  headers: Headers;
}

/** The CSRF token a page carries in its forms. */
export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

/** Text of the page's notice (role="status") or alert, with tags and entities removed. */
export function noticeOf(html: string): string | undefined {
  const match = /role="(?:status|alert)"[^>]*>([\s\S]*?)<\/div>/.exec(html);
  return match?.[1]?.replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').trim();
}

/**
 * A browser for the admin and account pages over plain HTTP: signs in on
 * /login, keeps the cookie, and posts forms the way our pages do (with the
 * session's CSRF token and the browser's Origin and Sec-Fetch-Site headers).
 */
export class AdminAgent extends UserAgent {
  csrf = '';
  /** The admin session id this agent holds (tests look its hash up in the Store). */
  sessionId = '';

  constructor(readonly baseUrl: string) {
    super();
  }

  get sessionHash(): string {
    return createHash('sha256').update(this.sessionId).digest('hex');
  }

  async page(path: string): Promise<Page> {
    const response = await this.request(new URL(path, this.baseUrl));
    const html = await response.text();
    return { status: response.status, html, location: response.headers.get('location'), headers: response.headers };
  }

  async signIn(person: { email: string; password: string }, next?: string): Promise<Page> {
    const login = await this.page(`/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
    const response = await this.submitForm(`${this.baseUrl}/login`, login.html, '/login', {
      email: person.email,
      password: person.password,
      ...(next ? { next } : {}),
    });
    const answer = { status: response.status, html: await response.text(), location: response.headers.get('location'), headers: response.headers };
    if (response.status === 303) {
      this.sessionId = /(?:^|\s)(?:__Host-)?gh_admin=([^;]+)/.exec(response.headers.getSetCookie().join('\n'))?.[1] ?? '';
      this.csrf = csrfOf((await this.page('/account')).html) ?? '';
    }
    return answer;
  }

  /** Posts a form as our own pages do; `headers` can replace what a browser would send. */
  async post(path: string, fields: Record<string, string> = {}, options: { csrf?: string | null; headers?: Record<string, string> } = {}): Promise<Page> {
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    const response = await this.request(new URL(path, this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin', ...options.headers },
      body: new URLSearchParams({ ...(csrf === null ? {} : { csrf }), ...fields }),
    });
    return { status: response.status, html: await response.text(), location: response.headers.get('location'), headers: response.headers };
  }

  /** Posts, then follows the post/redirect/get to the page that shows what happened. */
  async act(path: string, fields: Record<string, string> = {}): Promise<Page> {
    const answer = await this.post(path, fields);
    if (answer.status !== 303) throw new Error(`${path} answered ${answer.status}: ${noticeOf(answer.html) ?? answer.html.slice(0, 300)}`);
    return this.page(answer.location!);
  }
}

export async function signedIn(baseUrl: string, person: { email: string; password: string }): Promise<AdminAgent> {
  const agent = new AdminAgent(baseUrl);
  const answer = await agent.signIn(person);
  if (answer.status !== 303) throw new Error(`sign-in failed: ${answer.status}`);
  return agent;
}
