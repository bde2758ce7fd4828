import { readFileSync } from 'node:fs';
import type { Middleware } from 'koa';
import { PUBLIC_DIR } from '../paths.ts';

const TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png' };

/** The handful of static files our pages use, read once at start. */
export function assets(files: string[]): Middleware {
  const served = new Map(
    files.map((name) => [`/assets/${name}`, { body: readFileSync(`${PUBLIC_DIR}${name}`), type: TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream' }]),
  );
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? served.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = file.body;
  };
}
