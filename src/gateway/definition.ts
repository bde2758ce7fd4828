import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config/config.ts';
import { BASE_SCOPE, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';

/**
 * One upstream MCP server as the UPSTREAMS file and the admin page describe
 * it. Both go through this schema, so an entry means the same wherever it
 * was written.
 */

const scope = z.enum(RESOURCE_SCOPE_NAMES as [string, ...string[]]);
const toolName = z.string().min(1).max(128);

const common = {
  /** The scopes every request to this upstream needs (always including mcp:tools). */
  scopes: z.array(scope).default([BASE_SCOPE]),
  /** When given, only these tools are shown and callable. */
  allow: z.array(toolName).optional(),
  /** These tools are never shown or callable. */
  deny: z.array(toolName).default([]),
  /** Extra scopes a call to one tool needs. */
  toolScopes: z.record(toolName, z.array(scope)).default({}),
  /** Longest a call may take before the caller gets an error (ms). */
  timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /** Calls in flight to this upstream at once, over every caller; more wait their turn. */
  concurrency: z.number().int().min(1).max(10_000).default(32),
  title: z.string().max(200).optional(),
};

const stdio = z
  .object({
    ...common,
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
  })
  .strict();

const http = z
  .object({
    ...common,
    url: z
      .string()
      .url()
      .refine((value) => /^https?:$/.test(new URL(value).protocol), 'must be an http:// or https:// URL'),
    headers: z.record(z.string(), z.string()).default({}),
    /** `streamable` (the default, falling back to `sse` when the server only speaks the old transport) or `sse`. */
    transport: z.enum(['streamable', 'sse']).optional(),
  })
  .strict();

export const UPSTREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export type StdioUpstream = z.infer<typeof stdio>;
export type HttpUpstream = z.infer<typeof http>;
export type UpstreamSettings = StdioUpstream | HttpUpstream;

export interface UpstreamDefinition {
  name: string;
  settings: UpstreamSettings;
  /** Where it was defined: the file, or the admin page. */
  origin: 'file' | 'admin';
}

export function isStdio(settings: UpstreamSettings): settings is StdioUpstream {
  return 'command' in settings;
}

/** Validates one entry; throws an Error naming the entry and the field. */
export function parseUpstream(name: string, settings: unknown, origin: UpstreamDefinition['origin']): UpstreamDefinition {
  if (!UPSTREAM_NAME.test(name)) throw new Error(`upstream "${name}": the name must be 1-63 lowercase letters, digits, "-" or "_" (it becomes /mcp/<name>)`);
  const has = (key: string) => typeof settings === 'object' && settings !== null && key in settings;
  if (has('command') === has('url')) throw new Error(`upstream "${name}": needs exactly one of "command" (a stdio server) or "url" (an HTTP server)`);
  const parsed = (has('command') ? stdio : http).safeParse(settings);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length ? `field "${issue.path.join('.')}"` : 'entry'}: ${issue.message}`);
    throw new Error(`upstream "${name}": ${problems.join('; ')}`);
  }
  const value = parsed.data;
  if (!value.scopes.includes(BASE_SCOPE)) value.scopes = [BASE_SCOPE, ...value.scopes];
  return { name, settings: value, origin };
}

/**
 * The UPSTREAMS file: `{ "<name>": { entry }, … }` (or `{ "upstreams": { … } }`).
 * A file that cannot be read or has a bad entry fails the start.
 */
export function loadUpstreamsFile(path: string | undefined): UpstreamDefinition[] {
  if (!path) return [];
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`UPSTREAMS: cannot read ${path}: ${(error as Error).message}`);
  }
  const entries = (document as { upstreams?: unknown })?.upstreams ?? document;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
    throw new ConfigError(`UPSTREAMS: ${path} must hold an object of upstreams by name, like { "notes": { "command": "npx", "args": ["…"] } }`);
  }
  try {
    return Object.entries(entries).map(([name, settings]) => parseUpstream(name, settings, 'file'));
  } catch (error) {
    throw new ConfigError(`UPSTREAMS (${path}): ${(error as Error).message}`);
  }
}
