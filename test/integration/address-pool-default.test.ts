/**
 * How many tasks fit on a stock engine. A dockerd of the test's own with Docker's default address
 * pools (no `default-address-pools`, as on a stock host; pools that overlap a route of this host are
 * skipped, so the count depends on the host): first the number of networks it can give is measured
 * by making networks until it refuses; then 3-service tasks are started one after another, each
 * held up, until one fails. A task costs one network whatever its number of services, so as many
 * tasks fit as the engine has networks (the earlier topology, one network per task plus one per
 * service, fit a quarter of that), and the next fails at once with `network-pool-exhausted`,
 * leaving nothing. The services are busybox sleepers and the proxies a busybox stand-in: what is
 * counted is networks, not the proxy's work.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import { ServiceStartError } from '../../src/library/errors.js';
import { ServiceManager } from '../../src/library/manager.js';
import type { ServiceSession } from '../../src/library/session.js';
import { loadImage, startPrivateDockerd, type PrivateDockerd } from '../observed-state/private-dockerd.js';
import { IMAGES, testOwnerId } from '../support/docker.js';

const exec = promisify(execFile);
const STAND_IN = 'ds-test/proxy-stand-in:latest';
const OWNER = testOwnerId('address-pool-default');
const SERVICES_PER_TASK = 3;

let daemon: PrivateDockerd | undefined;

beforeAll(async () => {
  daemon = await startPrivateDockerd();
  await loadImage(daemon, IMAGES.busybox);
  // A proxy that runs with any arguments and does nothing: busybox sleeping.
  await exec(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `printf 'FROM %s\\nENTRYPOINT ["sh", "-c", "exec sleep 86400", "proxy"]\\n' "$1" | DOCKER_BUILDKIT=0 docker -H "$2" build -q -t "$3" -`,
      'build',
      IMAGES.busybox,
      daemon.host,
      STAND_IN,
    ],
    { timeout: 120_000 },
  );
}, 180_000);

afterAll(async () => {
  await daemon?.destroy();
}, 120_000);

/** Makes networks until the engine refuses one; removes them; how many it made. */
async function networksTheEngineGives(d: PrivateDockerd): Promise<number> {
  const made: string[] = [];
  try {
    for (;;) {
      try {
        made.push(await d.cli('network', 'create', `probe-${made.length}`));
      } catch (error) {
        expect(String((error as { stderr?: string }).stderr ?? error)).toMatch(
          /could not find an available/i,
        );
        return made.length;
      }
      expect(made.length).toBeLessThan(1_000);
    }
  } finally {
    if (made.length > 0) await d.cli('network', 'rm', ...made);
  }
}

describe('a stock engine (default address pools)', () => {
  it('holds one task per network it can give; the next fails at once with network-pool-exhausted', async () => {
    const d = daemon!;
    const capacity = await networksTheEngineGives(d);
    expect(capacity).toBeGreaterThan(1);
    const manager = new ServiceManager({
      docker: d.api,
      config: defaultWorkerConfig({
        ownerId: OWNER,
        provisionerId: 'prov',
        workerType: 'wt',
        rootUrl: 'https://tc.example.com',
        proxy: { image: STAND_IN },
        images: { pullPolicy: 'never' },
      }),
      credentials: { clientId: 'test/worker', accessToken: 'test-access-token-not-real-0123456789' },
    });
    const sleeper = (name: string) => ({ name, image: IMAGES.busybox, command: ['sleep', '600'] });
    const payload = { services: ['db', 'cache', 'web'].slice(0, SERVICES_PER_TASK).map(sleeper) };
    const task = () => ({
      taskId: randomBytes(16).toString('base64url'),
      runId: 0,
      payload,
      scopes: [],
      deadline: new Date(Date.now() + 3_600_000),
    });
    const sessions: ServiceSession[] = [];
    const started = Date.now();
    try {
      let failure: unknown;
      let failedTask: ReturnType<typeof task> | undefined;
      while (failure === undefined) {
        const next = task();
        try {
          sessions.push(await manager.start(next));
        } catch (error) {
          failure = error;
          failedTask = next;
        }
        expect(sessions.length).toBeLessThanOrEqual(capacity);
      }
      const tookMs = Date.now() - started;
      console.log(
        `default pools: ${capacity} networks; ${sessions.length} concurrent ${SERVICES_PER_TASK}-service tasks ` +
          `(one network each; ${Math.floor(capacity / (1 + SERVICES_PER_TASK))} with a network per service too); ` +
          `the next failed: ${(failure as Error).message.split('\n')[0]} (${tookMs} ms in all)`,
      );
      expect(sessions).toHaveLength(capacity);
      expect(failure).toBeInstanceOf(ServiceStartError);
      expect((failure as ServiceStartError).reason).toMatchObject({ kind: 'network-pool-exhausted' });
      expect((failure as Error).message).toContain('default-address-pools');
      // Nothing of the task that did not fit is left.
      const ofFailed = [`${Label.owner}=${OWNER}`, `${Label.taskId}=${failedTask!.taskId}`];
      expect(await d.api.listNetworks({ label: ofFailed })).toEqual([]);
      expect(await d.api.listContainers({ label: ofFailed })).toEqual([]);
    } finally {
      await Promise.all(sessions.map((s) => s.stop().catch(() => {})));
    }
    expect(await d.api.listNetworks({ label: [`${Label.owner}=${OWNER}`] })).toEqual([]);
  }, 900_000);
});
