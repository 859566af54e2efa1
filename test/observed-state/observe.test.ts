/**
 * The observer against the real engine: objects changed *outside* the library (docker CLI) show
 * up in the snapshots it emits. The periodic relist and the stall relist are pushed out of the
 * way, so what is seen here is seen through the event stream.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Subject } from 'rxjs';
import { Label } from '../../src/desired-state/labels.js';
import { collectSnapshot } from '../../src/observed-state/collect.js';
import { observe } from '../../src/observed-state/observe.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';
import {
  IMAGES,
  dockerCli,
  removeMadeByThisRun,
  testDocker,
  testLabels,
  testOwnerId,
} from '../support/docker.js';
import { container, content, fakeTaskId, network, productLabels, record } from './support.js';

const docker = testDocker();
const owner = 'observe';
const taskId = fakeTaskId('obs');
const stem = `ds-${taskId}-0`;
const scope: ObserveScope = {
  ownerId: testOwnerId(owner),
  taskId,
  runId: 0,
  images: [IMAGES.busybox, IMAGES.redis, 'ds-fixtures/absent:latest'],
};
const eventsOnly = {
  relistIntervalMs: 3_600_000,
  stallRelistMs: 3_600_000,
  backoff: { initialMs: 100, maxMs: 2_000 },
};
const labels = (extra: Record<string, string> = {}) => productLabels(owner, taskId, 0, extra);
const testMark = Object.entries(testLabels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

afterAll(async () => {
  await removeMadeByThisRun(
    docker,
    (l) =>
      l[Label.owner] === scope.ownerId ||
      l[Label.taskId] === taskId ||
      l['docker-services-test.suite'] === taskId,
  );
});

describe('observe (real engine)', () => {
  it('sees a container created, started, killed and removed outside the library, each in turn', async () => {
    const rec = record((onError) => observe(docker, scope, { ...eventsOnly, onError }));
    try {
      const first = await rec.waitFor(() => true, 'any snapshot (the initial list)');
      expect(first.containers).toEqual([]);
      expect(first.images.map((i) => i.ref)).toEqual([IMAGES.busybox, IMAGES.redis]);
      expect(first.missingImages).toEqual(['ds-fixtures/absent:latest']);

      const name = `${stem}_life`;
      const id = await dockerCli(
        'create',
        '--name',
        name,
        ...labels(),
        '--network',
        'none',
        IMAGES.busybox,
        'sleep',
        '3600',
      );
      const created = await rec.waitFor((s) => container(s, name)?.state === 'created', `${name} is created`);
      expect(container(created, name)).toMatchObject({
        id,
        image: IMAGES.busybox,
        exitCode: 0,
        health: 'none',
      });
      expect(container(created, name)?.startedAt).toBeUndefined();

      await dockerCli('start', name);
      const running = await rec.waitFor((s) => container(s, name)?.state === 'running', `${name} is running`);
      expect(container(running, name)?.startedAt).toBeDefined();

      await dockerCli('kill', name);
      const killed = await rec.waitFor((s) => container(s, name)?.state === 'exited', `${name} has exited`);
      expect(container(killed, name)).toMatchObject({ exitCode: 137, oomKilled: false });
      expect(container(killed, name)?.finishedAt).toBeDefined();

      await dockerCli('rm', name);
      await rec.waitFor((s) => container(s, name) === undefined, `${name} is gone`);
      // The periodic and stall relists are out of the way: each state above came through the stream.
      expect(rec.errors).toEqual([]);
    } finally {
      rec.stop();
    }
  });

  it('sees a health check go from starting to healthy', async () => {
    const rec = record((onError) => observe(docker, scope, { ...eventsOnly, onError }));
    try {
      await rec.waitFor(() => true, 'the initial list');
      const name = `${stem}_redis`;
      await dockerCli('run', '-d', '--name', name, ...labels(), '--network', 'none', IMAGES.redis);
      // `docker run` is a create and then a start: the create's snapshot may show it not started yet.
      const starting = await rec.waitFor((s) => container(s, name)?.state === 'running', `${name} runs`);
      expect(['starting', 'healthy']).toContain(container(starting, name)?.health);
      // The `healthy` event is applied at once, and no inspect follows it: the probe's output is
      // read for an unhealthy container only (its `unhealthy` event is inspected).
      const healthy = await rec.waitFor(
        (s) => container(s, name)?.health === 'healthy',
        `${name} is healthy`,
      );
      expect(container(healthy, name)?.state).toBe('running');
      await dockerCli('rm', '-f', name);
      await rec.waitFor((s) => container(s, name) === undefined, `${name} is gone`);
    } finally {
      rec.stop();
    }
  });

  it('sees a network created, a container connected to and disconnected from it, and the network removed', async () => {
    const rec = record((onError) => observe(docker, scope, { ...eventsOnly, onError }));
    try {
      await rec.waitFor(() => true, 'the initial list');
      const net = `${stem}_net`;
      const networkId = await dockerCli(
        'network',
        'create',
        ...labels({ [Label.role]: 'task-network' }),
        net,
      );
      await rec.waitFor((s) => network(s, net)?.id === networkId, `network ${net} appears`);

      // Engine 20.10 creates a container on one network only; the second is joined with connect.
      const home = `${stem}_home`;
      await dockerCli('network', 'create', ...labels({ [Label.role]: 'service-network' }), home);
      const joiner = `${stem}_joiner`;
      const joinerId = await dockerCli(
        'run',
        '-d',
        '--name',
        joiner,
        ...labels(),
        '--network',
        home,
        '--network-alias',
        'at-home',
        IMAGES.busybox,
        'sleep',
        '3600',
      );
      await rec.waitFor((s) => container(s, joiner)?.state === 'running', `${joiner} is running`);

      await dockerCli('network', 'connect', '--alias', 'svc', '--alias', 'svc2', net, joiner);
      const connected = await rec.waitFor(
        (s) =>
          network(s, net)?.containerIds.includes(joinerId) === true &&
          container(s, joiner)?.networks[net] !== undefined,
        `${joiner} is connected to ${net}`,
      );
      expect(container(connected, joiner)?.networks[net]).toMatchObject({
        networkId,
        aliases: ['svc', 'svc2'],
      });
      expect(container(connected, joiner)?.networks[home]?.aliases).toEqual(['at-home']);

      await dockerCli('network', 'disconnect', net, joiner);
      await rec.waitFor(
        (s) =>
          network(s, net)?.containerIds.length === 0 && container(s, joiner)?.networks[net] === undefined,
        `${joiner} is disconnected from ${net}`,
      );
      await dockerCli('network', 'rm', net);
      await rec.waitFor((s) => network(s, net) === undefined, `network ${net} is gone`);
      await dockerCli('rm', '-f', joinerId);
      await dockerCli('network', 'rm', home);
      await rec.waitFor(
        (s) => s.containers.length === 0 && s.networks.length === 0,
        'nothing of ours is left',
      );
      expect(rec.errors).toEqual([]);
    } finally {
      rec.stop();
    }
  });

  it('reports a same-named container and network without our labels as foreign, never as ours', async () => {
    const rec = record((onError) => observe(docker, scope, { ...eventsOnly, onError }));
    try {
      await rec.waitFor(() => true, 'the initial list');
      const name = `${stem}_squatter`;
      const mark = ['--label', `docker-services-test.suite=${taskId}`, ...testMark];
      const id = await dockerCli(
        'create',
        '--name',
        name,
        ...mark,
        '--network',
        'none',
        IMAGES.busybox,
        'true',
      );
      const seen = await rec.waitFor((s) => s.foreign.some((f) => f.id === id), `${name} is foreign`);
      expect(seen.foreign.find((f) => f.id === id)).toMatchObject({ type: 'container', name });
      expect(container(seen, name)).toBeUndefined();
      // And another owner's object under our run's name.
      const other = `${stem}`;
      const otherLabels = ['--label', `${Label.owner}=${testOwnerId('someone-else')}`, ...mark];
      const networkId = await dockerCli('network', 'create', ...otherLabels, other);
      const both = await rec.waitFor((s) => s.foreign.some((f) => f.id === networkId), `${other} is foreign`);
      expect(both.foreign.find((f) => f.id === networkId)?.reason).toMatch(/another owner|belongs to owner/);
      expect(network(both, other)).toBeUndefined();
      // A fresh full collect agrees with what the stream built up.
      expect(content(await collectSnapshot(docker, scope))).toEqual(content(both));
      await dockerCli('rm', '-f', id);
      await dockerCli('network', 'rm', networkId);
      await rec.waitFor((s) => s.foreign.length === 0, 'the foreign objects are gone');
    } finally {
      rec.stop();
    }
  });

  it('emits a fresh snapshot on every refresh$ value, and stops everything when unsubscribed', async () => {
    const refresh$ = new Subject<void>();
    const rec = record((onError) => observe(docker, scope, { ...eventsOnly, onError, refresh$ }));
    try {
      const first = await rec.waitFor(() => true, 'the initial list');
      const before = rec.snapshots.length;
      refresh$.next();
      const second = await rec.waitFor(() => true, 'a snapshot after refresh$');
      expect(rec.snapshots.length).toBe(before + 1);
      expect(Date.parse(second.time)).toBeGreaterThanOrEqual(Date.parse(first.time));
    } finally {
      rec.stop();
    }
    const after = rec.snapshots.length;
    refresh$.next();
    await dockerCli(
      'create',
      '--name',
      `${stem}_late`,
      ...labels(),
      '--network',
      'none',
      IMAGES.busybox,
      'true',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    expect(rec.snapshots.length).toBe(after);
    expect(refresh$.observed).toBe(false);
    await dockerCli('rm', '-f', `${stem}_late`);
  });
});
