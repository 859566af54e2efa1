/**
 * The live cache's safety-net relist against the in-memory engine (`FakeDocker`): on a cache with
 * a baseline it inspects only the containers whose list entry disagrees with the cache, and what
 * it then holds is what a full observation (`collectSnapshot`) shows. The cache reads no event
 * stream here, so every change below is made "behind its back", as if each event were lost.
 *
 * The engine's clock is the test's: list entries render durations from it (`Up 30 seconds`).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Label } from '../../src/desired-state/labels.js';
import { collectSnapshot } from '../../src/observed-state/collect.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';
import { SnapshotCache } from '../../src/observed-state/snapshot-cache.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { FakeDocker } from '../support/fake-docker.js';

const scope: ObserveScope = { ownerId: 'w', taskId: 'T', runId: 0, images: ['img:1', 'checked:1'] };
const ours = { [Label.owner]: 'w', [Label.taskId]: 'T', [Label.runId]: '0' };
const NET = 'ds-T-0';
const OTHER_NET = 'ds-T-0_other';

interface Harness {
  docker: FakeDocker;
  cache: SnapshotCache;
  snapshots: Snapshot[];
  errors: unknown[];
  ids: Record<string, string>;
  /** Advances the engine's clock. */
  tick(ms: number): void;
  /** Container inspects since the last `mark`, by container name. */
  inspectedSinceMark(): string[];
  mark(): void;
  /** Waits for the snapshot after the one the cache has emitted so far. */
  nextSnapshot(): Promise<Snapshot>;
  /** What a full observation shows now (its calls are not counted). */
  full(): Promise<Snapshot>;
}

const caches: SnapshotCache[] = [];
afterEach(() => {
  for (const cache of caches.splice(0)) cache.close();
});

/**
 * An engine with our network and four running containers: `plain` (no health check), `checked`
 * (healthy), `worker` (will be killed or exit), `spare`; and a cache whose first relist is done.
 */
async function harness(
  options: { maxByListRelists?: number; relistIntervalMs?: number } = {},
): Promise<Harness> {
  let clock = Date.parse('2026-12-02T12:00:00.000Z');
  const docker = new FakeDocker({
    now: () => clock,
    // Health results come only when a test sets them.
    background: () => new Promise<void>(() => undefined),
    images: [{ ref: 'img:1' }, { ref: 'checked:1', healthcheck: { Test: ['CMD', 'true'] } }],
  });
  docker.seedNetwork({ name: NET, labels: ours });
  docker.seedNetwork({ name: OTHER_NET, labels: ours });
  const ids: Record<string, string> = {};
  for (const [node, image] of [
    ['plain', 'img:1'],
    ['worker', 'img:1'],
    ['spare', 'img:1'],
    // Last: its address is free again when it restarts, so its networks look as before.
    ['checked', 'checked:1'],
  ] as const) {
    ids[node] = docker.seedContainer({
      name: `${NET}_${node}`,
      image,
      labels: ours,
      networks: [{ name: NET, aliases: [node] }],
      state: 'running',
    });
  }
  docker.setHealth(ids.checked!, 'healthy');
  clock += 5_000;

  const snapshots: Snapshot[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  const cache = new SnapshotCache(docker, scope, {
    relistIntervalMs: options.relistIntervalMs ?? 3_600_000,
    maxByListRelists: options.maxByListRelists ?? 1_000,
    backoff: { initialMs: 10, maxMs: 40 },
    random: () => 0.5,
    echoTokens: false,
    reportError: (error) => errors.push(error),
    emit: (snapshot) => {
      snapshots.push(snapshot);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  caches.push(cache);
  let mark = docker.calls.length;
  const nameOf = (id: string) => docker.world().containers.find((c) => c.id === id)?.name ?? id;
  const h: Harness = {
    docker,
    cache,
    snapshots,
    errors,
    ids,
    tick: (ms) => {
      clock += ms;
    },
    mark: () => {
      mark = docker.calls.length;
    },
    inspectedSinceMark: () =>
      docker.calls
        .slice(mark)
        .filter((c) => c.op === 'container inspect')
        .map((c) => nameOf(String(c.args[0])).replace(`${NET}_`, ''))
        .sort(),
    nextSnapshot: () => {
      const count = snapshots.length;
      return new Promise<Snapshot>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no snapshot after ${count}; errors: ${errors.map(String).join('; ')}`)),
          10_000,
        );
        const check = () => {
          if (snapshots.length > count) {
            clearTimeout(timer);
            resolve(snapshots[count]!);
          } else waiters.push(check);
        };
        check();
      });
    },
    full: async () => {
      const before = docker.calls.length;
      const snapshot = await collectSnapshot(docker, scope);
      docker.calls.splice(before);
      return snapshot;
    },
  };
  const first = h.nextSnapshot();
  cache.streamOpened();
  await first;
  return h;
}

/** A safety-net relist 30 s after the last: its snapshot and the containers it inspected. */
async function byListRelist(h: Harness): Promise<{ snapshot: Snapshot; inspected: string[] }> {
  h.tick(30_000);
  h.mark();
  const next = h.nextSnapshot();
  h.cache.safetyNetRelistSoon();
  const snapshot = await next;
  return { snapshot, inspected: h.inspectedSinceMark() };
}

/** The containers as a full observation shows them now. */
async function expectAsFull(h: Harness, snapshot: Snapshot): Promise<void> {
  expect(snapshot.containers).toEqual((await h.full()).containers);
}

describe('a safety-net relist on a cache with a baseline', () => {
  it('inspects no container when nothing changed, and keeps what a full relist would show', async () => {
    const h = await harness();
    expect(h.snapshots[0]!.containers).toHaveLength(4);
    for (let i = 0; i < 3; i++) {
      const { snapshot, inspected } = await byListRelist(h);
      expect(inspected).toEqual([]);
      await expectAsFull(h, snapshot);
    }
    // It still lists, and inspects the networks (a list entry carries no members) and images.
    const from = h.docker.calls.length;
    await byListRelist(h);
    const ops = h.docker.calls.slice(from).map((c) => c.op);
    expect(ops).not.toContain('container inspect');
    expect(ops.filter((op) => op === 'network inspect')).toHaveLength(2);
    expect(ops.filter((op) => op === 'container list')).toHaveLength(2);
    expect(h.errors).toEqual([]);
  });

  it('inspects a container that appeared, and drops one that is gone, with no other inspect', async () => {
    const h = await harness();
    h.docker.seedContainer({
      name: `${NET}_late`,
      image: 'img:1',
      labels: ours,
      state: 'running',
      networks: [{ name: NET }],
    });
    h.docker.removeExternally(h.ids.spare!);
    const { snapshot, inspected } = await byListRelist(h);
    expect(inspected).toEqual(['late']);
    expect(snapshot.containers.map((c) => c.name.replace(`${NET}_`, ''))).toEqual([
      'checked',
      'late',
      'plain',
      'worker',
    ]);
    await expectAsFull(h, snapshot);
  });

  it('inspects a container whose state changed (killed) and only it', async () => {
    const h = await harness();
    h.docker.kill(h.ids.worker!);
    const { snapshot, inspected } = await byListRelist(h);
    expect(inspected).toEqual(['worker']);
    expect(snapshot.containers.find((c) => c.id === h.ids.worker)).toMatchObject({
      state: 'exited',
      exitCode: 137,
    });
    await expectAsFull(h, snapshot);
  });

  it('inspects a container whose health changed and only it', async () => {
    const h = await harness();
    h.docker.setHealth(h.ids.checked!, 'unhealthy');
    const { snapshot, inspected } = await byListRelist(h);
    expect(inspected).toEqual(['checked']);
    expect(snapshot.containers.find((c) => c.id === h.ids.checked)?.health).toBe('unhealthy');
    await expectAsFull(h, snapshot);
  });

  it('inspects a container that ran again and exited with another code, and one that exited again with the same', async () => {
    const h = await harness();
    h.docker.exitExternally(h.ids.worker!, 1);
    h.docker.exitExternally(h.ids.spare!, 3);
    expect((await byListRelist(h)).inspected).toEqual(['spare', 'worker']);
    // Both exited, as the cache now holds them; each runs again for a few seconds and exits.
    h.tick(5_000);
    h.docker.startExternally(h.ids.worker!);
    h.docker.startExternally(h.ids.spare!);
    h.tick(2_000);
    h.docker.exitExternally(h.ids.worker!, 2);
    h.docker.exitExternally(h.ids.spare!, 3);
    const { snapshot, inspected } = await byListRelist(h);
    expect(inspected).toEqual(['spare', 'worker']);
    expect(snapshot.containers.find((c) => c.id === h.ids.worker)?.exitCode).toBe(2);
    await expectAsFull(h, snapshot);
    // Exited and left alone: nothing to inspect.
    expect((await byListRelist(h)).inspected).toEqual([]);
  });

  it('inspects a container restarted between relists whose state, health and networks look the same as before', async () => {
    const h = await harness();
    const before = h.snapshots[0]!.containers.find((c) => c.id === h.ids.checked)!;
    h.tick(20_000);
    h.docker.restartExternally(h.ids.checked!);
    h.docker.setHealth(h.ids.checked!, 'healthy');
    // The list now says `Up 10 seconds (healthy)`, running on the same address: only the time
    // since its start (10 s, where the cached start says 55 s) gives the restart away.
    const { snapshot, inspected } = await byListRelist(h);
    expect(inspected).toEqual(['checked']);
    const after = snapshot.containers.find((c) => c.id === h.ids.checked)!;
    expect(after.networks).toEqual(before.networks);
    expect(after.health).toBe(before.health);
    expect(after.startedAt).not.toBe(before.startedAt);
    await expectAsFull(h, snapshot);
  });

  it('keeps no inspect for a started container folded from Docker answer, and still sees it restarted just after a relist', async () => {
    const h = await harness();
    const options = {
      name: `${NET}_folded`,
      Image: 'img:1',
      Labels: ours,
      HostConfig: { NetworkMode: NET },
      NetworkingConfig: { EndpointsConfig: { [NET]: { Aliases: ['folded'] } } },
    };
    const containerId = await h.docker.createContainer(options);
    h.cache.request({ effects: [{ kind: 'container-created', containerId, options }] });
    await h.docker.startContainer(containerId);
    h.cache.request({ effects: [{ kind: 'container-started', containerId }] });
    // Two relists by list: the folded start agrees with its entry (its address comes from the list).
    const first = await byListRelist(h);
    expect(first.inspected).toEqual([]);
    expect(first.snapshot.containers.find((c) => c.id === containerId)?.networks[NET]?.ipAddress).not.toBe(
      '',
    );
    expect((await byListRelist(h)).inspected).toEqual([]);
    // Restarted half a second after that relist, its events lost: 30 s on, the list says `Up 30
    // seconds`, which fits that relist's time but not the start the fold bounds (60 s before).
    h.tick(500);
    h.docker.restartExternally(containerId);
    const { snapshot, inspected } = await byListRelist(h);
    expect(inspected).toEqual(['folded']);
    expect(snapshot.containers.find((c) => c.id === containerId)?.startedAt).toBeDefined();
    await expectAsFull(h, snapshot);
  });

  it('inspects a container whose networks changed (connected, disconnected) and only it', async () => {
    const h = await harness();
    await h.docker.connectNetwork(OTHER_NET, h.ids.plain!, ['plain']);
    const connected = await byListRelist(h);
    expect(connected.inspected).toEqual(['plain']);
    expect(Object.keys(connected.snapshot.containers.find((c) => c.id === h.ids.plain)!.networks)).toEqual([
      NET,
      OTHER_NET,
    ]);
    await expectAsFull(h, connected.snapshot);
    await h.docker.disconnectNetwork(OTHER_NET, h.ids.plain!);
    const disconnected = await byListRelist(h);
    expect(disconnected.inspected).toEqual(['plain']);
    await expectAsFull(h, disconnected.snapshot);
  });

  it('still inspects a container an event marked before it began, whatever its list entry shows', async () => {
    const h = await harness();
    h.tick(30_000);
    h.mark();
    const next = h.nextSnapshot();
    // An event the list cannot confirm or deny (a network's `connect`: aliases are not listed),
    // taken in the same turn as the relist, so that one batch covers both.
    h.cache.onEvent({
      type: 'network',
      action: 'connect',
      actorId: 'elsewhere',
      attributes: { container: h.ids.plain! },
    });
    h.cache.safetyNetRelistSoon();
    await next;
    expect(h.inspectedSinceMark()).toEqual(['plain']);
  });

  it('catches a change made behind its back on the periodic timer alone', async () => {
    const h = await harness({ relistIntervalMs: 50 });
    h.cache.start();
    h.docker.kill(h.ids.worker!);
    h.mark();
    let seen: Snapshot | undefined;
    while (!seen) {
      const snapshot = await h.nextSnapshot();
      if (snapshot.containers.find((c) => c.id === h.ids.worker)?.state === 'exited') seen = snapshot;
    }
    // Only the killed container was ever inspected: no relist along the way was full.
    expect([...new Set(h.inspectedSinceMark())]).toEqual(['worker']);
    await expectAsFull(h, seen);
  });
});

describe('calls per relist', () => {
  it('at N = 20 (40 containers, one network, two images): a by-list relist of an unchanged state makes 40 calls fewer than a full one', async () => {
    const h = await harness({ maxByListRelists: 1 });
    for (let i = 0; i < 36; i++)
      h.docker.seedContainer({
        name: `${NET}_s${i}`,
        image: 'img:1',
        labels: ours,
        state: 'running',
        networks: [{ name: NET }],
      });
    h.docker.removeNetworkExternally(OTHER_NET);
    const callsOf = async (): Promise<Record<string, number>> => {
      const from = h.docker.calls.length;
      await byListRelist(h);
      const counts: Record<string, number> = {};
      for (const call of h.docker.calls.slice(from)) counts[call.op] = (counts[call.op] ?? 0) + 1;
      return counts;
    };
    // The first (by list) sees the 36 new containers; then one full (maxByListRelists 1), one by list.
    await callsOf();
    const full = await callsOf();
    const byList = await callsOf();
    expect(full['container inspect']).toBe(40);
    expect(byList['container inspect']).toBeUndefined();
    const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total(full) - total(byList)).toBe(40);
    // info, two container lists and two network lists (by label and by name), the network and the images.
    expect(byList).toEqual({
      info: 1,
      'container list': 2,
      'network list': 2,
      'network inspect': 1,
      'image inspect': 2,
    });
  });
});

describe('full relists', () => {
  it('after maxByListRelists by-list relists in a row, the next inspects every container', async () => {
    const h = await harness({ maxByListRelists: 2 });
    expect((await byListRelist(h)).inspected).toEqual([]);
    expect((await byListRelist(h)).inspected).toEqual([]);
    expect((await byListRelist(h)).inspected).toEqual(['checked', 'plain', 'spare', 'worker']);
    expect((await byListRelist(h)).inspected).toEqual([]);
  });

  it('maxByListRelists 0: every relist is full', async () => {
    const h = await harness({ maxByListRelists: 0 });
    expect((await byListRelist(h)).inspected).toEqual(['checked', 'plain', 'spare', 'worker']);
  });

  it('a relist asked for as such (relistSoon), and one after a lost stream, inspect every container', async () => {
    const h = await harness();
    h.mark();
    let next = h.nextSnapshot();
    h.cache.relistSoon();
    await next;
    expect(h.inspectedSinceMark()).toEqual(['checked', 'plain', 'spare', 'worker']);
    h.cache.streamLost();
    h.mark();
    next = h.nextSnapshot();
    h.cache.streamOpened();
    await next;
    expect(h.inspectedSinceMark()).toEqual(['checked', 'plain', 'spare', 'worker']);
  });

  it('a safety-net relist while no stream is open is full', async () => {
    const h = await harness();
    h.cache.streamLost();
    h.mark();
    // While the stream is down the cache emits nothing; give the relist time to finish.
    h.cache.safetyNetRelistSoon();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.inspectedSinceMark()).toEqual(['checked', 'plain', 'spare', 'worker']);
  });

  it('after an action that settled without an answer (uncertain), the safety-net relist is full', async () => {
    const h = await harness();
    // A released hold with no token and no effect: the action failed or timed out.
    h.cache.request({ hold: { key: 1, containers: [h.ids.worker!] } });
    h.cache.request({ release: 1 });
    // Let the pump settle whatever the request itself asked for.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { inspected } = await byListRelist(h);
    expect(inspected).toEqual(['checked', 'plain', 'spare', 'worker']);
  });
});
