import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { freePort } from './server.ts';

/**
 * A loopback https server that serves Client ID Metadata Documents, with a
 * certificate of its own. Gatehouse fetches them only when started (as its own
 * process) with `cimdEnv(host)`: the test-only CIMD_ALLOW_PRIVATE_ADDRESSES=on
 * (oidc-provider's SSRF guard would rightly refuse a loopback address) and
 * NODE_EXTRA_CA_CERTS naming this server's certificate.
 */
export interface CimdHost {
  origin: string;
  caFile: string;
  /** Paths Gatehouse fetched, in order. */
  fetched: string[];
  /** Serves a document at `path`; returns its URL, which is the client_id. `client_id` is filled in. */
  publish(path: string, document: Record<string, unknown>): string;
  close(): Promise<void>;
}

export async function startCimdHost(): Promise<CimdHost> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    days: 1,
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  } as never);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cimd-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pems.cert);
  const port = await freePort();
  const origin = `https://localhost:${port}`;
  const documents = new Map<string, Record<string, unknown>>();
  const fetched: string[] = [];
  const server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const path = req.url ?? '';
    fetched.push(path);
    const document = documents.get(path);
    if (!document) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin,
    caFile,
    fetched,
    publish(path, document) {
      const clientId = `${origin}${path}`;
      documents.set(path, { ...document, client_id: clientId });
      return clientId;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The environment a Gatehouse process needs to fetch documents from this host. */
export const cimdEnv = (host: CimdHost) => ({ CIMD_ALLOW_PRIVATE_ADDRESSES: 'on', NODE_EXTRA_CA_CERTS: host.caFile });

/** A public client's document, as Claude Code or VS Code would publish one. */
export const publicClientDocument = (name: string, redirectUris: string[]) => ({
  client_name: name,
  redirect_uris: redirectUris,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
});
