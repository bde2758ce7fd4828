import { createHash } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import type { Context } from 'koa';

/**
 * A small value kept in the browser, encrypted and authenticated with a key
 * every instance derives from the shared cookie keys, so any instance can
 * read what another wrote. It lives a few minutes and is HttpOnly,
 * SameSite=Lax (it must come back on the top-level redirect from an identity
 * provider) and limited to one path.
 */
export class SealedCookie<T extends object> {
  private readonly key: Uint8Array;

  constructor(
    private readonly name: string,
    secret: string,
    private readonly options: { path: string; maxAgeSeconds: number; secure: boolean },
  ) {
    this.key = createHash('sha256').update(`gatehouse sealed cookie ${name}\0${secret}`).digest();
  }

  async set(ctx: Context, value: T): Promise<void> {
    const sealed = await new EncryptJWT({ v: value })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${this.options.maxAgeSeconds}s`)
      .encrypt(this.key);
    ctx.cookies.set(this.name, sealed, this.cookieOptions(this.options.maxAgeSeconds * 1000));
  }

  /** The value, or undefined when it is missing, expired or was tampered with. */
  async read(ctx: Context): Promise<T | undefined> {
    const sealed = ctx.cookies.get(this.name);
    if (!sealed) return undefined;
    try {
      const { payload } = await jwtDecrypt(sealed, this.key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      return payload.v as T;
    } catch {
      return undefined;
    }
  }

  clear(ctx: Context): void {
    ctx.cookies.set(this.name, null, this.cookieOptions(0));
  }

  private cookieOptions(maxAge: number) {
    return { httpOnly: true, sameSite: 'lax' as const, secure: this.options.secure, path: this.options.path, signed: false, overwrite: true, ...(maxAge ? { maxAge } : {}) };
  }
}
