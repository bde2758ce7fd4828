import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens bound to something only the right browser has (an interaction
 * uid from its cookie, an admin session id): an HMAC, so nothing is stored.
 */
export class Csrf {
  constructor(private readonly secret: string) {}

  token(binding: string): string {
    return createHmac('sha256', this.secret).update(`csrf:${binding}`).digest('base64url');
  }

  verify(binding: string, presented: unknown): boolean {
    if (typeof presented !== 'string') return false;
    const expected = Buffer.from(this.token(binding));
    const actual = Buffer.from(presented);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
