/**
 * A small taskcluster-proxy: whoever can reach it (the one service in its network namespace, on
 * loopback) calls `http://taskcluster:<port>/api/<service>/<version>/<path>` unauthenticated, and the proxy forwards the
 * call to `<rootUrl>/api/<service>/<version>/<path>` signed with its credentials, restricted to the
 * authorized scopes it was started with. Those scopes are fixed for the life of the process;
 * `PUT /credentials` swaps only the credentials, so a caller can break the proxy but never widen it.
 *
 * Nothing here logs a header, a body or a credential: log lines carry method, path and status.
 */
import http from 'node:http';
import https from 'node:https';
import { parseCredentialsBody, ProxyUsageError, type ProxyCredentials } from './args.js';
import { makeSigner, type Signer } from './signer.js';

export interface ProxyServerOptions {
  rootUrl: string;
  scopes: readonly string[];
  credentials: ProxyCredentials;
  log?: (line: string) => void;
  /** Deadline of one upstream call. */
  upstreamTimeoutMs?: number;
}

export interface ProxyServer {
  server: http.Server;
  /** The credentials now in use have this client id (never the token). */
  clientId(): string;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'content-length',
]);

const MAX_CREDENTIALS_BODY = 64 * 1024;

export function createProxyServer(options: ProxyServerOptions): ProxyServer {
  const log = options.log ?? (() => {});
  const scopes = [...options.scopes];
  if (scopes.length === 0) throw new ProxyUsageError('a proxy needs at least one authorized scope');
  const rootUrl = options.rootUrl.replace(/\/+$/, '');
  let signer: Signer = makeSigner(options.credentials, scopes);

  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    const done = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(body);
      log(`${req.method} ${pathOnly(path)} ${status}`);
    };

    if (pathOnly(path) === '/__ready') {
      // Not logged: the image's health check asks every second.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ok\n');
      return;
    }

    if (pathOnly(path) === '/credentials') {
      if (req.method !== 'PUT') {
        done(405, 'only PUT\n', { allow: 'PUT' });
        return;
      }
      readBody(req, MAX_CREDENTIALS_BODY)
        .then((text) => {
          let next: Signer;
          try {
            next = makeSigner(parseCredentialsBody(JSON.parse(text)), scopes);
          } catch (error) {
            // Only our own messages go back: JSON.parse's could quote the body.
            done(400, error instanceof ProxyUsageError ? `${error.message}\n` : 'body is not valid JSON\n');
            return;
          }
          signer = next;
          done(200, 'credentials replaced\n');
        })
        .catch(() => done(400, 'could not read the body\n'));
      return;
    }

    const target = upstreamUrl(rootUrl, path);
    if (!target) {
      done(404, 'Unknown taskcluster service: use /api/<service>/<version>/<path>\n');
      return;
    }
    forward(req, res, target, signer, scopes, options.upstreamTimeoutMs ?? 60_000, (status) =>
      log(`${req.method} ${pathOnly(path)} -> ${status}`),
    );
  });

  return { server, clientId: () => signer.clientId };
}

/**
 * `/api/<service>/<version>/<rest>` and the legacy `/<service>/<version>/<rest>` map to
 * `<rootUrl>/api/<service>/<version>/<rest>`. taskcluster-proxy also signs for `/<hostname>/…`
 * (any host with a dot); that hands signatures to arbitrary hosts, so it is not offered here.
 */
export function upstreamUrl(rootUrl: string, requestPath: string): string | undefined {
  const queryAt = requestPath.indexOf('?');
  const path = queryAt < 0 ? requestPath : requestPath.slice(0, queryAt);
  const query = queryAt < 0 ? '' : requestPath.slice(queryAt);
  const segments = path.split('/').slice(1);
  const rest = segments[0] === 'api' ? segments.slice(1) : segments;
  const [service, version] = rest;
  if (!service || !version || !/^[a-z][a-z0-9-]*$/i.test(service) || !/^v\d+$/.test(version))
    return undefined;
  return `${rootUrl}/api/${rest.join('/')}${query}`;
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: string,
  signer: Signer,
  scopes: readonly string[],
  timeoutMs: number,
  logged: (status: number | string) => void,
): void {
  const method = req.method ?? 'GET';
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
  }
  if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
  headers.authorization = signer.authorization(target, method);

  const url = new URL(target);
  const request = (url.protocol === 'https:' ? https : http).request(
    url,
    { method, headers, timeout: timeoutMs },
    (upstream) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(upstream.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
      }
      if (upstream.headers['content-length'] !== undefined)
        out['content-length'] = upstream.headers['content-length'];
      // taskcluster-proxy's debug headers: who signed and what it was restricted to (never the token).
      out[signer.temporary ? 'x-taskcluster-proxy-temp-clientid' : 'x-taskcluster-proxy-perm-clientid'] =
        signer.clientId;
      out['x-taskcluster-authorized-scopes'] = JSON.stringify(scopes);
      out['x-taskcluster-endpoint'] = target;
      res.writeHead(upstream.statusCode ?? 502, out);
      upstream.pipe(res);
      logged(upstream.statusCode ?? 502);
    },
  );
  request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  request.on('error', (error) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`taskcluster-proxy: upstream ${url.host} failed: ${error.message}\n`);
    } else {
      res.destroy();
    }
    logged(`502 (${error.message})`);
  });
  req.pipe(request);
}

function pathOnly(path: string): string {
  const at = path.indexOf('?');
  return at < 0 ? path : path.slice(0, at);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
