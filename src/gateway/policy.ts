import type { UpstreamSettings } from './definition.ts';

/** Which of an upstream's tools callers see and may call, and the scopes each call needs. */
export function toolVisible(settings: UpstreamSettings, tool: string): boolean {
  if (settings.deny.includes(tool)) return false;
  return settings.allow === undefined || settings.allow.includes(tool);
}

/** The scopes a call to this tool needs, or undefined when the policy hides it (it is then "not found"). */
export function toolScopes(settings: UpstreamSettings, tool: string): readonly string[] | undefined {
  if (!toolVisible(settings, tool)) return undefined;
  return [...new Set([...settings.scopes, ...(settings.toolScopes[tool] ?? [])])];
}

/** Every scope some call to this upstream needs: the 401 challenge asks for them all, so one consent is enough. */
export function allScopes(settings: UpstreamSettings): string[] {
  return [...new Set([...settings.scopes, ...Object.values(settings.toolScopes).flat()])];
}
