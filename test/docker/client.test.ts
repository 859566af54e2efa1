/**
 * The client refuses an empty id or name before sending anything: dockerode would turn
 * `inspectNetwork('')` into `GET /networks/`, whose answer is the list of every network.
 */
import { describe, expect, it } from '@jest/globals';
import Docker from 'dockerode';
import { DockerApiError, dockerApi } from '../../src/docker/client.js';

// A socket that does not exist: a call that reached the network would fail with ENOENT instead.
const api = dockerApi(new Docker({ socketPath: '/nonexistent/docker.sock' }));

describe('dockerApi', () => {
  it.each([
    ['inspectNetwork', () => api.inspectNetwork('')],
    ['inspectContainer', () => api.inspectContainer('')],
    ['removeNetwork', () => api.removeNetwork('')],
    ['disconnectNetwork', () => api.disconnectNetwork('net', '')],
    ['connectNetwork', () => api.connectNetwork('', 'ctr', [])],
  ])('%s with an empty id is refused without a request', async (_name, run) => {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({ statusCode: 400, message: expect.stringContaining('empty id or name') });
  });

  it('a call with ids reaches the engine (here: the missing socket)', async () => {
    await expect(api.inspectNetwork('some-network')).rejects.toThrow(/ENOENT|connect/);
  });
});
