/**
 * The observer's protocol against a scripted DockerApi: what it calls, when, and what it does on
 * a lost stream, a failing daemon and a burst of events. The engine tests show it works on
 * dockerd; these show the parts a live engine cannot be made to do on cue.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PassThrough } from 'node:stream';
import { Subject, type Subscription } from 'rxjs';
import { Label } from '../../src/desired-state/labels.js';
import type { ContainerInspect, DockerApi } from '../../src/docker/client.js';
import { DaemonClockSource } from '../../src/observed-state/daemon-clock.js';
import { backoffDelay, observe, toDockerSince } from '../../src/observed-state/observe.js';
import type { ObserveScope } from '../../src/observed-state/scope.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import type { RefreshRequest } from '../../src/observed-state/requests.js';

const scope: ObserveScope = { ownerId: 'w', taskId: 'T', runId: 0, images: [] };
const ours = { [Label.owner]: 'w', [Label.taskId]: 'T', [Label.runId]: '0' };

function inspect(id: string, status = 'running', health?: string): ContainerInspect {
  return {
    Id: id,
    Name: `/ds-T-0_${id}`,
    Created: '2024-01-01T00:00:00Z',
    State: {
      Status: status,
      ExitCode: 0,
      OOMKilled: false,
      StartedAt: '',
      FinishedAt: '',
      ...(health ? { Health: { Status: health, Log: [] } } : {}),
    },
    Image: 'sha256:x',
    Config: { Image: 'busybox', Labels: ours },
    NetworkSettings: { Networks: {} },
  } as unknown as ContainerInspect;
}

/**
 * A daemon in memory: containers by id, a call log, a switch to fail calls, the open streams. Its
 * clock is fixed, or this process's when events are to carry times.
 */
function fakeDocker({ realClock = false } = {}) {
  const containers = new Map<string, ContainerInspect>();
  const calls: string[] = [];
  const streams: PassThrough[] = [];
  /** Ids whose inspect always fails. */
  const broken = new Set<string>();
  let failing = false;
  /** The daemon's clock minus ours, when it runs on ours (`realClock`). */
  let clockOffsetMs = 0;
  /** `/events` alone fails (the rest of the API answers). */
  let eventsBroken = false;
  const guard = (name: string, id?: string) => {
    calls.push(name);
    if (failing) return Promise.reject(new Error(`${name}: daemon down`));
    if (id !== undefined && broken.has(id)) return Promise.reject(new Error(`${name}: broken`));
    return Promise.resolve();
  };
  const api = {
    systemTime: async () => (
      await guard('info'),
      realClock ? new Date(Date.now() + clockOffsetMs).toISOString() : '2024-01-01T00:00:00.123456789Z'
    ),
    listContainers: async () => {
      await guard('list containers');
      return [...containers.values()].map((c) => ({ Id: c.Id, Names: [c.Name], Labels: c.Config.Labels }));
    },
    inspectContainer: async (id: string) => (await guard(`inspect ${id}`, id), containers.get(id)),
    listNetworks: async () => (await guard('list networks'), []),
    inspectNetwork: async (id: string) => (await guard(`inspect network ${id}`), undefined),
    inspectImage: async (ref: string) => (await guard(`inspect image ${ref}`), undefined),
    events: async (options: { since?: string }) => {
      await guard(`events since ${options.since}`);
      if (eventsBroken) throw new Error('events: cannot open');
      const stream = new PassThrough();
      streams.push(stream);
      return stream;
    },
  } as unknown as DockerApi;
  return {
    api,
    containers,
    calls,
    streams,
    broken,
    setFailing: (value: boolean) => (failing = value),
    setEventsBroken: (value: boolean) => (eventsBroken = value),
    setClockOffset: (ms: number) => (clockOffsetMs = ms),
    emit: (stream: PassThrough, id: string, action: string, timeMs?: number) =>
      stream.write(
        `${JSON.stringify({
          Type: 'container',
          Action: action,
          Actor: { ID: id, Attributes: { ...ours, name: `ds-T-0_${id}` } },
          ...(timeMs === undefined ? {} : { timeNano: timeMs * 1e6 }),
        })}\n`,
      ),
  };
}

function collect(source: ReturnType<typeof observe>) {
  const snapshots: Snapshot[] = [];
  const subscription: Subscription = source.subscribe((s) => snapshots.push(s));
  return { snapshots, subscription };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fast = { relistIntervalMs: 3_600_000, stallRelistMs: 3_600_000, backoff: { initialMs: 10, maxMs: 40 } };
const names = (s: Snapshot | undefined) => s?.containers.map((c) => `${c.id}:${c.state}`);

describe('observe protocol', () => {
  it('subscribes since daemon time before the first list, then refreshes only what an event names', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      expect(docker.calls.indexOf('events since 1704067200.123456789')).toBeGreaterThan(-1);
      expect(docker.calls.indexOf('events since 1704067200.123456789')).toBeLessThan(
        docker.calls.indexOf('list containers'),
      );
      expect(names(snapshots[0])).toEqual(['a:running']);

      docker.calls.length = 0;
      docker.containers.set('b', inspect('b', 'created'));
      docker.emit(docker.streams[0]!, 'b', 'create');
      await until(() => snapshots.length === 2, 'a snapshot after the event');
      expect(names(snapshots[1])).toEqual(['a:running', 'b:created']);
      expect(docker.calls).toEqual(['inspect b']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it("asks the daemon's time once per stream: the relist that follows it bears the time the stream replays from", async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(observe(docker.api, scope, { ...fast, refresh$ }));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      // `/info` is one of dockerd's costlier calls, and a task's first create waits for this relist.
      expect(docker.calls.filter((c) => c === 'info')).toHaveLength(1);
      expect(snapshots[0]!.time).toBe('2024-01-01T00:00:00.123456789Z');

      // A relist of its own (here a bare refresh request) asks again: the stream's time is used once.
      docker.calls.length = 0;
      refresh$.next();
      await until(() => snapshots.length === 2, 'the relist of the bare request');
      expect(docker.calls.filter((c) => c === 'info')).toHaveLength(1);
      expect(docker.calls.indexOf('info')).toBeLessThan(docker.calls.indexOf('list containers'));
    } finally {
      subscription.unsubscribe();
    }
  });

  it('a refresh request naming objects inspects only those; a bare one relists; tokens come back', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    docker.containers.set('b', inspect('b', 'created'));
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(observe(docker.api, scope, { ...fast, refresh$ }));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      expect(snapshots[0]!.refreshed).toBe(0);

      docker.calls.length = 0;
      docker.containers.set('b', inspect('b', 'running'));
      refresh$.next({ containers: ['b'], token: 1 });
      await until(() => snapshots.length === 2, 'a snapshot after the request');
      expect(docker.calls).toEqual(['inspect b']);
      expect(names(snapshots[1])).toEqual(['a:running', 'b:running']);
      expect(snapshots[1]!.refreshed).toBe(1);

      docker.calls.length = 0;
      refresh$.next({ token: 2 });
      await until(() => snapshots.length === 3, 'a snapshot after the bare request');
      expect(docker.calls).toContain('list containers');
      expect(snapshots[2]!.refreshed).toBe(2);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('a token comes back only on a snapshot of a batch that began after the request', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    let releaseInspect: () => void = () => {};
    const gate = new Promise<void>((resolve) => (releaseInspect = resolve));
    const slow = docker.api.inspectContainer;
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(observe(docker.api, scope, { ...fast, refresh$ }));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      // An inspect of a held in flight when the request for b comes: that batch does not cover it.
      let held = false;
      docker.api.inspectContainer = async (id: string) => {
        if (id === 'a') {
          held = true;
          await gate;
        }
        return slow(id);
      };
      docker.emit(docker.streams[0]!, 'a', 'kill');
      await until(() => held, 'the inspect of a');
      docker.containers.set('b', inspect('b'));
      refresh$.next({ containers: ['b'], token: 7 });
      releaseInspect();
      await until(() => snapshots.length === 3, 'two more snapshots');
      expect(snapshots[1]!.refreshed).toBe(0);
      expect(names(snapshots[1])).toEqual(['a:running']);
      expect(snapshots[2]!.refreshed).toBe(7);
      expect(names(snapshots[2])).toEqual(['a:running', 'b:running']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('once the stream is lost, only a relist begun after the loss emits or gives a token back', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    docker.containers.set('b', inspect('b'));
    let releaseInspect: () => void = () => {};
    const gate = new Promise<void>((resolve) => (releaseInspect = resolve));
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(observe(docker.api, scope, { ...fast, refresh$ }));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      const inspectOf = docker.api.inspectContainer;
      let held = false;
      docker.api.inspectContainer = async (id: string) => {
        if (id === 'b' && !held) {
          held = true;
          await gate;
        }
        return inspectOf(id);
      };
      // The loop asks about b; while that inspect is out, the daemon restarts: a dies with no
      // event and the stream ends. The cache still says a is running.
      refresh$.next({ containers: ['b'], token: 1 });
      await until(() => held, 'the inspect of b');
      docker.containers.set('a', inspect('a', 'exited'));
      docker.calls.length = 0;
      docker.streams[0]!.end();
      // The loss is seen (the reconnect asks the daemon's time) before b's inspect comes back.
      await until(() => docker.calls.includes('info'), 'the reconnect');
      refresh$.next({ containers: ['b'], token: 2 });
      releaseInspect();
      await until(() => snapshots.some((s) => s.refreshed === 2), 'the token back');
      expect(docker.calls).toContain('list containers');
      // Every snapshot after the first comes from a relist that saw a die.
      for (const later of snapshots.slice(1)) expect(names(later)).toEqual(['a:exited', 'b:running']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('applies a health event newer than what it knows at once, with no inspect; an older one waits for one', async () => {
    const docker = fakeDocker({ realClock: true });
    docker.containers.set('a', inspect('a', 'running', 'starting'));
    docker.containers.set('x', inspect('x', 'exited'));
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    const health = (s: Snapshot | undefined) => s?.containers.map((c) => `${c.id}:${c.health}`);
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      const listedAt = Date.now();
      const inspectOf = docker.api.inspectContainer;
      let releaseInspect: () => void = () => {};
      const gate = new Promise<void>((resolve) => (releaseInspect = resolve));
      let held = 0;
      docker.api.inspectContainer = async (id: string) => {
        // Answers with the state at the time of the call, later.
        const answer = await inspectOf(id);
        held += 1;
        await gate;
        return answer;
      };
      // Replayed from before the list (`since` replays), and one for a container that is not running.
      docker.emit(docker.streams[0]!, 'a', 'health_status: healthy', listedAt - 1_000);
      docker.emit(docker.streams[0]!, 'x', 'health_status: healthy', Date.now());
      await until(() => held === 2, 'both inspects out');
      await new Promise((r) => setTimeout(r, 30));
      expect(snapshots).toHaveLength(1);

      // A new one while those inspects are out: seen at once.
      docker.containers.set('a', inspect('a', 'running', 'healthy'));
      docker.emit(docker.streams[0]!, 'a', 'health_status: healthy', Date.now());
      await until(() => snapshots.length === 2, 'a snapshot from the event');
      expect(health(snapshots[1])).toEqual(['a:healthy', 'x:none']);
      expect(held).toBe(2);

      // The inspect that began before the event does not undo it; as the event came while that
      // batch was out, one more confirms it (with no batch out, none follows: see known-effects).
      docker.api.inspectContainer = inspectOf;
      releaseInspect();
      await until(() => snapshots.length >= 3, 'the batch');
      await new Promise((r) => setTimeout(r, 50));
      // The relist's, the batch's for the replayed event, and the one after that batch.
      expect(docker.calls.filter((c) => c === 'inspect a')).toHaveLength(3);
      for (const later of snapshots.slice(1)) expect(health(later)).toEqual(['a:healthy', 'x:none']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('coalesces a burst of events on one object into one inspect', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.calls.length = 0;
      docker.containers.set('a', inspect('a', 'exited'));
      for (const action of ['kill', 'die', 'stop', 'kill', 'die'])
        docker.emit(docker.streams[0]!, 'a', action);
      await until(() => snapshots.length === 2, 'a snapshot after the burst');
      expect(docker.calls.filter((c) => c === 'inspect a')).toHaveLength(1);
      expect(names(snapshots[1])).toEqual(['a:exited']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('keeps each refreshed object under its own id when inspects finish out of order', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    docker.containers.set('b', inspect('b'));
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      // `a` answers last: a refresh that paired results by completion order would file b's
      // inspect under a's id, and the next event on b would then drop the live `a`.
      const inspectContainer = docker.api.inspectContainer.bind(docker.api);
      docker.api.inspectContainer = async (id: string) => {
        if (id === 'a') await new Promise((r) => setTimeout(r, 50));
        return inspectContainer(id);
      };
      docker.containers.delete('b');
      docker.emit(docker.streams[0]!, 'a', 'start');
      docker.emit(docker.streams[0]!, 'b', 'destroy');
      await until(() => snapshots.length === 2, 'the snapshot after both refreshes');
      expect(snapshots[1]!.containers.map((c) => `${c.id}=${c.name}`)).toEqual(['a=ds-T-0_a']);
      docker.calls.length = 0;
      docker.emit(docker.streams[0]!, 'b', 'destroy');
      docker.emit(docker.streams[0]!, 'a', 'kill');
      await until(() => snapshots.length === 3, 'the snapshot after the next events');
      expect(snapshots[2]!.containers.map((c) => `${c.id}=${c.name}`)).toEqual(['a=ds-T-0_a']);
      // b was found gone under its own id: its duplicate event is not inspected again.
      expect(docker.calls).toEqual(['inspect a']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('ignores events of objects that are not ours nor named like ours', async () => {
    const docker = fakeDocker();
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.calls.length = 0;
      docker.streams[0]!.write(
        `${JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'z', Attributes: { name: 'postgres' } } })}\nnot json\n`,
      );
      docker.emit(docker.streams[0]!, 'b', 'create');
      await until(() => snapshots.length === 2, 'the snapshot after the relevant event');
      expect(docker.calls).toEqual(['inspect b']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it("opens a later observer's stream before `/info` with a shared clock, and reopens it if the daemon's clock went back", async () => {
    const docker = fakeDocker({ realClock: true });
    docker.containers.set('a', inspect('a'));
    const daemonClock = new DaemonClockSource(docker.api);
    const first = collect(observe(docker.api, scope, { ...fast, daemonClock }));
    const errors: unknown[] = [];
    try {
      await until(() => first.snapshots.length === 1, "the first observer's snapshot");
      expect(docker.calls.slice(0, 2)).toEqual(['info', expect.stringMatching(/^events since /)]);

      docker.calls.length = 0;
      const second = collect(observe(docker.api, scope, { ...fast, daemonClock, clockCheckDelayMs: 300 }));
      try {
        await until(() => second.snapshots.length === 1, "the second observer's snapshot");
        // The task's lists wait for the stream only; the clock is checked later, not beside them.
        expect(docker.calls[0]).toMatch(/^events since /);
        expect(docker.calls).not.toContain('info');
        await until(() => docker.calls.includes('info'), 'the check');
        await new Promise((r) => setTimeout(r, 50));
        expect(docker.calls.filter((c) => c.startsWith('events'))).toHaveLength(1);
      } finally {
        second.subscription.unsubscribe();
      }

      // The daemon's clock goes back 10 s: a stream given the estimate may have missed events.
      docker.setClockOffset(-10_000);
      docker.calls.length = 0;
      const third = collect(
        observe(docker.api, scope, {
          ...fast,
          daemonClock,
          clockCheckDelayMs: 50,
          onError: (e) => errors.push(e),
        }),
      );
      try {
        // What the first stream may have missed is listed after the second opened.
        const reopened = () => docker.calls.findLastIndex((c) => c.startsWith('events'));
        await until(
          () =>
            docker.calls.filter((c) => c.startsWith('events')).length === 2 &&
            docker.calls.indexOf('list containers', reopened()) > reopened() &&
            third.snapshots.length >= 2,
          'the stream reopened, relisted and a snapshot after',
        );
        const [estimated, measured] = docker.calls.filter((c) => c.startsWith('events'));
        const sinceOf = (call: string | undefined) => Number(call!.slice('events since '.length)) * 1000;
        expect(sinceOf(estimated) - sinceOf(measured)).toBeGreaterThan(9_000);
        expect(String(errors[0])).toMatch(/clock is behind/);
      } finally {
        third.subscription.unsubscribe();
      }
    } finally {
      first.subscription.unsubscribe();
    }
  });

  it('reconnects with backoff when the stream ends or fails, and relists at once and on every reconnect', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const errors: unknown[] = [];
    const { snapshots, subscription } = collect(
      observe(docker.api, scope, { ...fast, onError: (e) => errors.push(e) }),
    );
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      // Daemon "restarts": the stream ends, calls fail for a while, a container changed meanwhile.
      docker.setFailing(true);
      docker.containers.set('a', inspect('a', 'exited'));
      docker.streams[0]!.end();
      await until(() => errors.length >= 3, 'a few failed reconnects');
      docker.setFailing(false);
      await until(() => docker.streams.length === 2 && snapshots.length >= 2, 'reconnected, a snapshot');
      // The relists (the one the loss asked for at once, the reconnect's) both see the change.
      for (const later of snapshots.slice(1)) expect(names(later)).toEqual(['a:exited']);
      expect(String(errors[0])).toMatch(/stream ended/);

      docker.calls.length = 0;
      docker.streams[1]!.destroy(new Error('socket hang up'));
      await until(
        () => docker.streams.length === 3 && docker.calls.filter((c) => c === 'list containers').length >= 2,
        'a relist at once and one after reconnecting',
      );
      expect(errors.map(String)).toContain('Error: socket hang up');
    } finally {
      subscription.unsubscribe();
    }
  });

  it('relists on every failed attempt to reopen the stream: a stream that cannot come back leaves no stale view', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.setEventsBroken(true);
      docker.streams[0]!.end();
      await until(() => names(snapshots.at(-1))?.length === 1 && snapshots.length >= 2, 'the loss relist');
      // Nothing reports this change but a relist: the stream is gone and does not come back.
      docker.containers.set('b', inspect('b'));
      await until(() => names(snapshots.at(-1))?.includes('b:running') === true, 'a relist that sees b');
      expect(docker.streams).toHaveLength(1);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('retries a failed relist with backoff and keeps the observable alive', async () => {
    const docker = fakeDocker();
    const errors: unknown[] = [];
    const refresh$ = new Subject<void>();
    const { snapshots, subscription } = collect(
      observe(docker.api, scope, { ...fast, refresh$, onError: (e) => errors.push(e) }),
    );
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.setFailing(true);
      refresh$.next();
      await until(() => errors.length >= 2, 'two failed relists');
      docker.containers.set('c', inspect('c'));
      docker.setFailing(false);
      await until(() => snapshots.length === 2, 'a snapshot once the daemon answers');
      expect(names(snapshots[1])).toEqual(['c:running']);
      expect(subscription.closed).toBe(false);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('retries a failed batch of inspects as a relist, so one failing id cannot hold snapshots back', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    docker.broken.add('x');
    const errors: unknown[] = [];
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(
      observe(docker.api, scope, { ...fast, refresh$, onError: (e) => errors.push(e) }),
    );
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.calls.length = 0;
      docker.containers.set('a', inspect('a', 'exited'));
      refresh$.next({ containers: ['a', 'x'], token: 1 });
      await until(() => snapshots.length === 2, 'a snapshot after the failed batch');
      expect(errors).toHaveLength(1);
      expect(docker.calls.filter((c) => c === 'inspect x')).toEqual(['inspect x']);
      expect(docker.calls).toContain('list containers');
      expect(names(snapshots[1])).toEqual(['a:exited']);
      expect(snapshots[1]!.refreshed).toBe(1);
    } finally {
      subscription.unsubscribe();
    }
  });

  it("does not inspect after events that change nothing it reports (a health probe's exec_*), but after the probe's health_status", async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a', 'running', 'starting'));
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.calls.length = 0;
      for (const action of ['exec_create: /probe', 'exec_start: /probe', 'exec_die', 'resize', 'top'])
        docker.emit(docker.streams[0]!, 'a', action);
      // Events are handled in order: the batch b's event starts would include a, were it marked.
      docker.containers.set('b', inspect('b'));
      docker.emit(docker.streams[0]!, 'b', 'create');
      await until(() => names(snapshots.at(-1))?.join() === 'a:running,b:running', 'b seen');
      expect(docker.calls).toEqual(['inspect b']);

      docker.containers.set('a', inspect('a', 'running', 'unhealthy'));
      docker.emit(docker.streams[0]!, 'a', 'health_status: unhealthy');
      await until(() => snapshots.at(-1)!.containers[0]!.health === 'unhealthy', 'the health event seen');
      expect(docker.calls).toEqual(['inspect b', 'inspect a']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('never inspects an object again once an inspect found it gone; a request naming only such still gets its token', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(observe(docker.api, scope, { ...fast, refresh$ }));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.calls.length = 0;
      docker.containers.delete('a');
      refresh$.next({ containers: ['a'], token: 1 });
      await until(() => snapshots.length === 2, 'a snapshot after the removal');
      expect(docker.calls).toEqual(['inspect a']);
      expect(names(snapshots[1])).toEqual([]);

      // Late events of its removal, and the loop asking again: nothing Docker could say is new.
      for (const action of ['die', 'destroy']) docker.emit(docker.streams[0]!, 'a', action);
      refresh$.next({ containers: ['a'], token: 2 });
      await until(() => snapshots.some((s) => s.refreshed === 2), 'the token of the second request');
      expect(docker.calls).toEqual(['inspect a']);

      // Another object's events are still inspected.
      docker.containers.set('b', inspect('b'));
      docker.emit(docker.streams[0]!, 'b', 'create');
      await until(() => names(snapshots.at(-1))?.join() === 'b:running', 'b seen');
      expect(docker.calls).toEqual(['inspect a', 'inspect b']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('inspects a container being removed again on its destroy event only, not on the kill, die and disconnects of its removal', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a', 'removing'));
    const { snapshots, subscription } = collect(observe(docker.api, scope, fast));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.calls.length = 0;
      for (const action of ['kill', 'die', 'stop']) docker.emit(docker.streams[0]!, 'a', action);
      // Events are handled in order: the batch b's event starts would include a, were it marked.
      docker.containers.set('b', inspect('b'));
      docker.emit(docker.streams[0]!, 'b', 'create');
      await until(() => names(snapshots.at(-1))?.join() === 'a:removing,b:running', 'b seen');
      expect(docker.calls).toEqual(['inspect b']);

      docker.containers.delete('a');
      docker.emit(docker.streams[0]!, 'a', 'destroy');
      await until(() => names(snapshots.at(-1))?.join() === 'b:running', 'a gone');
      expect(docker.calls).toEqual(['inspect b', 'inspect a']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('ignores empty ids in a refresh request (they name nothing)', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(observe(docker.api, scope, { ...fast, refresh$ }));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.calls.length = 0;
      refresh$.next({ containers: ['a', ''], networks: [''], token: 1 });
      await until(() => snapshots.length === 2, 'a snapshot after the request');
      expect(docker.calls).toEqual(['inspect a']);
      expect(snapshots[1]!.refreshed).toBe(1);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('relists after the process stalled', async () => {
    const docker = fakeDocker();
    const { snapshots, subscription } = collect(observe(docker.api, scope, { ...fast, stallRelistMs: 200 }));
    try {
      await until(() => snapshots.length === 1, 'the first snapshot');
      docker.containers.set('d', inspect('d'));
      const from = Date.now();
      while (Date.now() - from < 600) {
        // A consumer holding the event loop; no event says anything about d.
      }
      await until(() => snapshots.length === 2, 'a relist after the stall');
      expect(names(snapshots[1])).toEqual(['d:running']);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('makes no safety-net relist once a teardown has begun, and still looks at what it is asked', async () => {
    const docker = fakeDocker();
    docker.containers.set('a', inspect('a'));
    const refresh$ = new Subject<RefreshRequest | void>();
    const { snapshots, subscription } = collect(
      observe(docker.api, scope, { ...fast, relistIntervalMs: 20, refresh$ }),
    );
    try {
      await until(() => docker.calls.filter((c) => c === 'list containers').length >= 3, 'periodic relists');
      refresh$.next({ tearingDown: true });
      // A relist already out (or due) when the teardown began may still finish: until the calls
      // stop for a while, however slow a loaded machine makes it. The timer ticks every 20 ms.
      for (let seen = -1; seen !== docker.calls.length;) {
        seen = docker.calls.length;
        await new Promise((r) => setTimeout(r, 150));
      }
      docker.calls.length = 0;
      await new Promise((r) => setTimeout(r, 300));
      expect(docker.calls).toEqual([]);

      // What the teardown asks for is still looked at, and its token comes back.
      refresh$.next({ containers: ['a'], token: 7 });
      await until(() => snapshots.at(-1)?.refreshed === 7, "the token of the teardown's request");
      expect(docker.calls).toEqual(['inspect a']);

      // What befalls a container it is removing anyway is not inspected; a destroy, and a
      // container it did not know, are.
      docker.calls.length = 0;
      docker.emit(docker.streams[0]!, 'a', 'die');
      docker.emit(docker.streams[0]!, 'a', 'health_status: unhealthy');
      docker.containers.set('b', inspect('b', 'created'));
      docker.emit(docker.streams[0]!, 'b', 'create');
      await until(() => docker.calls.includes('inspect b'), 'the inspect of the new container');
      await new Promise((r) => setTimeout(r, 50));
      expect(docker.calls).toEqual(['inspect b']);
      docker.containers.delete('a');
      docker.emit(docker.streams[0]!, 'a', 'destroy');
      await until(() => docker.calls.includes('inspect a'), 'the inspect after the destroy');
    } finally {
      subscription.unsubscribe();
    }
  });

  it('closes the stream and stops calling Docker once unsubscribed', async () => {
    const docker = fakeDocker();
    const { snapshots, subscription } = collect(
      observe(docker.api, scope, { ...fast, relistIntervalMs: 20 }),
    );
    await until(() => snapshots.length >= 2, 'a periodic relist');
    subscription.unsubscribe();
    expect(docker.streams[0]!.destroyed).toBe(true);
    const calls = docker.calls.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(docker.calls.length).toBe(calls);
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap, with the upper half random', () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const backoff = { initialMs: 800, maxMs: 30_000 };
          const step = Math.min(30_000, 800 * 2 ** attempt);
          const delay = backoffDelay(attempt, backoff, () => r);
          expect(delay).toBeGreaterThanOrEqual(step / 2);
          expect(delay).toBeLessThan(step + 1e-9);
        },
      ),
    );
  });
});

describe('toDockerSince', () => {
  it('turns daemon RFC 3339 time into Unix seconds with nanoseconds', () => {
    expect(toDockerSince('2024-01-01T00:00:00.123456789Z')).toBe('1704067200.123456789');
    expect(toDockerSince('2024-01-01T01:00:00.5+01:00')).toBe('1704067200.500000000');
    expect(toDockerSince('2024-01-01T00:00:00Z')).toBe('1704067200.000000000');
    expect(toDockerSince('yesterday')).toBeUndefined();
  });
});
