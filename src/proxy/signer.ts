/**
 * Hawk signing exactly as taskcluster-client signs its own calls: the `ext` (certificate and
 * authorizedScopes) is the one a taskcluster-client `Client` builds from the same options (its
 * constructor's rule, restated here; test/proxy/server.test.ts compares the two byte for byte), and
 * the header comes from the very `hawk` module taskcluster-client uses.
 *
 * Neither module is imported at start-up: loading taskcluster-client (got, lodash, its API
 * references) took ~0.4 s and ~35 MB of RSS per proxy on this machine before the proxy could answer
 * its health check, and most services never call Taskcluster. `hawk` is loaded on the first signed
 * request (~70 ms, ~9 MB), from taskcluster-client's own dependency tree.
 */
import { createRequire } from 'node:module';
import type { ProxyCredentials } from './args.js';

interface HawkClient {
  header(
    uri: string,
    method: string,
    options: { credentials: { id: string; key: string; algorithm: 'sha256' }; ext?: string },
  ): { header: string };
}

let hawkClient: HawkClient | undefined;

function hawk(): HawkClient {
  if (!hawkClient) {
    const requireHere = createRequire(import.meta.url);
    // Resolving a path loads nothing: only `hawk` itself is evaluated.
    const taskclusterClient = requireHere.resolve('taskcluster-client');
    hawkClient = (createRequire(taskclusterClient)('hawk') as { client: HawkClient }).client;
  }
  return hawkClient;
}

/**
 * The base64 `ext` taskcluster-client attaches for these credentials and authorized scopes: a
 * JSON object with the certificate (parsed when given as a string) first, then authorizedScopes.
 * Throws when the certificate is not JSON, as taskcluster-client does, so a proxy with a broken
 * certificate fails at start (or its `PUT /credentials` is refused), not on its first request.
 */
export function hawkExt(credentials: ProxyCredentials, authorizedScopes: readonly string[]): string {
  const certificate = credentials.certificate
    ? { certificate: parseCertificate(credentials.certificate) }
    : {};
  return Buffer.from(JSON.stringify({ ...certificate, authorizedScopes: [...authorizedScopes] })).toString(
    'base64',
  );
}

function parseCertificate(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // taskcluster-client's message; JSON.parse's own could quote the certificate.
    throw new Error('JSON.parse(): Failed for configured certificate');
  }
}

export interface Signer {
  /** The `Authorization` header for one request. */
  authorization(url: string, method: string): string;
  readonly clientId: string;
  readonly temporary: boolean;
}

export function makeSigner(credentials: ProxyCredentials, authorizedScopes: readonly string[]): Signer {
  const ext = hawkExt(credentials, authorizedScopes);
  return {
    clientId: credentials.clientId,
    temporary: credentials.certificate !== undefined,
    authorization: (url, method) =>
      hawk().header(url, method.toUpperCase(), {
        credentials: { id: credentials.clientId, key: credentials.accessToken, algorithm: 'sha256' },
        ext,
      }).header,
  };
}
