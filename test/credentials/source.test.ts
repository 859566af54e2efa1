import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { ContainerNode } from '../../src/desired-state/types.js';
import { CredentialsPushError, CredentialsSource } from '../../src/credentials/source.js';
import { credentialsFromEnv } from '../../src/proxy/args.js';
import { createProxyServer } from '../../src/proxy/server.js';
import { close, listen, startUpstream, type RunningUpstream, type Seen } from '../proxy/fake-upstream.js';

const ROLE = 'assume:docker-service-image:prov/wt/sha256:' + 'd'.repeat(64);
const FIRST = { clientId: 'static/first', accessToken: 'first-token-SECRET' };
const SECOND = { clientId: 'static/second', accessToken: 'second-token-SECRET' };
const DEADLINE = new Date(Date.now() + 3_600_000);

function proxyNode(cmd: string[] | undefined): ContainerNode {
  return {
    kind: 'container',
    id: 'container/proxy/db',
    name: 'ds-t-0_db_proxy',
    role: 'proxy',
    service: 'db',
    image: 'docker-services/proxy:latest',
    cmd,
    env: {},
    limits: { memoryBytes: 1, pidsLimit: 1, logMaxBytes: 1 },
    networks: [],
    dependsOn: [],
    needsCredentials: true,
    labels: {},
    specHash: 'x',
  };
}

let upstream: RunningUpstream;
beforeAll(async () => {
  upstream = await startUpstream({
    [FIRST.clientId]: { accessToken: FIRST.accessToken, scopes: ['assume:docker-service-image:*'] },
    [SECOND.clientId]: { accessToken: SECOND.accessToken, scopes: ['assume:docker-service-image:prov/*'] },
  });
});
afterAll(() => upstream.close());

/** What the library's exec does inside a proxy's container, done here over HTTP to a local one. */
async function putOverHttp(url: string, body: string): Promise<number> {
  const res = await fetch(`${url}/credentials`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

describe('CredentialsSource', () => {
  it('gives a proxy container the env for the role scope in its Cmd, and refuses a Cmd without one', async () => {
    const source = new CredentialsSource({ workerCredentials: FIRST, deadline: DEADLINE });
    const env = await source.credentials(proxyNode(['--root-url=http://tc', ROLE]));
    expect(JSON.parse(env.TASKCLUSTER_CERTIFICATE as string).scopes).toEqual([ROLE]);
    await expect(source.credentials(proxyNode(['--root-url=http://tc']))).rejects.toThrow(/exactly one/);
    expect(source.redact(`x ${env.TASKCLUSTER_ACCESS_TOKEN} ${FIRST.accessToken}`)).toBe(
      'x [redacted] [redacted]',
    );
  });

  it('pushes rotated credentials to a live proxy: the next request is signed with the new ones', async () => {
    const source = new CredentialsSource({ workerCredentials: FIRST, deadline: DEADLINE });
    const env = await source.credentials(proxyNode(['--root-url=http://tc', ROLE]));
    const proxy = createProxyServer({
      rootUrl: upstream.url,
      scopes: [ROLE],
      credentials: credentialsFromEnv(env),
    });
    const url = await listen(proxy.server);
    try {
      const before = (await (await fetch(`${url}/api/queue/v1/ping`)).json()) as Seen;
      expect(before).toMatchObject({ valid: true, clientId: FIRST.clientId, certificateScopes: [ROLE] });

      const pushed = await source.updateCredentials(SECOND, [
        { name: 'db_proxy', roleScope: ROLE, put: (body) => putOverHttp(url, body) },
      ]);
      expect(pushed).toEqual([{ proxy: 'db_proxy', attempts: 1 }]);

      const after = (await (await fetch(`${url}/api/queue/v1/ping`)).json()) as Seen;
      expect(after).toMatchObject({
        valid: true,
        clientId: SECOND.clientId,
        certificateScopes: [ROLE],
        authorizedScopes: [ROLE],
      });
      // A proxy created after the rotation gets the new credentials too.
      const later = await source.credentials(proxyNode(['--root-url=http://tc', ROLE]));
      expect(later.TASKCLUSTER_CLIENT_ID).toBe(SECOND.clientId);
    } finally {
      await close(proxy.server);
    }
  });

  it('gives up on an unreachable proxy after bounded retries, without quoting a secret', async () => {
    const source = new CredentialsSource({
      workerCredentials: FIRST,
      deadline: DEADLINE,
      pushAttempts: 3,
      retryDelayMs: 5,
      pushTimeoutMs: 1_000,
    });
    // A port that was just free: nothing listens, the connection is refused at once.
    const probe = createServer();
    const port = Number(new URL(await listen(probe)).port);
    await close(probe);
    let tries = 0;
    const put = (body: string) => {
      tries++;
      return putOverHttp(`http://127.0.0.1:${port}`, body);
    };
    const error = await source.updateCredentials(SECOND, [{ name: 'db_proxy', roleScope: ROLE, put }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CredentialsPushError);
    expect((error as CredentialsPushError).failed).toEqual([
      { proxy: 'db_proxy', reason: expect.stringMatching(/ECONNREFUSED/) },
    ]);
    expect(tries).toBe(3);
    expect((error as Error).message).not.toContain('SECRET');
  });
});
