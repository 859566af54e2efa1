/**
 * An engine out of address pools. On a dockerd of the test's own whose pool holds one network (the
 * shared one has room for 256), already taken by someone else's network: a task needs one network
 * (its services share it, each in its proxy's namespace), so its start fails at once with
 * `network-pool-exhausted`, the message names `default-address-pools`, and nothing of the task is
 * left. Without that answer the create was retried (dockerd 20.10 says 404) until the startup
 * timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import { ServiceStartError } from '../../src/library/errors.js';
import { ServiceManager } from '../../src/library/manager.js';
import { loadImage, startPrivateDockerd, type PrivateDockerd } from '../observed-state/private-dockerd.js';
import { IMAGES, testOwnerId } from '../support/docker.js';

let daemon: PrivateDockerd | undefined;

beforeAll(async () => {
  daemon = await startPrivateDockerd({ addressPool: `base=10.235.${randomBytes(1)[0]}.0/28,size=28` });
  await loadImage(daemon, IMAGES.busybox);
  // The pool's one network, taken by another user of the engine.
  await daemon.cli('network', 'create', 'someone-elses');
}, 120_000);

afterAll(async () => {
  await daemon?.destroy();
}, 60_000);

describe('address pool exhausted', () => {
  it('fails the start at once with network-pool-exhausted, naming default-address-pools; nothing left', async () => {
    const d = daemon!;
    const startupTimeoutMs = 120_000;
    const manager = new ServiceManager({
      docker: d.api,
      config: defaultWorkerConfig({
        ownerId: testOwnerId('address-pool'),
        provisionerId: 'prov',
        workerType: 'wt',
        rootUrl: 'https://tc.example.com',
        // Never started: no container can have its network.
        proxy: { image: IMAGES.busybox },
        startupTimeoutMs,
        images: { pullPolicy: 'if-not-present' },
      }),
      credentials: { clientId: 'test/worker', accessToken: 'test-access-token-not-real-0123456789' },
    });
    const sleeper = (name: string) => ({ name, image: IMAGES.busybox, command: ['sleep', '600'] });
    const started = Date.now();
    const error = await manager
      .start({
        taskId: randomBytes(16).toString('base64url'),
        runId: 0,
        payload: { services: [sleeper('db'), sleeper('cache')] },
        scopes: [],
        deadline: new Date(Date.now() + 3_600_000),
      })
      .catch((e: unknown) => e);
    const tookMs = Date.now() - started;
    expect(error).toBeInstanceOf(ServiceStartError);
    expect((error as ServiceStartError).reason).toMatchObject({
      kind: 'network-pool-exhausted',
      network: expect.stringMatching(/^ds-/),
    });
    expect((error as Error).message).toContain('default-address-pools');
    // "At once": not retried until the startup timeout (the measured time goes to the log).
    console.log(`network-pool-exhausted after ${tookMs} ms`);
    expect(tookMs).toBeLessThan(startupTimeoutMs);
    const owner = `${Label.owner}=${testOwnerId('address-pool')}`;
    expect(await d.api.listNetworks({ label: [owner] })).toEqual([]);
    expect(await d.api.listContainers({ label: [owner] })).toEqual([]);
  }, 180_000);
});
