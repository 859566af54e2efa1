/**
 * Hawk signing exactly as taskcluster-client signs its own calls: the `ext` (certificate and
 * authorizedScopes) is the one a taskcluster-client `Client` builds from the same options, and the
 * header comes from the very `hawk` module taskcluster-client uses. The client has no public
 * "sign this arbitrary request" call, so this facade reaches for its `_extData` and checks it.
 */
import { createRequire } from 'node:module';
import taskcluster from 'taskcluster-client';
import type { ProxyCredentials } from './args.js';

interface HawkClient {
  header(
    uri: string,
    method: string,
    options: { credentials: { id: string; key: string; algorithm: 'sha256' }; ext?: string },
  ): { header: string };
}

const requireHere = createRequire(import.meta.url);
const hawk = createRequire(requireHere.resolve('taskcluster-client'))('hawk') as { client: HawkClient };

// A client class with no API methods: only its constructor's credential handling is used.
const SigningClient = taskcluster.createClient(
  { serviceName: 'proxy', apiVersion: 'v1', entries: [] },
  'TaskclusterProxy',
) as new (options: object) => { _extData?: unknown };

/** The base64 `ext` taskcluster-client attaches for these credentials and authorized scopes. */
export function hawkExt(credentials: ProxyCredentials, authorizedScopes: readonly string[]): string {
  const client = new SigningClient({
    rootUrl: 'http://taskcluster',
    credentials: credentials.certificate
      ? {
          clientId: credentials.clientId,
          accessToken: credentials.accessToken,
          certificate: credentials.certificate,
        }
      : { clientId: credentials.clientId, accessToken: credentials.accessToken },
    authorizedScopes: [...authorizedScopes],
  });
  const ext = client._extData;
  if (typeof ext !== 'string' || ext === '')
    throw new Error(
      'taskcluster-client built no Hawk ext for these credentials (has its internal API changed?)',
    );
  return ext;
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
      hawk.client.header(url, method.toUpperCase(), {
        credentials: { id: credentials.clientId, key: credentials.accessToken, algorithm: 'sha256' },
        ext,
      }).header,
  };
}
