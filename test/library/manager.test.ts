/**
 * `ServiceManager.start()` on the real engine: the readiness gate, and every way startup fails
 * (each must name the service and the reason, carry the log tail, and leave nothing behind).
 * Owner ids come from `testOwnerId`, so the leftover check covers whatever a test would leave.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Label } from '../../src/desired-state/labels.js';
import { ServiceStartError } from '../../src/library/errors.js';
import type { ServiceSession } from '../../src/library/session.js';
import { IMAGES, removeMadeByThisRun, testOwnerId } from '../support/docker.js';
import { NOTHING, docker, eventsSoFar, manager, objectsOf, task } from './support/library.js';

const sessions: ServiceSession[] = [];

afterAll(async () => {
  await Promise.allSettled(sessions.map((s) => s.stop()));
  await removeMadeByThisRun(docker, (labels) => (labels[Label.owner] ?? '').includes('-lib-start-'));
}, 120_000);

async function startFailure(name: string, services: unknown[], config = {}): Promise<ServiceStartError> {
  const m = manager(name, config);
  const error = await m.start(task(services)).then(
    (session) => {
      sessions.push(session);
      throw new Error('start() resolved; expected it to reject');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceStartError);
  // Rejected means cleaned up: nothing of the owner is left.
  expect(await objectsOf(testOwnerId(name))).toEqual(NOTHING);
  return error as ServiceStartError;
}

describe('ServiceManager.start on the real engine', () => {
  it('waits for a health check that turns healthy after ~2 s', async () => {
    const m = manager('lib-start-healthy');
    const t = task([
      {
        name: 'slow',
        image: IMAGES.busybox,
        command: ['sh', '-c', 'sleep 2; touch /tmp/ready; echo ready; exec sleep 600'],
        healthCheck: { command: ['sh', '-c', 'test -f /tmp/ready'], interval: 0.5, retries: 60 },
      },
    ]);
    const began = Date.now();
    const session = await m.start(t);
    const resolvedAt = Date.now();
    sessions.push(session);
    const seen = eventsSoFar(session);
    const mine = seen.filter((e) => e.role === 'service').map((e) => e.type);
    expect(mine).toEqual(['created', 'started', 'healthy']);
    const healthy = seen.find((e) => e.type === 'healthy' && e.role === 'service')!;
    const started = seen.find((e) => e.type === 'started' && e.role === 'service')!;
    console.log(
      `healthy event → start() resolved: ${resolvedAt - Date.parse(healthy.time)} ms; ` +
        `started → healthy: ${Date.parse(healthy.time) - Date.parse(started.time)} ms; ` +
        `start() took ${resolvedAt - began} ms in all`,
    );
    const inspect = await docker.inspectContainer(healthy.containerId!);
    expect(inspect?.State.Health?.Status).toBe('healthy');
    expect(session.state).toBe('ready');
    expect(session.taskContainerOptions).toEqual({
      HostConfig: { NetworkMode: `ds-${t.taskId}-0` },
      NetworkingConfig: { EndpointsConfig: { [`ds-${t.taskId}-0`]: {} } },
    });

    const result = await session.stop();
    expect(result.logs.slow).toContain('ready');
    expect(session.state).toBe('stopped');
    const all = eventsSoFar(session);
    expect(
      all
        .filter((e) => e.type === 'removed')
        .map((e) => e.role)
        .sort(),
    ).toEqual(['proxy', 'service']);
    expect(await objectsOf(testOwnerId('lib-start-healthy'))).toEqual(NOTHING);
  });

  it('a service that exits 3 rejects with its name, exit code and log tail', async () => {
    const error = await startFailure('lib-start-exit', [
      {
        name: 'crashy',
        image: IMAGES.busybox,
        command: ['sh', '-c', 'echo starting up; echo bad config >&2; exit 3'],
      },
    ]);
    expect(error.service).toBe('crashy');
    expect(error.role).toBe('service');
    expect(error.reason).toEqual({ kind: 'exited', exitCode: 3 });
    expect(error.logTail).toContain('bad config');
    expect(error.message).toContain('service crashy failed to start');
    expect(error.message).toContain('exited with code 3');
    console.log(error.message);
  });

  it('an OOM-killed service is reported as OOM', async () => {
    const error = await startFailure(
      'lib-start-oom',
      [
        {
          name: 'hungry',
          image: IMAGES.debian,
          command: [
            'sh',
            '-c',
            'echo allocating; x=$(head -c 400000000 /dev/zero | tr "\\0" a); echo survived',
          ],
          // Never healthy: start() waits, so the OOM kill is what settles it.
          healthCheck: { command: ['test', '-f', '/tmp/never'], interval: 1, retries: 100 },
        },
      ],
      // The proxy (node) shares the limit: enough for it, far too little for 400 MB.
      { limits: { memoryBytes: 128 * 1024 * 1024 } },
    );
    expect(error.service).toBe('hungry');
    expect(error.reason.kind).toBe('oom-killed');
    expect(error.message).toContain('OOM');
    console.log(error.message);
  });

  it('a health check that fails rejects as unhealthy with the last probe output', async () => {
    const error = await startFailure('lib-start-sick', [
      {
        name: 'sick',
        image: IMAGES.busybox,
        command: ['sleep', '600'],
        healthCheck: { command: ['sh', '-c', 'echo probe says no; exit 1'], interval: 0.3, retries: 2 },
      },
    ]);
    expect(error.service).toBe('sick');
    expect(error.phase).toBe('unhealthy');
    expect(error.reason).toEqual({ kind: 'unhealthy', lastProbeOutput: 'probe says no' });
  });

  it('an image that is not there and cannot be pulled rejects as image not found', async () => {
    // A registry on loopback where nothing listens: the pull fails without leaving the machine.
    const error = await startFailure('lib-start-noimage', [
      { name: 'ghost', image: '127.0.0.1:9/ds-test/does-not-exist:latest', command: ['true'] },
    ]);
    expect(error.service).toBe('ghost');
    expect(error.reason).toMatchObject({
      kind: 'image-not-found',
      image: '127.0.0.1:9/ds-test/does-not-exist:latest',
    });
    console.log(error.message);
  });

  it('a service that is not ready within the startup timeout rejects as timeout', async () => {
    const error = await startFailure(
      'lib-start-timeout',
      [
        {
          name: 'never',
          image: IMAGES.busybox,
          command: ['sleep', '600'],
          healthCheck: { command: ['false'], interval: 30, retries: 10, startPeriod: 60 },
        },
      ],
      { startupTimeoutMs: 15_000 },
    );
    expect(error.service).toBe('never');
    expect(error.reason).toEqual({ kind: 'timeout', timeoutMs: 15_000 });
  });

  it('a name held by a container that is not ours rejects as a name conflict and leaves it alone', async () => {
    const t = task([{ name: 'db', image: IMAGES.busybox, command: ['sleep', '600'] }]);
    const squatter = await docker.createContainer({
      name: `ds-${t.taskId}-0_db`,
      Image: IMAGES.busybox,
      Cmd: ['sleep', '600'],
      Labels: { 'docker-services-test.run': process.env.DS_TEST_RUN! },
    });
    try {
      const m = manager('lib-start-conflict');
      const error = await m.start(t).then(
        () => undefined,
        (e: unknown) => e as ServiceStartError,
      );
      expect(error).toBeInstanceOf(ServiceStartError);
      expect(error!.service).toBe('db');
      expect(error!.reason.kind).toBe('name-conflict');
      expect(await docker.inspectContainer(squatter)).toBeDefined();
      expect(await objectsOf(testOwnerId('lib-start-conflict'))).toEqual(NOTHING);
    } finally {
      await docker.removeContainer(squatter);
    }
  });

  it('an abort signal rejects start as aborted and cleans up', async () => {
    const controller = new AbortController();
    const m = manager('lib-start-abort');
    const t = {
      ...task([
        { name: 'db', image: IMAGES.busybox, command: ['sleep', '600'], healthCheck: { command: ['false'] } },
      ]),
      signal: controller.signal,
    };
    setTimeout(() => controller.abort(), 1_500);
    const error = await m.start(t).then(
      () => undefined,
      (e: unknown) => e as ServiceStartError,
    );
    expect(error).toBeInstanceOf(ServiceStartError);
    expect(error!.reason).toEqual({ kind: 'cancelled' });
    // The task's cancel, not a service's failure.
    expect(error!.service).toBeUndefined();
    expect(error!.message).toMatch(
      /^the start of the services of task \S+ run 0 was cancelled by the caller/,
    );
    expect(await objectsOf(testOwnerId('lib-start-abort'))).toEqual(NOTHING);
  });

  it('a session stopped while it starts (a worker shutting down) ends its start as cancelled, nothing left', async () => {
    const m = manager('lib-start-stopped');
    const starting = m.start(
      task([
        { name: 'db', image: IMAGES.busybox, command: ['sleep', '600'], healthCheck: { command: ['false'] } },
      ]),
    );
    // The session is listed while it starts: that is what a worker stops on shutdown.
    while (m.activeSessions().length === 0) await new Promise((resolve) => setImmediate(resolve));
    const [session] = m.activeSessions();
    expect(session!.state).toBe('starting');
    const [stopped, error] = await Promise.all([
      session!.stop(),
      starting.then(
        () => undefined,
        (e: unknown) => e as ServiceStartError,
      ),
    ]);
    expect(error).toBeInstanceOf(ServiceStartError);
    expect(error!.reason).toEqual({ kind: 'cancelled' });
    expect(stopped.logs).toHaveProperty('db');
    expect(await objectsOf(testOwnerId('lib-start-stopped'))).toEqual(NOTHING);
  });
});
