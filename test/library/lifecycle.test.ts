/**
 * A session while its task runs, on the real engine: the death policy (restart with backoff, or
 * fail), limits on every container, logs at stop() with secrets redacted, concurrent tasks with
 * the same service names, garbage collection and credential rotation.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Label } from '../../src/desired-state/labels.js';
import { REDACTED } from '../../src/library/logs.js';
import type { ServiceSession } from '../../src/library/session.js';
import { IMAGES, dockerCli, removeMadeByThisRun, testOwnerId } from '../support/docker.js';
import { NOTHING, docker, eventsSoFar, manager, nextEvent, objectsOf, task } from './support/library.js';

const sessions: ServiceSession[] = [];

afterAll(async () => {
  await Promise.allSettled(sessions.map((s) => s.stop()));
  await removeMadeByThisRun(docker, (labels) => (labels[Label.owner] ?? '').includes('-lib-life-'));
}, 180_000);

const sleeper = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: IMAGES.busybox,
  command: ['sh', '-c', 'echo up; exec sleep 600'],
  ...extra,
});

function serviceContainerId(session: ServiceSession, service: string): string {
  const created = eventsSoFar(session).filter(
    (e) => e.type === 'created' && e.service === service && e.role === 'service',
  );
  return created.at(-1)!.containerId!;
}

describe('a running session on the real engine', () => {
  it('restarts a service killed mid-task; died and restarted are both seen on events$', async () => {
    const m = manager('lib-life-restart', { restart: { mode: 'restart', initialBackoffMs: 300 } });
    const session = await m.start(task([sleeper('db')]));
    sessions.push(session);
    const before = eventsSoFar(session).length;
    const died = nextEvent(session, 'died', 'db', before);
    const restarted = nextEvent(session, 'restarted', 'db', before);
    await dockerCli('kill', serviceContainerId(session, 'db'));
    const d = await died;
    const r = await restarted;
    expect(d).toMatchObject({ type: 'died', service: 'db', exitCode: 137, oomKilled: false });
    expect(r).toMatchObject({ type: 'restarted', service: 'db', restarts: 1 });
    console.log(`died → restarted: ${Date.parse(r.time) - Date.parse(d.time)} ms`);
    const inspect = await docker.inspectContainer(r.containerId!);
    expect(inspect?.State.Running).toBe(true);
    expect(session.state).toBe('ready');

    const { logs } = await session.stop();
    // The log of the killed container is kept next to its replacement's.
    expect(logs.db!.match(/^up$/gm)).toHaveLength(2);
    expect(await objectsOf(testOwnerId('lib-life-restart'))).toEqual(NOTHING);
  });

  it("a proxy is ready once it says it listens, before Docker's first probe of it", async () => {
    const m = manager('lib-life-ready-line');
    const session = await m.start(task([sleeper('db')]));
    sessions.push(session);
    const events = eventsSoFar(session);
    const proxyId = events.find((e) => e.type === 'created' && e.role === 'proxy')!.containerId!;
    const healthy = events.find((e) => e.type === 'healthy' && e.role === 'proxy');
    expect(healthy).toBeDefined();
    const inspect = await docker.inspectContainer(proxyId);
    // The image's health check probes first one interval (30 s) after the start: readiness sooner
    // than that came from the line the image declares, read from the proxy's log.
    expect(inspect?.Config.Healthcheck?.Interval).toBe(30e9);
    expect(Date.parse(healthy!.time) - Date.parse(inspect!.State.StartedAt)).toBeLessThan(30_000);
    expect(await session.logs('db')).toBeDefined();
    const { proxyLogs } = await session.stop();
    expect(proxyLogs.db).toContain('taskcluster-proxy listening on');
    expect(await objectsOf(testOwnerId('lib-life-ready-line'))).toEqual(NOTHING);
  });

  it('with the fail policy a death mid-task is a failed event and a failed session, not a restart', async () => {
    const m = manager('lib-life-fail', { restart: { mode: 'fail' } });
    const session = await m.start(task([sleeper('db')]));
    sessions.push(session);
    const before = eventsSoFar(session).length;
    const failed = nextEvent(session, 'failed', 'db', before);
    await dockerCli('kill', serviceContainerId(session, 'db'));
    const f = await failed;
    expect(f).toMatchObject({ type: 'failed', service: 'db', role: 'service' });
    expect(session.state).toBe('failed');
    expect(session.failure).toMatchObject({ service: 'db', role: 'service' });
    expect(session.failure!.reason).toContain('137');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(eventsSoFar(session).some((e) => e.type === 'restarted')).toBe(false);
    await session.stop();
    expect(await objectsOf(testOwnerId('lib-life-fail'))).toEqual(NOTHING);
  });

  it('stop() returns every log with a planted secret replaced; logs(name) works while running', async () => {
    const secret = 'planted-secret-6f1c0d9a';
    const m = manager('lib-life-logs');
    const session = await m.start(
      task([
        {
          name: 'talker',
          image: IMAGES.busybox,
          env: { API_TOKEN: secret },
          command: ['sh', '-c', 'echo "token is $API_TOKEN"; echo done talking; exec sleep 600'],
        },
        sleeper('quiet'),
      ]),
    );
    sessions.push(session);
    const live = await session.logs('talker');
    expect(live).toContain(`token is ${REDACTED}`);
    expect(live).not.toContain(secret);
    await expect(session.logs('nope')).rejects.toThrow(/no service "nope"/);
    const { logs } = await session.stop();
    expect(Object.keys(logs).sort()).toEqual(['quiet', 'talker']);
    expect(logs.talker).toContain(`token is ${REDACTED}`);
    expect(logs.talker).toContain('done talking');
    expect(JSON.stringify(logs)).not.toContain(secret);
    expect(logs.quiet).toBe('up\n');
  });

  it('applies the configured limits to every container and a fork bomb is held by the pids limit', async () => {
    const limits = { memoryBytes: 256 * 1024 * 1024, pidsLimit: 64, logMaxBytes: 128 * 1024 };
    const m = manager('lib-life-limits', { limits });
    const session = await m.start(
      task([
        {
          name: 'bomb',
          image: IMAGES.busybox,
          // Forks without end once started; PID 1 stays (exec needs no fork).
          command: ['sh', '-c', 'sleep 1; bomb() { bomb | bomb & }; bomb; exec sleep 600'],
        },
      ]),
    );
    sessions.push(session);
    const ids = eventsSoFar(session)
      .filter((e) => e.type === 'created')
      .map((e) => e.containerId!);
    expect(ids).toHaveLength(2); // the service and its proxy
    for (const id of ids) {
      const inspect = (await docker.inspectContainer(id))!;
      expect(inspect.HostConfig.Memory).toBe(limits.memoryBytes);
      expect(inspect.HostConfig.PidsLimit).toBe(limits.pidsLimit);
      expect(inspect.HostConfig.LogConfig).toEqual({
        Type: 'json-file',
        Config: { 'max-file': '1', 'max-size': String(limits.logMaxBytes) },
      });
      expect(inspect.HostConfig.RestartPolicy?.Name).toBe('no');
      expect(inspect.HostConfig.Privileged).toBe(false);
    }
    const bombId = serviceContainerId(session, 'bomb');
    // Let the bomb fill its cgroup, then look: capped at the limit, and the engine still answers.
    await new Promise((r) => setTimeout(r, 4_000));
    const pids = Number(await dockerCli('stats', '--no-stream', '--format', '{{.PIDs}}', bombId));
    console.log(`fork bomb: ${pids} pids in the container (limit ${limits.pidsLimit})`);
    expect(pids).toBeGreaterThan(limits.pidsLimit / 2);
    expect(pids).toBeLessThanOrEqual(limits.pidsLimit);
    expect(await dockerCli('version', '--format', '{{.Server.Version}}')).toMatch(/^\d+\./);
    await session.stop();
    expect(await objectsOf(testOwnerId('lib-life-limits'))).toEqual(NOTHING);
  });
});

describe('concurrent tasks on the real engine', () => {
  it('two tasks with the same service names run side by side without collision', async () => {
    const m = manager('lib-life-two');
    const [a, b] = await Promise.all([m.start(task([sleeper('db')])), m.start(task([sleeper('db')]))]);
    sessions.push(a!, b!);
    expect(a!.taskContainerOptions.HostConfig!.NetworkMode).not.toBe(
      b!.taskContainerOptions.HostConfig!.NetworkMode,
    );
    const idA = serviceContainerId(a!, 'db');
    const idB = serviceContainerId(b!, 'db');
    expect(idA).not.toBe(idB);
    // Stopping one leaves the other's service running.
    await a!.stop();
    expect(await docker.inspectContainer(idA)).toBeUndefined();
    expect((await docker.inspectContainer(idB))?.State.Status).toBe('running');
    const disturbed = eventsSoFar(b!).filter((e) =>
      ['removed', 'died', 'restarted', 'failed'].includes(e.type),
    );
    expect(disturbed).toEqual([]);
    await b!.stop();
    expect(await objectsOf(testOwnerId('lib-life-two'))).toEqual(NOTHING);
  });

  it('ten tasks started at once all converge and all tear down to zero', async () => {
    const m = manager('lib-life-ten', { startupTimeoutMs: 240_000 });
    const began = Date.now();
    const started = await Promise.allSettled(
      Array.from({ length: 10 }, () => m.start(task([sleeper('db')]))),
    );
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    sessions.push(...ok);
    const failures = started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
    console.log(`ten tasks (10 services, 10 proxies) ready in ${Date.now() - began} ms`);
    expect(failures).toEqual([]);
    expect(m.activeSessions()).toHaveLength(10);
    expect(new Set(ok.map((s) => s.taskId)).size).toBe(10);
    const owned = await objectsOf(testOwnerId('lib-life-ten'));
    // Per task: the service and its proxy, and the task network (the service is in the proxy's namespace).
    expect(owned.containers).toHaveLength(20);
    expect(owned.networks).toHaveLength(10);
    await Promise.all(ok.map((s) => s.stop()));
    expect(m.activeSessions()).toHaveLength(0);
    expect(await objectsOf(testOwnerId('lib-life-ten'))).toEqual(NOTHING);
  }, 400_000);
});

describe('a busy machine', () => {
  // Five tasks of three services each, every service with the real proxy image (its health probe
  // every second), started at once through one manager, with the worker's default startup timeout:
  // the load that made proxies' probes time out and tasks fail when the probe was a Node process.
  it('five 3-service tasks started at once all become ready with the default startup timeout', async () => {
    const m = manager('lib-life-five');
    const began = Date.now();
    const started = await Promise.allSettled(
      Array.from({ length: 5 }, () => m.start(task([sleeper('db'), sleeper('cache'), sleeper('web')]))),
    );
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    sessions.push(...ok);
    const failures = started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
    console.log(`five 3-service tasks (15 services, 15 proxies) ready in ${Date.now() - began} ms`);
    expect(failures).toEqual([]);
    expect((await objectsOf(testOwnerId('lib-life-five'))).containers).toHaveLength(30);
    await Promise.all(ok.map((s) => s.stop()));
    expect(await objectsOf(testOwnerId('lib-life-five'))).toEqual(NOTHING);
  }, 400_000);
});

describe('the manager on the real engine', () => {
  it('collectGarbage removes what a crashed worker left, and keeps active tasks', async () => {
    const crashed = manager('lib-life-gc');
    const left = await crashed.start(task([sleeper('db')]));
    const kept = await crashed.start(task([sleeper('db')]));
    sessions.push(left, kept);
    // The worker dies: nothing watches or converges these any more (the containers stay) …
    await left.detach();
    await kept.detach();
    // … and its next process (same owner) knows nothing of them.
    const restarted = manager('lib-life-gc');
    const collected = await restarted.collectGarbage([kept.taskId]);
    expect(collected.map((c) => `${c.taskId}/${c.runId}`)).toEqual([`${left.taskId}/0`]);
    expect(collected[0]!.containers).toHaveLength(2);
    const owned = await objectsOf(testOwnerId('lib-life-gc'));
    expect(owned.containers.every((name) => name.includes(kept.taskId))).toBe(true);
    expect(owned.containers).toHaveLength(2);
    expect((await restarted.collectGarbage([])).map((c) => c.taskId)).toEqual([kept.taskId]);
    expect(await objectsOf(testOwnerId('lib-life-gc'))).toEqual(NOTHING);
    // The detached sessions can still be stopped: nothing left to do.
    await left.stop();
    await kept.stop();
  }, 180_000);

  it('updateCredentials pushes the rotated credentials to every live proxy', async () => {
    const m = manager('lib-life-rotate');
    const session = await m.start(task([sleeper('db'), sleeper('cache')]));
    sessions.push(session);
    const pushed = await m.updateCredentials({
      clientId: 'test/docker-services-worker',
      accessToken: 'rotated-access-token-not-real-9876543210',
    });
    expect(pushed).toHaveLength(2);
    await session.stop();
    expect(await objectsOf(testOwnerId('lib-life-rotate'))).toEqual(NOTHING);
  });
});

describe('detach', () => {
  it('leaves the services running and stops watching; stop() still removes them', async () => {
    const m = manager('lib-life-detach');
    const session = await m.start(task([sleeper('db')]));
    sessions.push(session);
    const id = serviceContainerId(session, 'db');
    await session.detach();
    expect(session.state).toBe('detached');
    expect(m.activeSessions()).toHaveLength(0);
    expect((await docker.inspectContainer(id))?.State.Running).toBe(true);
    await session.stop();
    expect(await objectsOf(testOwnerId('lib-life-detach'))).toEqual(NOTHING);
  });
});
