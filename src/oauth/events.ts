import type Provider from 'oidc-provider';
import type { ClientIndex, ClientMetadata } from '../data/client-index.ts';
import { audit } from '../data/audit-log.ts';
import type { Store } from '../data/engines/store.ts';
import type { Access } from '../domain/access.ts';
import type { Logger } from '../ops/logging.ts';
import type { Metrics } from '../ops/metrics.ts';
import { finishBeforeAnswering } from '../web/middleware/settle.ts';

/**
 * What the authorization server does that the rest of Gatehouse must act on,
 * each through its owner: revocations through the Access use cases, the
 * client index, the audit log and the metrics. Work whose effect the client
 * may rely on in its next request (a deleted client's tokens being dead
 * everywhere) finishes before the answer leaves.
 */
export function followProvider(provider: Provider, deps: { store: Store; access: Access; clientIndex: ClientIndex; logger: Logger; metrics: Metrics }): void {
  const { store, access, clientIndex, logger, metrics } = deps;

  provider.on('registration_create.success', (ctx, client) => {
    logger.info({ client: client.clientId }, 'client registered');
    void clientIndex.record(client.metadata() as ClientMetadata, 'dcr').catch(clientIndex.failed('recording a registration'));
    void audit(store, { event: 'client.registered', actor: `client:${client.clientId}`, subject: client.clientId, ip: ctx.ip, detail: { name: client.clientName } });
  });
  // The event carries the client as it was before the update; the stored one is current.
  provider.on('registration_update.success', (ctx, client) => {
    void provider.Client.find(client.clientId)
      .then((updated) => updated && clientIndex.record(updated.metadata() as ClientMetadata, 'dcr'))
      .catch(clientIndex.failed('recording an update'));
    void audit(store, { event: 'client.updated', actor: `client:${client.clientId}`, subject: client.clientId, ip: ctx.ip });
  });
  // RFC 7592 deletion takes everything the client held with it, before the
  // answer leaves: a token of the deleted client is dead on every instance by then.
  provider.on('registration_delete.success', (ctx, client) => {
    clientIndex.forgetLocally(client.clientId);
    finishBeforeAnswering(ctx, access.clientDeletedItself(client.clientId).catch((error: unknown) => logger.error({ err: error }, 'revoking a deleted client failed')));
  });
  provider.on('grant.revoked', (ctx, grantId) =>
    finishBeforeAnswering(ctx, access.grantRevokedByProvider(grantId).catch((error: unknown) => logger.error({ err: error }, 'announcing a revoked grant failed'))),
  );

  const used = (ctx: { oidc?: { client?: { clientId: string } } }) => {
    const clientId = ctx.oidc?.client?.clientId;
    if (clientId) void clientIndex.touch(clientId).catch(clientIndex.failed('recording use'));
  };
  provider.on('grant.success', used);
  provider.on('authorization.success', used);

  provider.on('grant.success', (ctx) => metrics.tokenIssued(String(ctx.oidc.params?.grant_type ?? 'unknown')));
  provider.on('grant.error', (_ctx, error) => logger.info({ error: (error as { error?: string }).error }, 'token request refused'));
  provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'authorization server error'));
}
