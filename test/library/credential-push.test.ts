/**
 * Which of a task's containers the credential push reaches, and how a proxy's address and role
 * scope are found; the push itself (HTTP to each proxy) is the credentials source's, tested there.
 */
import { describe, expect, it } from '@jest/globals';
import type { CredentialsSource, LiveProxy } from '../../src/credentials/source.js';
import { serviceNetworkName } from '../../src/desired-state/names.js';
import type { DockerApi } from '../../src/docker/client.js';
import { proxyCredentialsFrom, pushCredentials } from '../../src/library/credential-push.js';
import { TerminalError } from '../../src/reconciler/errors.js';
import { desired, node, observed, snap } from './support/graph.js';

const ROLE = `assume:docker-service-image:prov/wt/sha256:${'a'.repeat(64)}`;
const CREDENTIALS = { clientId: 'worker', accessToken: 'rotated-token-0123456789' };

function endpoint(service: string, ipAddress: string) {
  return { [serviceNetworkName('T1', 0, service)]: { networkId: 'n', aliases: [], ipAddress } };
}

describe('pushCredentials', () => {
  it('reaches each running proxy on its service network, with the role scope from its command', async () => {
    const [db, dbProxy, cacheProxy, webProxy] = [
      node('db', 'service'),
      node('db', 'proxy'),
      node('cache', 'proxy'),
      node('web', 'proxy'),
    ];
    const pushed: LiveProxy[][] = [];
    const source = {
      updateCredentials: async (_credentials: unknown, proxies: LiveProxy[]) => {
        pushed.push(proxies);
        return proxies.map((p) => ({ ip: p.ip, attempts: 1 }));
      },
    } as unknown as CredentialsSource;
    const docker = {
      inspectContainer: async () => ({ Config: { Cmd: ['--root-url=https://tc', ROLE] } }),
    } as unknown as DockerApi;
    const snapshot = snap([
      observed(db, { networks: endpoint('db', '10.0.0.9') }),
      observed(dbProxy, { networks: endpoint('db', '10.0.0.2') }),
      // Not running: nothing to push to.
      observed(cacheProxy, { state: 'exited', networks: endpoint('cache', '10.0.1.2') }),
      // Not (yet) on its service network: no address to push to.
      observed(webProxy, { networks: {} }),
    ]);
    const results = await pushCredentials(
      { docker, desired: desired([db, dbProxy, cacheProxy, webProxy]), source, snapshot },
      CREDENTIALS,
    );
    expect(pushed).toEqual([[{ ip: '10.0.0.2', roleScope: ROLE }]]);
    expect(results).toEqual([{ ip: '10.0.0.2', attempts: 1 }]);
  });
});

describe('proxyCredentialsFrom', () => {
  it('refuses, terminally, to make a proxy when the manager has no worker credentials', async () => {
    const proxy = node('db', 'proxy');
    const error = await proxyCredentialsFrom(undefined)(proxy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalError);
    expect(error).toMatchObject({ code: 'bad-spec' });
  });
});
