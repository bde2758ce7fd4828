/**
 * A person's browser, reduced to what the sign-in pages need: a cookie jar,
 * manual redirects, and the ability to fill in and submit our forms. It
 * speaks plain HTTP to the real server, like a browser would.
 */
interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface SignIn {
  email: string;
  password: string;
  decision?: 'allow' | 'deny';
  remember?: boolean;
}

export class UserAgent {
  private cookies = new Map<string, Cookie>();
  /** Every page the agent was shown, for assertions about what people see. */
  pages: { url: string; status: number; html: string }[] = [];

  /** The Cookie header this browser would send to `url` (for requests a test crafts by hand). */
  cookieHeader(url: string | URL): string {
    const target = new URL(url);
    return [...this.cookies.values()]
      .filter((c) => target.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(target);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) this.store(line);
    return response;
  }

  private store(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const attr = Object.fromEntries(attributes.map((a) => a.split('=')).map(([k = '', v = '']) => [k.toLowerCase(), v]));
    const path = attr.path || '/';
    const key = `${name};${path}`;
    const expired = (attr.expires && Date.parse(attr.expires) <= Date.now()) || attr['max-age'] === '0' || value === '';
    if (expired) this.cookies.delete(key);
    else this.cookies.set(key, { name, value, path });
  }

  async submitForm(pageUrl: string, html: string, formAction: string, fields: Record<string, string>): Promise<Response> {
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    const body = new URLSearchParams({ ...(csrf ? { csrf } : {}), ...fields });
    return this.request(new URL(formAction, pageUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(pageUrl).origin },
      body,
    });
  }

  /**
   * Follows an authorization URL through sign-in and consent and returns the
   * redirect back to the client (not followed), or throws with the page shown.
   */
  async authorize(authorizationUrl: string | URL, signIn: SignIn): Promise<URL> {
    const issuerOrigin = new URL(authorizationUrl).origin;
    let response = await this.request(authorizationUrl);
    let url = new URL(authorizationUrl);
    for (let step = 0; step < 20; step++) {
      if (response.status >= 300 && response.status < 400) {
        const location = new URL(response.headers.get('location')!, url);
        if (location.origin !== issuerOrigin) return location;
        url = location;
        response = await this.request(url);
        continue;
      }
      const html = await response.text();
      this.pages.push({ url: url.href, status: response.status, html });
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
      if (action?.endsWith('/login')) {
        response = await this.submitForm(url.href, html, action, { email: signIn.email, password: signIn.password });
        if (response.status !== 303) throw new Error(`sign-in refused (${response.status}): ${(await response.text()).slice(0, 400)}`);
      } else if (action?.endsWith('/consent')) {
        response = await this.submitForm(url.href, html, action, {
          decision: signIn.decision ?? 'allow',
          ...(signIn.remember ? { remember: 'yes' } : {}),
        });
      } else {
        throw new Error(`unexpected page at ${url.href} (${response.status}): ${html.slice(0, 600)}`);
      }
    }
    throw new Error('too many steps in the authorization flow');
  }

  /** The HTML of the last page shown. */
  get lastPage(): string {
    return this.pages.at(-1)?.html ?? '';
  }
}
