/**
 * Service images from task artifacts, on the real engine: a fake Taskcluster queue and index on
 * 127.0.0.1 (`test/support/fake-queue.ts`) serving `docker save` tarballs of fixture images, plain
 * and compressed; taskcluster-client pointed at it through `rootUrl`; and the real registry of
 * `registry.test.ts` beside them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import { ServiceStartError } from '../../src/library/errors.js';
import { ServiceManager } from '../../src/library/manager.js';
import { dockerCli, IMAGES, runToCompletion, testOwnerId } from '../support/docker.js';
import { compress, dockerSave, startFakeQueue, type FakeQueue } from '../support/fake-queue.js';
import { startRegistry, variantOf, type TestRegistry } from '../support/registry.js';
import {
  capturingLogger,
  CREDENTIALS,
  docker,
  eventsSoFar,
  NOTHING,
  objectsOf,
  PROXY_IMAGE,
  slugid,
  task,
} from './support/library.js';

let queue: FakeQueue;
let registry: TestRegistry;
/** Image ids this file made or loaded: removed with every tag at the end. */
const made = new Set<string>();

beforeAll(async () => {
  queue = await startFakeQueue();
  registry = await startRegistry();
}, 60_000);

afterAll(async () => {
  await queue?.close();
  await registry?.stop();
  for (const id of made) await dockerCli('rmi', '-f', id).catch(() => '');
}, 60_000);

/** A busybox of its own id, saved as a tarball and removed from the engine: only a load brings it back. */
async function artifactImage(version: string): Promise<{ id: string; ref: string; tar: Buffer }> {
  const ref = `ds-test-local/artifact:${version}-${Date.now()}`;
  const id = await variantOf(IMAGES.busybox, `${version}-${slugid()}`, ref);
  made.add(id);
  const tar = await dockerSave(ref);
  await dockerCli('rmi', ref);
  return { id, ref, tar };
}

function artifactManager(name: string, images: { stallTimeoutMs: number; timeoutMs: number }) {
  const { logger, lines } = capturingLogger();
  const ownerId = testOwnerId(name);
  const services = new ServiceManager({
    docker,
    config: defaultWorkerConfig({
      ownerId,
      provisionerId: 'test-prov',
      workerType: 'test-wt',
      rootUrl: queue.rootUrl,
      proxy: { image: PROXY_IMAGE },
      images: { pullPolicy: 'always', ...images },
      registries: { [registry.host]: { username: registry.username, password: registry.password } },
      startupTimeoutMs: 300_000,
    }),
    credentials: CREDENTIALS,
    logger,
  });
  return { services, lines, ownerId };
}

const HTTPD = ['httpd', '-f', '-p', '8080', '-h', '/etc'];

/** An HTTP request by alias from a busybox on the task network (nc: busybox wget crashes on user-defined networks). */
async function answers(network: string, alias: string): Promise<string> {
  const { output } = await runToCompletion(docker, {
    image: IMAGES.busybox,
    network,
    cmd: ['sh', '-c', `printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 10 ${alias} 8080`],
  });
  return output;
}

async function proxyScope(ownerId: string, service: string): Promise<string> {
  const [proxy] = await docker.listContainers({
    label: [`${Label.owner}=${ownerId}`, `${Label.service}=${service}`, `${Label.role}=proxy`],
  });
  const inspect = await docker.inspectContainer(proxy!.Id);
  return inspect!.Config.Cmd!.at(-1)!;
}

const SCOPE = 'assume:docker-service-image:test-prov/test-wt/';

describe('service images from task artifacts', () => {
  it('a task image (.tar.zst), an indexed image (.tar.lz4) and a registry image with a login come up in one session, answer by alias, and their proxies hold their image ids; a second start downloads nothing', async () => {
    const zst = await artifactImage('zst');
    const lz4 = await artifactImage('lz4');
    const zstName = 'public/image.tar.zst';
    const lz4Name = 'public/build/image.tar.lz4';
    const zstTask = queue.publish(zstName, await compress(zst.tar, 'zstd'));
    const lz4Task = queue.publish(lz4Name, await compress(lz4.tar, 'lz4'));
    const namespace = `ds-test.images.${slugid().replace(/[^A-Za-z0-9]/g, 'x')}.latest`;
    queue.index(namespace, lz4Task);
    const pushedLocal = `ds-test-local/artifact:registry-${Date.now()}`;
    made.add(await variantOf(IMAGES.busybox, `registry-${slugid()}`, pushedLocal));
    const regRef = await registry.push(pushedLocal, `ds-test/artifacts:${Date.now()}`);
    await dockerCli('rmi', regRef);

    const payload = [
      { name: 'fromtask', image: { type: 'task-image', taskId: zstTask, path: zstName }, command: HTTPD },
      { name: 'fromindex', image: { type: 'indexed-image', namespace, path: lz4Name }, command: HTTPD },
      { name: 'fromregistry', image: regRef, command: HTTPD },
    ];
    const { services, lines, ownerId } = artifactManager('artifacts-one-session', {
      stallTimeoutMs: 10_000,
      timeoutMs: 600_000,
    });
    const session = await services.start(task(payload));
    try {
      const network = session.taskContainerOptions.HostConfig!.NetworkMode!;
      for (const alias of ['fromtask', 'fromindex', 'fromregistry'])
        expect(await answers(network, alias)).toMatch(/^HTTP\/1\.[01] 200/);
      expect(await proxyScope(ownerId, 'fromtask')).toBe(`${SCOPE}${zst.id}`);
      expect(await proxyScope(ownerId, 'fromindex')).toBe(`${SCOPE}${lz4.id}`);
      const pulled = await docker.inspectImage(regRef);
      made.add(pulled!.Id);
      expect(await proxyScope(ownerId, 'fromregistry')).toBe(
        `${SCOPE}${pulled!.RepoDigests[0]!.split('@')[1]}`,
      );
      expect([queue.downloads(zstTask, zstName), queue.downloads(lz4Task, lz4Name)]).toEqual([1, 1]);
      // The names the tarballs carried were not put on the host: the loads tagged nothing of theirs.
      expect(await docker.inspectImage(zst.ref)).toBeUndefined();
      expect(await docker.inspectImage(lz4.ref)).toBeUndefined();
      // Downloads reported their bytes, up to the whole artifact.
      const progress = eventsSoFar(session).filter((e) => e.type === 'pulling' && e.service === 'fromtask');
      expect(progress.length).toBeGreaterThan(0);
      // Neither the worker's token nor a signed URL's query went into logs or events.
      const said = JSON.stringify([lines, eventsSoFar(session)]);
      expect(said).not.toContain(CREDENTIALS.accessToken);
      expect(said).not.toMatch(/bewit|signature=/);
      expect(said).not.toContain(registry.password);
    } finally {
      await session.stop();
    }
    expect(await objectsOf(ownerId)).toEqual(NOTHING);

    // The same task image, and the index still naming the same task: present, so not fetched again.
    const again = await services.start(task(payload.slice(0, 2)));
    try {
      expect(await proxyScope(ownerId, 'fromtask')).toBe(`${SCOPE}${zst.id}`);
      expect(await proxyScope(ownerId, 'fromindex')).toBe(`${SCOPE}${lz4.id}`);
    } finally {
      await again.stop();
    }
    expect([queue.downloads(zstTask, zstName), queue.downloads(lz4Task, lz4Name)]).toEqual([1, 1]);
    expect(await objectsOf(ownerId)).toEqual(NOTHING);
  }, 300_000);

  it('a private .tar artifact loads with queue:get-artifact:<name>, through a signed URL, after the queue answered 503 twice', async () => {
    const plain = await artifactImage('tar');
    const name = 'private/images/plain.tar';
    const taskId = queue.publish(name, plain.tar);
    queue.failNext(2, 503);
    const before = queue.queueRequests();
    const { services, ownerId } = artifactManager('artifacts-private', {
      stallTimeoutMs: 10_000,
      timeoutMs: 600_000,
    });
    const session = await services.start({
      ...task([{ name: 'p', image: { type: 'task-image', taskId, path: name }, command: HTTPD }]),
      scopes: [`queue:get-artifact:${name}`],
    });
    try {
      expect(await proxyScope(ownerId, 'p')).toBe(`${SCOPE}${plain.id}`);
      expect(await answers(session.taskContainerOptions.HostConfig!.NetworkMode!, 'p')).toMatch(
        /^HTTP\/1\.[01] 200/,
      );
    } finally {
      await session.stop();
    }
    expect(queue.queueRequests() - before).toBe(3);
    expect(queue.downloads(taskId, name)).toBe(1);
    // A private artifact is asked for by signed URL, every time.
    const asked = queue.requested().filter((u) => u.startsWith(`/api/queue/v1/task/${taskId}/`));
    expect(asked).toHaveLength(3);
    expect(asked.filter((u) => !u.includes('bewit='))).toEqual([]);
    expect(await objectsOf(ownerId)).toEqual(NOTHING);
  }, 240_000);

  it('an artifact the queue does not have fails as image-not-found naming its path; nothing is left', async () => {
    const { services, ownerId } = artifactManager('artifacts-missing', {
      stallTimeoutMs: 10_000,
      timeoutMs: 600_000,
    });
    const taskId = slugid();
    const error = await services
      .start(
        task([{ name: 'm', image: { type: 'task-image', taskId, path: 'public/none.tar' }, command: HTTPD }]),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ServiceStartError);
    expect((error as ServiceStartError).reason).toMatchObject({ kind: 'image-not-found' });
    expect((error as ServiceStartError).reason).toMatchObject({
      detail: expect.stringContaining(`/api/queue/v1/task/${taskId}/artifacts/public/none.tar answered 404`),
    });
    expect(await objectsOf(ownerId)).toEqual(NOTHING);
  }, 120_000);

  it.each(['nothing', 'headers'] as const)(
    'a download that stalls (%s sent) fails as image-download-failed by the stall timeout, well before the overall cap',
    async (mode) => {
      const stalled = await artifactImage(`stall-${mode}`);
      const name = 'public/stalled.tar';
      const taskId = queue.publish(name, stalled.tar);
      const cap = 600_000;
      const { services, ownerId } = artifactManager(`artifacts-stall-${mode}`, {
        stallTimeoutMs: 1_000,
        timeoutMs: cap,
      });
      queue.stall(mode);
      const started = Date.now();
      try {
        const error = await services
          .start(task([{ name: 's', image: { type: 'task-image', taskId, path: name }, command: HTTPD }]))
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        const took = Date.now() - started;
        expect(error).toBeInstanceOf(ServiceStartError);
        expect((error as ServiceStartError).reason).toMatchObject({ kind: 'image-download-failed' });
        expect((error as Error).message).toMatch(/sent nothing for 1000 ms/);
        expect(queue.downloads(taskId, name)).toBeGreaterThan(0);
        expect(took).toBeLessThan(cap);
      } finally {
        queue.stall(undefined);
      }
      expect(await objectsOf(ownerId)).toEqual(NOTHING);
    },
    240_000,
  );
});
