/**
 * taskcluster-proxy's command line, as far as a service proxy needs it:
 *   [--ip-address <address>] [--port <n>] --root-url=<url> <scope>...
 * The same flags as the Go binary (generic-worker starts it with `--ip-address 127.0.0.1`); without
 * `--ip-address` it listens on every interface, as that binary does.
 * Credentials never come from the command line (visible in `ps` and `docker inspect`): only from
 * the environment and `PUT /credentials`.
 */
import { isIP } from 'node:net';
import { validScope } from 'taskcluster-lib-scopes';

export interface ProxyArgs {
  rootUrl: string;
  /** The address to listen on; undefined: every interface. */
  host: string | undefined;
  port: number;
  /** The authorized scopes every request is restricted to; never empty. */
  scopes: string[];
}

export interface ProxyCredentials {
  clientId: string;
  accessToken: string;
  /** The certificate of temporary credentials, as the JSON text Taskcluster hands out. */
  certificate?: string;
}

/** A command line or environment the proxy refuses to start with; the message says how to fix it. */
export class ProxyUsageError extends Error {
  override readonly name = 'ProxyUsageError';
}

const USAGE = 'usage: proxy [--ip-address <address>] [--port <port>] --root-url=<rootUrl> <scope>...';

export function parseProxyArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ProxyArgs {
  let rootUrl = env.TASKCLUSTER_ROOT_URL;
  let port = 80;
  let host: string | undefined;
  const scopes: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg) : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new ProxyUsageError(`${flag} needs a value; ${USAGE}`);
      return next;
    };
    if (flag === '--root-url') rootUrl = value();
    else if (flag === '--port' || flag === '-p') port = parsePort(value());
    else if (flag === '--ip-address' || flag === '-i') host = parseAddress(value());
    else if (flag.startsWith('-'))
      // taskcluster-proxy (docopt) aborts on an unknown flag too: a typo must not become a scope.
      throw new ProxyUsageError(`unknown option ${flag}; ${USAGE}`);
    else scopes.push(arg);
  }
  if (!rootUrl) throw new ProxyUsageError(`--root-url is required; ${USAGE}`);
  let parsed: URL;
  try {
    parsed = new URL(rootUrl);
  } catch {
    throw new ProxyUsageError(`--root-url ${JSON.stringify(rootUrl)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ProxyUsageError(`--root-url must be http(s), got ${parsed.protocol}`);
  if (scopes.length === 0)
    // Without scopes taskcluster-proxy applies no restriction at all: every request would carry the
    // full scopes of the credentials it holds.
    throw new ProxyUsageError(
      `at least one scope is required (a proxy without one would authorize everything); ${USAGE}`,
    );
  for (const scope of scopes) {
    if (!validScope(scope)) throw new ProxyUsageError(`${JSON.stringify(scope)} is not a valid scope`);
  }
  return { rootUrl: rootUrl.replace(/\/+$/, ''), host, port, scopes };
}

/** Reads the credentials from taskcluster-proxy's environment variables; both id and token are required. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): ProxyCredentials {
  const clientId = env.TASKCLUSTER_CLIENT_ID;
  const accessToken = env.TASKCLUSTER_ACCESS_TOKEN;
  if (!clientId || !accessToken)
    throw new ProxyUsageError('TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN must be set');
  const certificate = env.TASKCLUSTER_CERTIFICATE;
  return certificate ? { clientId, accessToken, certificate } : { clientId, accessToken };
}

/** Validates a `PUT /credentials` body; the error never quotes the body (it holds a token). */
export function parseCredentialsBody(body: unknown): ProxyCredentials {
  const b = body as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null) throw new ProxyUsageError('body must be a JSON object');
  const { clientId, accessToken, certificate } = b;
  if (typeof clientId !== 'string' || clientId === '')
    throw new ProxyUsageError('clientId must be a non-empty string');
  if (typeof accessToken !== 'string' || accessToken === '')
    throw new ProxyUsageError('accessToken must be a non-empty string');
  if (certificate === undefined || certificate === null || certificate === '')
    return { clientId, accessToken };
  if (typeof certificate === 'object')
    return { clientId, accessToken, certificate: JSON.stringify(certificate) };
  if (typeof certificate !== 'string')
    throw new ProxyUsageError('certificate must be a JSON string or object');
  try {
    JSON.parse(certificate);
  } catch {
    throw new ProxyUsageError('certificate is not valid JSON');
  }
  return { clientId, accessToken, certificate };
}

function splitOnce(arg: string): [string, string] {
  const at = arg.indexOf('=');
  return [arg.slice(0, at), arg.slice(at + 1)];
}

function parseAddress(text: string): string {
  // An IP literal only: a name would be resolved, and could resolve to an address off loopback.
  if (isIP(text) === 0)
    throw new ProxyUsageError(`--ip-address ${JSON.stringify(text)} is not an IP address`);
  return text;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ProxyUsageError(`bad port ${text}`);
  return port;
}
