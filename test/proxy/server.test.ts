import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import taskcluster from 'taskcluster-client';
import { createProxyServer, upstreamUrl, type ProxyServer } from '../../src/proxy/server.js';
import { hawkExt } from '../../src/proxy/signer.js';
import { close, listen, startUpstream, type RunningUpstream, type Seen } from './fake-upstream.js';

const SCOPE = 'assume:docker-service-image:prov/wt/sha256:' + 'b'.repeat(64);
const WORKER = { clientId: 'worker/p/w', accessToken: 'worker-token-SECRET-1' };
const OTHER = { clientId: 'worker/rotated', accessToken: 'worker-token-SECRET-2' };

let upstream: RunningUpstream;
const logs: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream({
    [WORKER.clientId]: { accessToken: WORKER.accessToken, scopes: ['assume:docker-service-image:prov/wt/*'] },
    [OTHER.clientId]: { accessToken: OTHER.accessToken, scopes: ['assume:docker-service-image:*'] },
  });
});
afterAll(async () => {
  await upstream.close();
  // Whatever the proxies logged during these tests holds no token.
  for (const line of logs) {
    expect(line).not.toContain('SECRET');
  }
});

async function withProxy<T>(
  credentials: { clientId: string; accessToken: string; certificate?: string },
  run: (url: string, proxy: ProxyServer) => Promise<T>,
): Promise<T> {
  const proxy = createProxyServer({
    rootUrl: upstream.url,
    scopes: [SCOPE],
    credentials,
    log: (l) => logs.push(l),
  });
  const url = await listen(proxy.server);
  try {
    return await run(url, proxy);
  } finally {
    await close(proxy.server);
  }
}

async function get(url: string): Promise<{ status: number; seen: Seen; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, seen: (await res.json()) as Seen, headers: res.headers };
}

describe('the proxy signs what it forwards', () => {
  it('with permanent credentials: a valid Hawk signature restricted to the authorized scopes', async () => {
    await withProxy(WORKER, async (url) => {
      const { status, seen, headers } = await get(`${url}/api/queue/v1/task/abc?x=1`);
      expect(seen).toMatchObject({
        valid: true,
        error: null,
        clientId: WORKER.clientId,
        certificateScopes: null,
        authorizedScopes: [SCOPE],
        scopes: [SCOPE],
        resource: '/api/queue/v1/task/abc?x=1',
        method: 'GET',
      });
      expect(status).toBe(200);
      expect(headers.get('x-taskcluster-proxy-perm-clientid')).toBe(WORKER.clientId);
      expect(headers.get('x-taskcluster-authorized-scopes')).toBe(JSON.stringify([SCOPE]));
    });
  });

  it('with temporary credentials: the certificate goes along in ext and its scopes are checked', async () => {
    const now = Date.now();
    const temporary = taskcluster.createTemporaryCredentials({
      start: new Date(now - 60_000),
      expiry: new Date(now + 3_600_000),
      scopes: [SCOPE],
      credentials: WORKER,
    });
    await withProxy(temporary, async (url) => {
      const { seen, headers } = await get(`${url}/api/secrets/v1/secret/x`);
      expect(seen).toMatchObject({
        valid: true,
        clientId: WORKER.clientId,
        certificateScopes: [SCOPE],
        authorizedScopes: [SCOPE],
      });
      expect(headers.get('x-taskcluster-proxy-temp-clientid')).toBe(WORKER.clientId);
    });
  });

  it('forwards POST bodies and the legacy /<service>/<version>/ form', async () => {
    await withProxy(WORKER, async (url) => {
      const res = await fetch(`${url}/queue/v1/task/abc`, { method: 'POST', body: JSON.stringify({ a: 1 }) });
      const seen = (await res.json()) as Seen;
      expect(seen).toMatchObject({ valid: true, method: 'POST', resource: '/api/queue/v1/task/abc' });
    });
  });

  it('the verifier can say no: a wrong token is rejected upstream', async () => {
    await withProxy({ clientId: WORKER.clientId, accessToken: 'wrong-SECRET' }, async (url) => {
      const { status, seen } = await get(`${url}/api/queue/v1/ping`);
      expect(status).toBe(401);
      expect(seen.valid).toBe(false);
      expect(seen.error).toMatch(/Bad mac/);
    });
  });

  it('the verifier can say no: authorized scopes the credentials do not hold', async () => {
    const proxy = createProxyServer({
      rootUrl: upstream.url,
      scopes: ['assume:docker-service-image:other/wt/x'],
      credentials: WORKER,
    });
    const url = await listen(proxy.server);
    try {
      const { seen } = await get(`${url}/api/queue/v1/ping`);
      expect(seen.valid).toBe(false);
      expect(seen.error).toMatch(/do not satisfy authorizedScopes/);
    } finally {
      await close(proxy.server);
    }
  });
});

describe('PUT /credentials', () => {
  it('replaces the credentials: the next request is signed with the new ones', async () => {
    await withProxy(WORKER, async (url, proxy) => {
      expect((await get(`${url}/api/queue/v1/ping`)).seen.clientId).toBe(WORKER.clientId);
      const put = await fetch(`${url}/credentials`, { method: 'PUT', body: JSON.stringify(OTHER) });
      expect(put.status).toBe(200);
      expect(proxy.clientId()).toBe(OTHER.clientId);
      const { seen } = await get(`${url}/api/queue/v1/ping`);
      expect(seen).toMatchObject({ valid: true, clientId: OTHER.clientId, authorizedScopes: [SCOPE] });
    });
  });

  it('refuses bad bodies and other methods, and keeps the old credentials', async () => {
    await withProxy(WORKER, async (url) => {
      const bad = await fetch(`${url}/credentials`, {
        method: 'PUT',
        body: '{"clientId": "x", "accessToken": SECRET',
      });
      expect(bad.status).toBe(400);
      expect(await bad.text()).not.toContain('SECRET');
      expect((await fetch(`${url}/credentials`, { method: 'PUT', body: '{"clientId":"x"}' })).status).toBe(
        400,
      );
      expect((await fetch(`${url}/credentials`)).status).toBe(405);
      expect((await get(`${url}/api/queue/v1/ping`)).seen).toMatchObject({
        valid: true,
        clientId: WORKER.clientId,
      });
    });
  });
});

describe('routes', () => {
  it('answers readiness and refuses what is not a Taskcluster API path', async () => {
    await withProxy(WORKER, async (url) => {
      expect((await fetch(`${url}/__ready`)).status).toBe(200);
      expect((await fetch(`${url}/`)).status).toBe(404);
      expect((await fetch(`${url}/evil.example.com/steal`)).status).toBe(404);
    });
    expect(upstreamUrl('http://tc', '/api/queue/v1/task/a?b=c')).toBe('http://tc/api/queue/v1/task/a?b=c');
    expect(upstreamUrl('http://tc', '/queue/v1/task/a')).toBe('http://tc/api/queue/v1/task/a');
    expect(upstreamUrl('http://tc', '/api/queue')).toBeUndefined();
    expect(upstreamUrl('http://tc', '/example.com/v1/x')).toBeUndefined();
  });

  it('refuses to be created without scopes', () => {
    expect(() => createProxyServer({ rootUrl: 'http://tc', scopes: [], credentials: WORKER })).toThrow(
      /scope/,
    );
  });
});

describe('hawkExt', () => {
  it('is the ext taskcluster-client builds: certificate (parsed) and authorizedScopes', () => {
    const decode = (ext: string): unknown => JSON.parse(Buffer.from(ext, 'base64').toString('utf8'));
    expect(decode(hawkExt(WORKER, [SCOPE]))).toEqual({ authorizedScopes: [SCOPE] });
    const cert = { version: 1, scopes: [SCOPE], start: 1, expiry: 2, seed: 's', signature: 'x' };
    expect(decode(hawkExt({ ...WORKER, certificate: JSON.stringify(cert) }, [SCOPE]))).toEqual({
      certificate: cert,
      authorizedScopes: [SCOPE],
    });
  });

  // The proxy builds the ext without loading taskcluster-client (start-up time and memory): it
  // must stay byte-identical to what a taskcluster-client Client sends for the same options.
  it.each([
    ['permanent credentials', WORKER],
    [
      'temporary credentials',
      {
        ...WORKER,
        certificate: JSON.stringify({
          version: 1,
          scopes: [SCOPE],
          start: 1,
          expiry: 2,
          seed: 's',
          signature: 'x',
        }),
      },
    ],
    ['a named certificate', { ...WORKER, certificate: '{"version":1,"issuer":"worker/p/w","seed":"s"}' }],
  ])('is byte for byte the ext of a taskcluster-client Client (%s)', (_, credentials) => {
    const Client = taskcluster.createClient(
      { serviceName: 'proxy', apiVersion: 'v1', entries: [] },
      'ExtCheck',
    ) as new (options: object) => { _extData?: unknown };
    const scopes = [SCOPE, 'queue:get-artifact:private/*'];
    const client = new Client({ rootUrl: 'http://taskcluster', credentials, authorizedScopes: scopes });
    expect(hawkExt(credentials, scopes)).toBe(client._extData);
  });

  it('refuses a certificate that is not JSON, without quoting it', () => {
    expect(() => hawkExt({ ...WORKER, certificate: '{SECRET' }, [SCOPE])).toThrow(
      /^JSON.parse\(\): Failed for configured certificate$/,
    );
  });
});
