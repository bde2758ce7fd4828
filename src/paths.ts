import { fileURLToPath } from 'node:url';

/**
 * The project's root folder. This file sits one level below it both as
 * source (src/paths.ts) and inside the built bundle (dist/gatehouse.js), so the
 * same expression finds views/, migrations/ and public/ either way.
 */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export const VIEWS_DIR = `${ROOT}views/`;
export const MIGRATIONS_DIR = `${ROOT}migrations/`;
export const PUBLIC_DIR = `${ROOT}public/`;
export const PACKAGE_JSON = `${ROOT}package.json`;
