/**
 * Service images from a private registry, on the real engine: a real `docker-registry`
 * (distribution 2.8) on 127.0.0.1 with htpasswd auth, the worker's `registries` login sent with
 * each pull, the pull policy, progress in `pulling` events, a stalled registry, and the password
 * kept out of everything the library says or makes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Label } from '../../src/desired-state/labels.js';
import { ServiceStartError } from '../../src/library/errors.js';
import type { ServiceEvent } from '../../src/library/phases.js';
import { dockerCli, IMAGES, runToCompletion, testOwnerId } from '../support/docker.js';
import { silentServer, startRegistry, variantOf, withBlob, type TestRegistry } from '../support/registry.js';
import {
  capturingLogger,
  CREDENTIALS,
  docker,
  eventsSoFar,
  NOTHING,
  objectsOf,
  task,
} from './support/library.js';
import { ServiceManager } from '../../src/library/manager.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { PROXY_IMAGE } from './support/library.js';

let registry: TestRegistry;
/** Local images this file made (tags it must remove). */
const made: string[] = [];

beforeAll(async () => {
  registry = await startRegistry();
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  for (const ref of made) await dockerCli('rmi', '-f', ref).catch(() => '');
}, 60_000);

/** Pushes `local` as `repository`, then removes the local copy of the pushed tag, so that a start must pull it. */
async function pushed(local: string, repository: string): Promise<string> {
  const ref = await registry.push(local, repository);
  await dockerCli('rmi', ref);
  made.push(ref);
  return ref;
}

function withLogin(name: string, pullPolicy: 'always' | 'if-not-present', password = registry.password) {
  const { logger, lines } = capturingLogger();
  const services = new ServiceManager({
    docker,
    config: defaultWorkerConfig({
      ownerId: testOwnerId(name),
      provisionerId: 'test-prov',
      workerType: 'test-wt',
      rootUrl: 'http://taskcluster.invalid',
      proxy: { image: PROXY_IMAGE },
      images: { pullPolicy, stallTimeoutMs: 5_000, timeoutMs: 600_000 },
      registries: { [registry.host]: { username: registry.username, password } },
    }),
    credentials: CREDENTIALS,
    logger,
  });
  return { services, lines, ownerId: testOwnerId(name) };
}

async function proxyScope(ownerId: string, service: string): Promise<string> {
  const [proxy] = await docker.listContainers({
    label: [`${Label.owner}=${ownerId}`, `${Label.service}=${service}`, `${Label.role}=proxy`],
  });
  const inspect = await docker.inspectContainer(proxy!.Id);
  return inspect!.Config.Cmd!.at(-1)!;
}

describe('service images from a private registry', () => {
  it('pulls with the login, becomes ready, answers by alias, and the role scope names the pulled image; pulling events count bytes up', async () => {
    // A layer of 24 MB: the engine reports download progress of a layer that size.
    const local = await withBlob(IMAGES.busybox, 24_000_000, `ds-test-local/blob:${Date.now()}`);
    const ref = await pushed(local, `ds-test/blob:${Date.now()}`);
    // Layers the engine holds are not downloaded again: the blob must exist only in the registry.
    await dockerCli('rmi', local);
    const { services, lines, ownerId } = withLogin('registry-login', 'always');
    const session = await services.start(
      task([{ name: 'web', image: ref, command: ['httpd', '-f', '-p', '8080', '-h', '/etc'] }]),
    );
    try {
      const image = await docker.inspectImage(ref);
      expect(image).toBeDefined();
      // The key of a pulled image is its repo digest (immutable, the same on every worker).
      const digest = image!.RepoDigests[0]!.split('@')[1]!;
      expect(await proxyScope(ownerId, 'web')).toBe(
        `assume:docker-service-image:test-prov/test-wt/${digest}`,
      );
      const probe = await runToCompletion(docker, {
        image: IMAGES.busybox,
        network: session.taskContainerOptions.HostConfig!.NetworkMode!,
        cmd: ['sh', '-c', 'wget -q -O- http://web:8080/hostname >/dev/null && echo reached'],
      });
      expect(probe).toEqual({ exitCode: 0, output: expect.stringContaining('reached') });
      const pulling = eventsSoFar(session).filter(
        (e): e is Extract<ServiceEvent, { type: 'pulling' }> => e.type === 'pulling' && e.role === 'service',
      );
      const counts = pulling.map((e) => e.currentBytes).filter((n): n is number => n !== undefined);
      expect(counts.length).toBeGreaterThan(0);
      for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThan(counts[i - 1]!);
      expect(counts.at(-1)).toBeGreaterThan(1_000_000);
      // The password is nowhere: logs, events, labels, `docker inspect` of our containers.
      const ours = await docker.listContainers({ label: [`${Label.owner}=${ownerId}`] });
      const inspects = await Promise.all(ours.map((c) => docker.inspectContainer(c.Id)));
      const everything = JSON.stringify([lines, eventsSoFar(session), inspects]);
      expect(everything).not.toContain(registry.password);
      expect(everything).not.toContain(Buffer.from(registry.password).toString('base64'));
    } finally {
      await session.stop();
    }
    expect(await objectsOf(ownerId)).toEqual(NOTHING);
  }, 180_000);

  it('a wrong password fails at once as image-pull-unauthorized naming the registry, never the password; nothing is left', async () => {
    const ref = await pushed(IMAGES.busybox, `ds-test/private:${Date.now()}`);
    const wrong = 'not-the-password-0123456789';
    const { services, lines, ownerId } = withLogin('registry-wrong', 'always', wrong);
    const started = Date.now();
    const error = await services.start(task([{ name: 'web', image: ref, command: ['sleep', '600'] }])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServiceStartError);
    const failure = error as ServiceStartError;
    expect(failure.reason).toMatchObject({ kind: 'image-pull-unauthorized', registry: registry.host });
    expect((error as Error).message).toContain(registry.host);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(JSON.stringify([(error as Error).message, failure.reason, failure.logTail, lines])).not.toContain(
      wrong,
    );
    expect(await objectsOf(ownerId)).toEqual(NOTHING);
  }, 120_000);

  it('policy always runs what a re-pushed tag names now; if-not-present keeps the image it has', async () => {
    const tag = `ds-test/moving:${Date.now()}`;
    const firstLocal = `ds-test-local/moving:1-${Date.now()}`;
    made.push(firstLocal);
    await variantOf(IMAGES.busybox, '1', firstLocal);
    const ref = await pushed(IMAGES.busybox, tag);
    // The tag first names busybox itself: pulled once.
    const first = withLogin('registry-moving-1', 'always');
    let session = await first.services.start(task([{ name: 'b', image: ref, command: ['sleep', '600'] }]));
    const before = (await docker.inspectImage(ref))!.Id;
    await session.stop();
    // Re-push the tag with new content.
    const newLocal = `ds-test-local/moving:2-${Date.now()}`;
    const newId = await variantOf(IMAGES.busybox, '2', newLocal);
    made.push(newLocal);
    await registry.push(newLocal, tag);
    expect(newId).not.toBe(before);
    await dockerCli('tag', before, ref); // the old content under the tag, locally
    // if-not-present: the local image is used as it is.
    const keep = withLogin('registry-moving-keep', 'if-not-present');
    session = await keep.services.start(task([{ name: 'b', image: ref, command: ['sleep', '600'] }]));
    const kept = await docker.listContainers({
      label: [`${Label.owner}=${keep.ownerId}`, `${Label.role}=service`],
    });
    expect(kept[0]!.ImageID).toBe(before);
    await session.stop();
    // always: the new content is pulled and run.
    const fresh = withLogin('registry-moving-always', 'always');
    session = await fresh.services.start(task([{ name: 'b', image: ref, command: ['sleep', '600'] }]));
    const ran = await docker.listContainers({
      label: [`${Label.owner}=${fresh.ownerId}`, `${Label.role}=service`],
    });
    expect(ran[0]!.ImageID).toBe(newId);
    await session.stop();
  }, 240_000);

  it('a registry that accepts and sends nothing fails after the stall timeout, not the overall cap', async () => {
    const silent = await silentServer();
    try {
      const { services, ownerId } = withLogin('registry-stalled', 'always');
      const started = Date.now();
      const error = await services
        .start(task([{ name: 's', image: `127.0.0.1:${silent.port}/x:y`, command: ['sleep', '600'] }]))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      const took = Date.now() - started;
      expect(error).toBeInstanceOf(ServiceStartError);
      expect((error as Error).message).toMatch(/sent nothing for 5000 ms/);
      expect(silent.accepted()).toBeGreaterThan(0);
      // The overall cap is 10 minutes; the startup timeout 2 minutes.
      expect(took).toBeLessThan(100_000);
      expect(await objectsOf(ownerId)).toEqual(NOTHING);
    } finally {
      await silent.close();
    }
  }, 150_000);
});
