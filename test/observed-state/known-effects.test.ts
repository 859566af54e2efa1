/**
 * The observer's rules for known effects against a scripted DockerApi: what it folds without a
 * call, which events of our own actions it does not inspect for (held while the action is in
 * flight, or echoing what the cache already shows), and what it still inspects. Each case would
 * show an inspect (or a relist) without the rule it is named after.
 */
import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { Subject, type Subscription } from 'rxjs';
import { Label } from '../../src/desired-state/labels.js';
import type { ContainerInspect, DockerApi, NetworkInspect } from '../../src/docker/client.js';
import { foldCreatedContainer } from '../../src/observed-state/fold.js';
import { observe } from '../../src/observed-state/observe.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import type { KnownEffect, RefreshRequest } from '../../src/observed-state/requests.js';

const scope: ObserveScope = { ownerId: 'w', taskId: 'T', runId: 0, images: ['img:1'] };
const ours = { [Label.owner]: 'w', [Label.taskId]: 'T', [Label.runId]: '0' };
const NET = 'n'.repeat(64);
const NET_NAME = 'ds-T-0';
const IMAGE_ID = 'sha256:' + 'f'.repeat(64);

/** A daemon in memory with one network of ours; it counts every call but the opening ones. */
function fakeDocker() {
  const containers = new Map<string, ContainerInspect>();
  const networks = new Map<string, NetworkInspect>([
    [NET, { Id: NET, Name: NET_NAME, Labels: ours, Containers: {} } as unknown as NetworkInspect],
  ]);
  const calls: string[] = [];
  const streams: PassThrough[] = [];
  const api = {
    systemTime: async () => (calls.push('info'), new Date().toISOString()),
    listContainers: async () => (
      calls.push('list containers'),
      [...containers.values()].map((c) => ({ Id: c.Id, Names: [c.Name], Labels: c.Config.Labels }))
    ),
    inspectContainer: async (id: string) => (calls.push(`inspect ${id}`), containers.get(id)),
    listNetworks: async () => (calls.push('list networks'), [...networks.values()]),
    inspectNetwork: async (id: string) => (calls.push(`inspect network ${id}`), networks.get(id)),
    inspectImage: async (ref: string) => (
      calls.push(`inspect image ${ref}`),
      { Id: IMAGE_ID, RepoDigests: [], Config: { Labels: { from: 'image' } } }
    ),
    events: async () => {
      calls.push('events');
      const stream = new PassThrough();
      streams.push(stream);
      return stream;
    },
  } as unknown as DockerApi;
  const emit = (type: string, action: string, id: string, attributes: Record<string, string> = {}) =>
    streams[0]!.write(
      `${JSON.stringify({ Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, timeNano: Date.now() * 1e6 })}\n`,
    );
  return {
    api,
    calls,
    containers,
    networks,
    container: (id: string, action: string) =>
      emit('container', action, id, { ...ours, name: `ds-T-0_${id}` }),
    network: (action: string, containerId?: string) =>
      emit('network', action, NET, { name: NET_NAME, ...(containerId ? { container: containerId } : {}) }),
  };
}

function created(id: string, options: { health?: boolean; name?: string } = {}): KnownEffect {
  return {
    kind: 'container-created',
    containerId: id,
    options: {
      name: options.name ?? `ds-T-0_${id}`,
      Image: 'img:1',
      Labels: { ...ours },
      HostConfig: { NetworkMode: NET_NAME },
      NetworkingConfig: { EndpointsConfig: { [NET_NAME]: { Aliases: [id] } } },
      ...(options.health ? { Healthcheck: { Test: ['CMD', 'true'] } } : {}),
    },
  };
}

/** What the engine shows once the fold's action has happened (what an inspect would answer). */
function inspected(id: string, status: string, health?: string): ContainerInspect {
  return {
    Id: id,
    Name: `/ds-T-0_${id}`,
    Image: IMAGE_ID,
    Config: { Image: 'img:1', Labels: { from: 'image', ...ours } },
    State: {
      Status: status,
      ExitCode: 0,
      OOMKilled: false,
      ...(health ? { Health: { Status: health } } : {}),
    },
    NetworkSettings: {
      Networks: { [NET_NAME]: { NetworkID: status === 'created' ? '' : NET, Aliases: [id] } },
    },
  } as unknown as ContainerInspect;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 30));

async function started() {
  const docker = fakeDocker();
  const refresh$ = new Subject<RefreshRequest | void>();
  const snapshots: Snapshot[] = [];
  const subscription: Subscription = observe(docker.api, scope, {
    refresh$,
    relistIntervalMs: 3_600_000,
    stallRelistMs: 3_600_000,
  }).subscribe((s) => snapshots.push(s));
  await until(() => snapshots.length === 1, 'the first relist');
  docker.calls.length = 0;
  let token = 0;
  /** Tells the observer what the executor tells it, and waits for the snapshot with the token. */
  const send = async (request: RefreshRequest) => {
    const t = (token += 1);
    refresh$.next({ ...request, token: t });
    await until(() => snapshots.some((s) => (s.refreshed ?? 0) >= t), `token ${t}`);
    await settle();
    return snapshots.at(-1)!;
  };
  return { docker, refresh$, snapshots, subscription, send };
}

const summary = (s: Snapshot) => ({
  containers: s.containers.map(
    (c) => `${c.id} ${c.state}/${c.health} ${Object.values(c.networks).map((e) => e.networkId)}`,
  ),
  members: s.networks.map((n) => n.containerIds),
});

describe('known effects', () => {
  it('folds a create and a start with no call, and takes the create, start and connect that echo them for nothing new', async () => {
    const { docker, subscription, send, refresh$ } = await started();
    try {
      refresh$.next({ hold: { key: 1, containerNames: ['ds-T-0_a'] } });
      docker.containers.set('a', inspected('a', 'created'));
      docker.container('a', 'create');
      await settle();
      let view = await send({ effects: [created('a', { health: true })], release: 1 });
      expect(summary(view)).toEqual({ containers: ['a created/none '], members: [[]] });
      expect(view.containers[0]!.labels).toEqual({ from: 'image', ...ours });

      refresh$.next({ hold: { key: 2, containers: ['a'] } });
      docker.containers.set('a', inspected('a', 'running', 'starting'));
      docker.network('connect', 'a');
      docker.container('a', 'start');
      await settle();
      view = await send({ effects: [{ kind: 'container-started', containerId: 'a' }], release: 2 });
      expect(summary(view)).toEqual({ containers: [`a running/starting ${NET}`], members: [['a']] });

      // The same events again, after the fold (no hold): each echoes what the cache shows.
      docker.container('a', 'create');
      docker.container('a', 'start');
      docker.network('connect', 'a');
      await settle();
      expect(docker.calls).toEqual([]);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('folds a removal as gone and out of its network, and takes its kill, die, disconnect and destroy for nothing new', async () => {
    const { docker, subscription, send, refresh$ } = await started();
    try {
      await send({ effects: [created('a')] });
      await send({ effects: [{ kind: 'container-started', containerId: 'a' }] });
      docker.calls.length = 0;
      refresh$.next({ hold: { key: 3, containers: ['a'] } });
      for (const action of ['kill', 'die']) docker.container('a', action);
      docker.network('disconnect', 'a');
      docker.container('a', 'destroy');
      await settle();
      const view = await send({ effects: [{ kind: 'container-removed', containerId: 'a' }], release: 3 });
      expect(summary(view)).toEqual({ containers: [], members: [[]] });
      // A late disconnect: the member list already shows it.
      docker.network('disconnect', 'a');
      await settle();
      expect(docker.calls).toEqual([]);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('still inspects a held event its effect does not explain: a die during a start', async () => {
    const { docker, subscription, send, refresh$ } = await started();
    try {
      await send({ effects: [created('a')] });
      refresh$.next({ hold: { key: 4, containers: ['a'] } });
      docker.containers.set('a', {
        ...inspected('a', 'exited'),
        State: { Status: 'exited', ExitCode: 3 },
      } as never);
      docker.container('a', 'start');
      docker.container('a', 'die');
      await settle();
      expect(docker.calls).toEqual([]);
      const view = await send({ effects: [{ kind: 'container-started', containerId: 'a' }], release: 4 });
      expect(docker.calls).toEqual(['inspect a']);
      expect(view.containers.map((c) => `${c.state} ${c.exitCode}`)).toEqual(['exited 3']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('inspects the held events of an action that failed, and is no longer current until a relist', async () => {
    const { docker, subscription, send, refresh$ } = await started();
    try {
      refresh$.next({ hold: { key: 5, containerNames: ['ds-T-0_b'] } });
      docker.containers.set('b', inspected('b', 'created'));
      docker.container('b', 'create');
      await settle();
      expect(docker.calls).toEqual([]);
      refresh$.next({ release: 5 });
      await until(() => docker.calls.includes('inspect b'), 'the inspect of b');
      // A teardown's start token relists now: the failed action may have done anything.
      docker.calls.length = 0;
      await send({ current: true });
      expect(docker.calls).toContain('list containers');
    } finally {
      subscription.unsubscribe();
    }
  });

  it('answers a current start token without a relist while its stream stayed open, and a bare one with one', async () => {
    const { docker, subscription, send } = await started();
    try {
      await send({ current: true });
      expect(docker.calls).toEqual([]);
      await send({});
      expect(docker.calls).toContain('list containers');
    } finally {
      subscription.unsubscribe();
    }
  });

  it('inspects what it cannot fold: a container of an image it does not know', async () => {
    const { docker, subscription, send } = await started();
    try {
      docker.containers.set('c', inspected('c', 'created'));
      const effect = created('c');
      if (effect.kind === 'container-created') effect.options.Image = 'other:1';
      await send({ effects: [effect] });
      expect(docker.calls).toEqual(['inspect c']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('keeps a removal folded while a relist that began before it answers', async () => {
    const { docker, subscription, send, refresh$, snapshots } = await started();
    try {
      await send({ effects: [created('a')] });
      docker.containers.set('a', inspected('a', 'created'));
      // A relist inspects `a`; its removal is folded before the relist's answers are.
      const inspectContainer = docker.api.inspectContainer;
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      docker.api.inspectContainer = (async (id: string) => {
        const answer = await inspectContainer(id);
        await gate;
        return answer;
      }) as typeof inspectContainer;
      refresh$.next();
      await until(() => docker.calls.includes('inspect a'), 'the relist');
      docker.containers.delete('a');
      refresh$.next({ effects: [{ kind: 'container-removed', containerId: 'a' }], token: 99 });
      release();
      await until(() => snapshots.some((s) => (s.refreshed ?? 0) >= 99), 'the token');
      await settle();
      for (const s of snapshots.filter((s) => (s.refreshed ?? 0) >= 99)) expect(s.containers).toEqual([]);
    } finally {
      subscription.unsubscribe();
    }
  });
});

describe('foldCreatedContainer', () => {
  const image = { ref: 'img:1', id: IMAGE_ID, repoDigests: [], labels: {} };
  it("runs the image's health check when the options set no test, and the options' when they do", () => {
    const plain = created('a');
    const withTest = created('a', { health: true });
    if (plain.kind !== 'container-created' || withTest.kind !== 'container-created') throw new Error();
    expect(foldCreatedContainer(plain, image)!.healthCheck).toBe(false);
    expect(foldCreatedContainer(plain, { ...image, healthCheck: true })!.healthCheck).toBe(true);
    expect(foldCreatedContainer(withTest, image)!.healthCheck).toBe(true);
    const none = { ...withTest, options: { ...withTest.options, Healthcheck: { Test: ['NONE'] } } };
    expect(foldCreatedContainer(none, { ...image, healthCheck: true })!.healthCheck).toBe(false);
  });
  it('folds nothing for an image it does not know or a network Docker fills in itself', () => {
    const plain = created('a');
    if (plain.kind !== 'container-created') throw new Error();
    expect(foldCreatedContainer(plain, undefined)).toBeUndefined();
    const bridge = { ...plain, options: { ...plain.options, HostConfig: { NetworkMode: 'bridge' } } };
    expect(foldCreatedContainer(bridge, image)).toBeUndefined();
  });
});
