import type { Store } from '../data/engines/store.ts';
import { readSetting, writeSetting } from '../data/settings.ts';
import { LOOPBACK_HOSTS } from './redirect-uris.ts';

export interface RegistrationPolicySettings {
  /** Open dynamic client registration (RFC 7591) at /register. */
  dcr: boolean;
  /** Client ID Metadata Documents: https client_ids fetched on first use. */
  cimd: boolean;
  /** When not empty, redirect URIs must be on one of these hosts (loopback is always allowed). */
  redirectHosts: string[];
  /** When not empty, CIMD client_ids must be on one of these domains. */
  cimdDomains: string[];
  /**
   * Self-registered (DCR and CIMD) clients that hold no grant and have not been
   * used for this many days are deleted by the periodic cleanup; 0 keeps them.
   * Claude.ai registers a new client on every fresh connection, so without
   * this they pile up.
   */
  staleClientRetentionDays: number;
}

export const DEFAULT_REGISTRATION_POLICY: RegistrationPolicySettings = {
  dcr: true,
  cimd: true,
  redirectHosts: [],
  cimdDomains: [],
  staleClientRetentionDays: 30,
};

function hostMatches(host: string, allowed: string[]): boolean {
  const lower = host.toLowerCase();
  return allowed.some((entry) => {
    const rule = entry.toLowerCase();
    return rule.startsWith('*.') ? lower.endsWith(rule.slice(1)) : lower === rule;
  });
}

/**
 * Who may register, kept in the Store's settings so a change made on one
 * instance reaches every instance within `cacheMs`, without a restart.
 */
const SETTING = 'registration_policy';

export class RegistrationPolicy {
  private cached: { settings: RegistrationPolicySettings; at: number } | undefined;

  constructor(
    private readonly store: Store,
    private readonly cimdConfigured: boolean,
    private readonly cacheMs = 1000,
  ) {}

  async settings(): Promise<RegistrationPolicySettings> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.settings;
    const saved = await readSetting<Partial<RegistrationPolicySettings>>(this.store, SETTING);
    const settings = { ...DEFAULT_REGISTRATION_POLICY, ...saved };
    this.cached = { settings, at: Date.now() };
    return settings;
  }

  async update(settings: RegistrationPolicySettings): Promise<void> {
    await writeSetting(this.store, SETTING, settings);
    this.cached = undefined;
  }

  async allowsCimd(clientId: string): Promise<boolean> {
    const settings = await this.settings();
    if (!this.cimdConfigured || !settings.cimd) return false;
    if (settings.cimdDomains.length === 0) return true;
    const url = URL.parse(clientId);
    return url !== null && hostMatches(url.hostname, settings.cimdDomains);
  }

}

/** Undefined when the policy's redirect-host allow-list admits these redirect URIs; otherwise the reason to give the client. */
export function redirectHostRefusal(redirectUris: readonly string[], settings: RegistrationPolicySettings): string | undefined {
  if (settings.redirectHosts.length === 0) return undefined;
  for (const uri of redirectUris) {
    const url = URL.parse(uri);
    if (!url) continue;
    const isLoopback = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
    const isWeb = url.protocol === 'https:' || url.protocol === 'http:';
    if (isWeb && !isLoopback && !hostMatches(url.hostname, settings.redirectHosts)) {
      return `redirect URI host ${url.hostname} is not allowed by this server's registration policy`;
    }
  }
  return undefined;
}
