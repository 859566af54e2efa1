/**
 * A pull of an image the registry does not have fails terminally on the real engine, in one
 * attempt and within seconds, whatever words this dockerd uses for it; an unreachable or failing
 * registry stays retryable. The registry is a stand-in on 127.0.0.1 (dockerd treats 127.0.0.0/8 as
 * an insecure registry and pulls over http), so the engine must share this machine's loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { executeAction } from '../../src/actions/execute.js';
import type { PullImage } from '../../src/reconciler/actions.js';
import { RetryableError, TerminalError } from '../../src/reconciler/errors.js';
import { testDocker } from '../support/docker.js';

const docker = testDocker();

/** Answers by the first path component of the repository: each a registry's way of saying no. */
function registry(req: IncomingMessage, res: ServerResponse): void {
  const headers = { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' };
  const refuse = (status: number, code: string, message: string): void =>
    void res.writeHead(status, headers).end(JSON.stringify({ errors: [{ code, message }] }));
  if (req.url === '/v2/') return void res.writeHead(200, headers).end('{}');
  const scenario = /^\/v2\/([^/]+)\/.+\/manifests\//.exec(req.url ?? '')?.[1];
  switch (scenario) {
    case 'manifest-unknown':
      return refuse(404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    case 'name-unknown':
      return refuse(404, 'NAME_UNKNOWN', 'repository name not known to registry');
    case 'denied':
      return refuse(403, 'DENIED', 'requested access to the resource is denied');
    case 'other-platform': {
      const list = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [
          {
            mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
            size: 1,
            digest: `sha256:${'a'.repeat(64)}`,
            platform: { architecture: 's390x', os: 'linux' },
          },
        ],
      });
      res.writeHead(200, {
        ...headers,
        'Content-Type': 'application/vnd.docker.distribution.manifest.list.v2+json',
      });
      return void res.end(req.method === 'HEAD' ? undefined : list);
    }
    case 'unavailable':
      return void res.writeHead(503).end('Service Unavailable');
    default:
      return refuse(404, 'NOT_FOUND', 'no route');
  }
}

let server: Server;
let host: string;

beforeAll(async () => {
  server = createServer(registry);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const pull = (image: string): PullImage => ({
  kind: 'pull-image',
  id: `pull-image:${image}`,
  target: { type: 'image', name: image },
  cause: 'not present locally',
  dependsOn: [],
  image,
});

async function pullFailure(image: string): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await executeAction(pull(image), { docker, credentials: async () => ({}) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

describe('pull-image on the engine', () => {
  it.each(['manifest-unknown', 'name-unknown', 'other-platform'])(
    'a registry that answers %s: terminal (image-not-found) within seconds',
    async (scenario) => {
      const image = `${host}/${scenario}/nothing:latest`;
      const { error, ms } = await pullFailure(image);
      expect(error).toBeInstanceOf(TerminalError);
      expect(error).toMatchObject({ code: 'image-not-found', message: expect.stringContaining(image) });
      expect(ms).toBeLessThan(10_000);
    },
  );

  // A bare "denied" is a refusal of this worker (a registry may also hide a repository that way):
  // the fix is a login in the worker configuration, so the error names the registry and says so.
  it('a registry that answers denied: terminal (image-pull-unauthorized, naming the registry) within seconds', async () => {
    const image = `${host}/denied/nothing:latest`;
    const { error, ms } = await pullFailure(image);
    expect(error).toBeInstanceOf(TerminalError);
    expect(error).toMatchObject({
      code: 'image-pull-unauthorized',
      message: expect.stringContaining(
        `registry ${host} refused to let this worker pull ${image} (no login is configured for it)`,
      ),
    });
    expect(ms).toBeLessThan(10_000);
  });

  it('a registry that answers 503, or refuses connections: retryable', async () => {
    expect((await pullFailure(`${host}/unavailable/nothing:latest`)).error).toBeInstanceOf(RetryableError);
    expect((await pullFailure('127.0.0.1:1/nothing:latest')).error).toBeInstanceOf(RetryableError);
  });
});
