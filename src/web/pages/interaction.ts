import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults } from 'oidc-provider';
import { audit } from '../../data/audit-log.ts';
import { readForm } from '../body.ts';
import type { Csrf } from '../csrf.ts';
import type { Handlers } from '../handlers.ts';
import { sendMessage, sendView } from '../views.ts';
import type { Store } from '../../data/engines/store.ts';
import { findUserById } from '../../domain/accounts.ts';
import { refusalMessage, type PasswordSignIn } from '../../domain/sign-in.ts';
import { rememberConsent } from '../../data/remembered-consents.ts';
import { describeScope, RESOURCE_SCOPE_NAMES } from '../../domain/scopes.ts';
import type { IdentityProviders } from '../../domain/identity-providers.ts';

interface Deps {
  provider: Provider;
  store: Store;
  csrf: Csrf;
  signIn: PasswordSignIn;
  identityProviders: IdentityProviders;
  /** PASSWORD_LOGIN: off hides the password form and refuses what is posted to it. */
  passwordLogin: boolean;
}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

const OIDC_SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Confirm who you are',
  email: 'See your email address',
  profile: 'See your name',
};

/**
 * The pages a person sees during an authorization: sign in, then allow or deny.
 * Each POST carries a CSRF token bound to the interaction, and oidc-provider
 * only finds the interaction when this browser holds its cookie, so a page on
 * another site can neither submit these forms nor complete someone's flow.
 */
export function interactionHandlers({ provider, store, csrf, signIn, identityProviders, passwordLogin }: Deps): Handlers {

  async function details(ctx: Context, uid: string): Promise<Interaction | undefined> {
    try {
      const interaction = await provider.interactionDetails(ctx.req, ctx.res);
      if (interaction.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
      return interaction;
    } catch (error) {
      if (error instanceof errors.SessionNotFound || error instanceof errors.InvalidRequest) {
        sendMessage(ctx, 400, 'This sign-in has expired', 'Go back to the app you were connecting and start again.');
        return undefined;
      }
      throw error;
    }
  }

  async function clientOf(interaction: Interaction) {
    const client = await provider.Client.find(String(interaction.params.client_id));
    if (!client) throw new errors.InvalidClient('client not found');
    return client;
  }

  async function finish(ctx: Context, result: InteractionResults): Promise<void> {
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  async function renderLogin(ctx: Context, interaction: Interaction, clientName: string, extra: { error?: string; email?: string } = {}, status = 200) {
    const companies = (await identityProviders.list()).map((company) => ({ name: company.name, href: `/interaction/${interaction.uid}/sso/${company.id}` }));
    sendView(
      ctx,
      'login',
      {
        clientName,
        companies,
        passwordLogin,
        action: `/interaction/${interaction.uid}/login`,
        abortAction: `/interaction/${interaction.uid}/abort`,
        csrf: csrf.token(interaction.uid),
        ...extra,
      },
      status,
    );
  }

  async function renderConsent(ctx: Context, interaction: Interaction) {
    const client = await clientOf(interaction);
    const user = await findUserById(store, String(interaction.session?.accountId));
    if (!user) return sendMessage(ctx, 400, 'This sign-in has expired', 'Go back to the app you were connecting and start again.');
    const requested = String(interaction.params.scope ?? '').split(' ').filter(Boolean);
    const scopes = [
      ...requested.filter((scope) => scope in OIDC_SCOPE_DESCRIPTIONS).map((name) => ({ name, description: OIDC_SCOPE_DESCRIPTIONS[name] })),
      ...requested.filter((scope) => (RESOURCE_SCOPE_NAMES as string[]).includes(scope)).map((name) => ({ name, description: describeScope(name) })),
    ];
    const redirectUri = URL.parse(String(interaction.params.redirect_uri));
    sendView(ctx, 'consent', {
      clientName: client.clientName || client.clientId,
      verified: false,
      redirectHost: redirectUri ? (redirectUri.host || `${redirectUri.protocol}//`) : String(interaction.params.redirect_uri),
      userEmail: user.email,
      // Consent is per client and per resource: /mcp, or one upstream behind the gateway.
      resource: [interaction.params.resource ?? `${provider.issuer}/mcp`].flat().map(String).join(', '),
      scopes,
      action: `/interaction/${interaction.uid}/consent`,
      csrf: csrf.token(interaction.uid),
    });
  }

  async function show(ctx: Context, { uid }: Record<string, string>) {
    const interaction = await details(ctx, uid!);
    if (!interaction) return;
    if (interaction.prompt.name === 'login') {
      const client = await clientOf(interaction);
      return renderLogin(ctx, interaction, client.clientName || client.clientId, { email: String(interaction.params.login_hint ?? '') });
    }
    return renderConsent(ctx, interaction);
  }

  /** Reads the form, checks the CSRF token and that the browser owns the interaction. */
  async function submission(ctx: Context, uid: string): Promise<{ interaction: Interaction; form: Record<string, string> } | undefined> {
    const form = await readForm(ctx);
    const interaction = await details(ctx, uid);
    if (!interaction) return undefined;
    if (!csrf.verify(interaction.uid, form.csrf)) {
      sendMessage(ctx, 403, 'This form has expired', 'Reload the page and try again.');
      return undefined;
    }
    return { interaction, form };
  }

  async function login(ctx: Context, { uid }: Record<string, string>) {
    const submitted = await submission(ctx, uid!);
    if (!submitted) return;
    const { interaction, form } = submitted;
    if (interaction.prompt.name !== 'login') return ctx.redirect(`/interaction/${interaction.uid}`);
    const client = await clientOf(interaction);
    const clientName = client.clientName || client.clientId;
    if (!passwordLogin) return renderLogin(ctx, interaction, clientName, { error: 'Signing in with a password is turned off here. Continue with your company account.' }, 403);
    const email = (form.email ?? '').trim();
    const result = await signIn.attempt({ email, password: form.password ?? '', ip: ctx.ip, via: { client: client.clientId } });
    if (!result.ok) {
      const refused = refusalMessage(result);
      if (refused.retryAfterSeconds) ctx.set('Retry-After', String(refused.retryAfterSeconds));
      return renderLogin(ctx, interaction, clientName, { error: refused.message, email }, refused.status);
    }
    await finish(ctx, { login: { accountId: result.user.id } });
  }

  async function consent(ctx: Context, { uid }: Record<string, string>) {
    const submitted = await submission(ctx, uid!);
    if (!submitted) return;
    const { interaction, form } = submitted;
    if (interaction.prompt.name !== 'consent') return ctx.redirect(`/interaction/${interaction.uid}`);
    const accountId = String(interaction.session?.accountId);
    const clientId = String(interaction.params.client_id);

    if (form.decision !== 'allow') {
      await audit(store, { event: 'consent.denied', actor: accountId, subject: clientId, ip: ctx.ip });
      return finish(ctx, { error: 'access_denied', error_description: 'The person declined to allow access' });
    }

    const grant = interaction.grantId
      ? ((await provider.Grant.find(interaction.grantId)) ?? new provider.Grant({ accountId, clientId }))
      : new provider.Grant({ accountId, clientId });
    const missing = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();

    const scope = String(interaction.params.scope ?? '');
    if (form.remember === 'yes') await rememberConsent(store, { userId: accountId, clientId, grantId, scope });
    await audit(store, { event: 'consent.granted', actor: accountId, subject: clientId, ip: ctx.ip, detail: { scope, remember: form.remember === 'yes', grant: grantId } });
    await finish(ctx, { consent: { grantId } });
  }

  async function abort(ctx: Context, { uid }: Record<string, string>) {
    const submitted = await submission(ctx, uid!);
    if (!submitted) return;
    await finish(ctx, { error: 'access_denied', error_description: 'The person cancelled the sign-in' });
  }

  return {
    interaction: { GET: show },
    'interaction.login': { POST: login },
    'interaction.consent': { POST: consent },
    'interaction.abort': { POST: abort },
  };
}
