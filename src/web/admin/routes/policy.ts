import type { Context } from 'koa';
import { audit } from '../../../data/audit-log.ts';
import type { RegistrationPolicy, RegistrationPolicySettings } from '../../../domain/registration-policy.ts';
import type { Store } from '../../../data/engines/store.ts';
import type { SignedIn } from '../admin-session.ts';
import { countStaleClients } from '../../../data/client-index.ts';
import type { Handlers } from '../../handlers.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Pages } from '../pages.ts';

interface Deps {
  store: Store;
  pages: Pages;
  policy: RegistrationPolicy;
  /** CIMD=off at start wins over the page's switch. */
  cimdConfigured: boolean;
}

const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
export const MAX_RETENTION_DAYS = 3650;

class PolicyInputError extends Error {}

function hostList(text: string | undefined, what: string): string[] {
  const hosts = [...new Set((text ?? '').split(/[\s,]+/).map((host) => host.trim().toLowerCase()).filter(Boolean))];
  for (const host of hosts) {
    if (!HOST.test(host)) throw new PolicyInputError(`"${host}" is not a host name. List ${what} one per line, like example.com or *.example.com (no scheme, port or path).`);
  }
  return hosts;
}

function parsePolicy(form: Record<string, string>): RegistrationPolicySettings {
  const days = Number(form.retention_days ?? '');
  if (!Number.isInteger(days) || days < 0 || days > MAX_RETENTION_DAYS) {
    throw new PolicyInputError(`The retention must be a whole number of days from 0 (keep them) to ${MAX_RETENTION_DAYS}.`);
  }
  return {
    dcr: form.dcr === 'on',
    cimd: form.cimd === 'on',
    redirectHosts: hostList(form.redirect_hosts, 'redirect hosts'),
    cimdDomains: hostList(form.cimd_domains, 'CIMD domains'),
    staleClientRetentionDays: days,
  };
}

/** Who may register (open DCR, CIMD, allow-lists) and how long stale self-registered clients are kept. */
export function policyRoutes({ store, pages, policy, cimdConfigured }: Deps): Handlers {
  const handlers = new HandlerSet();

  /** The form as the person last saw it: saved settings, or what they typed when it was refused. */
  interface FormValues {
    dcr: boolean;
    cimd: boolean;
    redirectHosts: string;
    cimdDomains: string;
    retentionDays: string;
  }

  const valuesOf = (settings: RegistrationPolicySettings): FormValues => ({
    dcr: settings.dcr,
    cimd: settings.cimd,
    redirectHosts: settings.redirectHosts.join('\n'),
    cimdDomains: settings.cimdDomains.join('\n'),
    retentionDays: String(settings.staleClientRetentionDays),
  });

  async function render(ctx: Context, values: FormValues, error?: string, status = 200) {
    const saved = await policy.settings();
    const days = saved.staleClientRetentionDays;
    pages.render(
      ctx,
      'policy',
      'policy',
      {
        title: 'Registration policy',
        values,
        error,
        cimdConfigured,
        retentionDays: days,
        staleCount: days > 0 ? await countStaleClients(store, Date.now() - days * 86_400_000) : 0,
      },
      status,
    );
  }

  handlers.get('admin.policy', async (ctx) => render(ctx, valuesOf(await policy.settings())));

  handlers.post('admin.policy', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    let next: RegistrationPolicySettings;
    try {
      next = parsePolicy(form);
    } catch (error) {
      if (!(error instanceof PolicyInputError)) throw error;
      const typed = { redirectHosts: form.redirect_hosts ?? '', cimdDomains: form.cimd_domains ?? '', retentionDays: form.retention_days ?? '' };
      return render(ctx, { dcr: form.dcr === 'on', cimd: form.cimd === 'on', ...typed }, error.message, 400);
    }
    const before = await policy.settings();
    await policy.update(next);
    await audit(store, { event: 'policy.changed', actor: (ctx.state.signedIn as SignedIn).user.id, ip: ctx.ip, detail: { before, after: next } });
    await pages.done(ctx, '/admin/policy', 'Saved. Every instance applies the new policy within a second.');
  });

  return handlers.all;
}
