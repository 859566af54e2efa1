/**
 * The loop against the in-memory engine: it converges, reports what it does, restarts a dead
 * service within its budget and fails with a typed reason past it, on a name held by someone
 * else, on a terminal executor error, a spent retry budget, the deadline and the abort signal.
 */
import { describe, expect, it } from '@jest/globals';
import {
  Subject,
  filter,
  firstValueFrom,
  lastValueFrom,
  share,
  shareReplay,
  takeUntil,
  takeWhile,
  timeout,
  toArray,
} from 'rxjs';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import type { DesiredState } from '../../src/desired-state/types.js';
import { ReconcileError } from '../../src/reconciler/errors.js';
import { observe } from '../../src/observed-state/observe.js';
import { scopeOf } from '../../src/observed-state/scope.js';
import type { RefreshRequest } from '../../src/observed-state/requests.js';
import { converge, reconcile, type LoopEvent, type ReconcileOptions } from '../../src/loop/reconcile.js';
import { down } from '../../src/loop/teardown.js';
import { FakeDocker, type FakeDockerOptions } from '../support/fake-docker.js';
import { expectConverged } from './support.js';

const TASK_ID = 'loopTask_0123456789abc';
const config = defaultWorkerConfig({
  ownerId: 'worker-loop',
  // Fixture images are built here, never in a registry: nothing to pull.
  images: { pullPolicy: 'if-not-present' },
  provisionerId: 'prov',
  workerType: 'wt',
  rootUrl: 'https://tc.example.com',
  proxy: { image: 'img/proxy:1' },
});

function desiredOf(
  services: { name: string; image: string; healthCheck?: boolean }[],
  runId = 0,
): DesiredState {
  return compile(
    {
      services: services.map((s) => ({
        name: s.name,
        image: s.image,
        ...(s.healthCheck ? { healthCheck: { command: ['true'] } } : {}),
      })),
    },
    { config, taskId: TASK_ID, runId, scopes: ['queue:get-artifact:x'] },
  );
}

function engine(options: FakeDockerOptions = {}): FakeDocker {
  return new FakeDocker({
    images: [
      { ref: 'img/proxy:1' },
      { ref: 'img/db:1', healthcheck: { Test: ['CMD', 'true'] } },
      { ref: 'img/cache:1' },
      { ref: 'img/crash:1', exitsWith: 3, unhealthy: true, healthcheck: { Test: ['CMD', 'false'] } },
      { ref: 'img/sick:1', unhealthy: true, healthcheck: { Test: ['CMD', 'false'] } },
    ],
    ...options,
  });
}

function options(
  docker: FakeDocker,
  desired: DesiredState,
  extra: Partial<ReconcileOptions> = {},
): ReconcileOptions {
  return {
    docker,
    desired,
    execute: {
      credentials: async () => ({ TASKCLUSTER_CLIENT_ID: 'id', TASKCLUSTER_ACCESS_TOKEN: 'token' }),
    },
    until: 'ready',
    pollIntervalMs: 10,
    restart: { mode: 'restart', initialBackoffMs: 5, maxBackoffMs: 20, maxRestarts: 2 },
    retry: { initialBackoffMs: 1, maxBackoffMs: 5, maxAttempts: 4 },
    ...extra,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<ReconcileError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReconcileError);
  return error as ReconcileError;
}

describe('reconcile loop', () => {
  it('converges two services from nothing and reports every action with its service', async () => {
    const docker = engine();
    const desired = desiredOf([
      { name: 'db', image: 'img/db:1', healthCheck: true },
      { name: 'cache', image: 'img/cache:1' },
    ]);
    const events: LoopEvent[] = [];
    const result = await converge({ ...options(docker, desired), onEvent: (e) => events.push(e) });
    await expectConverged(docker, desired);
    expect(result.plan.ready).toBe(true);
    const finished = events.filter((e) => e.type === 'action-finished');
    expect(finished.map((e) => e.action.kind).sort()).toEqual(
      // One network for the task; each service created in its proxy's namespace, nothing to connect.
      [
        ...Array(1).fill('create-network'),
        ...Array(4).fill('create-container'),
        ...Array(4).fill('start-container'),
      ].sort(),
    );
    for (const e of finished) {
      if (e.action.kind !== 'create-network' || e.action.target.node !== 'network/task') {
        expect(['db', 'cache']).toContain(e.action.service);
      }
    }
    expect(events.filter((e) => e.type === 'ready')).toHaveLength(1);
    // A second run finds everything in place and does nothing.
    const again = await converge(options(docker, desired));
    expect(again.finished).toEqual([]);
  });

  it('restarts a service that died, counting it in the ledger', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    await converge(options(docker, desired));
    const id = docker.world().containers.find((c) => c.labels[Label.role] === 'service')!.id;
    docker.kill(id);
    const result = await converge(options(docker, desired));
    expect(Object.values(result.restarts)).toEqual([{ count: 1, lastAt: expect.any(Number) }]);
    expect(docker.world().containers.find((c) => c.id === id)!.status).toBe('running');
  });

  it('fails with crash-loop once a service that keeps exiting is past its restart budget', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'bad', image: 'img/crash:1' }]);
    const events: LoopEvent[] = [];
    const error = await failureOf(converge({ ...options(docker, desired), onEvent: (e) => events.push(e) }));
    expect(error.reason).toBe('blocked');
    expect(error.code).toBe('crash-loop');
    expect(
      events
        .filter((e) => e.type === 'restart-recorded')
        .map((e) => e.type === 'restart-recorded' && e.count),
    ).toEqual([1, 2]);
  });

  it('fails at once in restart mode fail', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'bad', image: 'img/crash:1' }]);
    const error = await failureOf(
      converge(
        options(docker, desired, {
          restart: { mode: 'fail', initialBackoffMs: 1, maxBackoffMs: 1, maxRestarts: 5 },
        }),
      ),
    );
    expect(error.code).toBe('crash-loop');
    expect(docker.calls.filter((c) => c.op === 'container start' && c.outcome === 'ok')).toHaveLength(2);
  });

  it('fails with name-conflict on a same-named container that is not ours, leaving it alone', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const squatter = docker.seedContainer({
      name: desired.containers[0]!.name,
      image: 'img/cache:1',
      state: 'running',
    });
    const error = await failureOf(converge(options(docker, desired)));
    expect(error.reason).toBe('blocked');
    expect(error.code).toBe('name-conflict');
    expect(docker.callsOn(squatter)).toEqual([]);
    expect(docker.world().containers.map((c) => c.id)).toContain(squatter);
  });

  it('fails with retries-exhausted when an image cannot be pulled (no registry), after a bounded number of tries', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'gone', image: 'img/missing:1' }]);
    const error = await failureOf(converge(options(docker, desired)));
    expect(error.reason).toBe('retries-exhausted');
    expect(error.details.actionId).toBe('pull-image:img/missing:1');
    expect(docker.calls.filter((c) => c.op === 'image pull')).toHaveLength(4);
  });

  it('an engine away for longer than the retry budget lasts does not spend it: the loop converges once it is back', async () => {
    // dockerd restarting: its socket refuses every call for a while.
    let refusals = 0;
    const docker = engine({
      fault: (call) =>
        call.op === 'network create' && refusals++ < 10 ? { kind: 'unreachable' } : undefined,
    });
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const events: LoopEvent[] = [];
    await converge({ ...options(docker, desired), onEvent: (e) => events.push(e) });
    await expectConverged(docker, desired);
    const failures = events.filter((e) => e.type === 'action-failed');
    // More failed attempts than `maxAttempts` (4), each retryable and naming the refusal.
    expect(failures.length).toBe(10);
    for (const failure of failures) {
      expect(failure).toMatchObject({ retryable: true });
      expect(failure.type === 'action-failed' && failure.error.message).toContain('ECONNREFUSED');
    }
  });

  it('an engine that stays away: the loop ends at its deadline, naming what kept failing and why', async () => {
    const docker = engine({
      fault: (call) => (call.op === 'network create' ? { kind: 'unreachable' } : undefined),
    });
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const error = await failureOf(converge(options(docker, desired, { deadline: Date.now() + 300 })));
    expect(error.reason).toBe('deadline');
    expect(error.message).toMatch(
      /^not ready by the deadline; create-network:\S+ keeps failing: .*ECONNREFUSED/,
    );
  });

  it('refusals between failures that count neither spend the budget nor reset it', async () => {
    // Per network: a 500 (spends the budget of 4), then a refusal, and so on.
    const calls = new Map<string, number>();
    const docker = engine({
      fault: (call) => {
        if (call.op !== 'network create') return undefined;
        const name = (call.args[0] as { Name: string }).Name;
        const n = calls.get(name) ?? 0;
        calls.set(name, n + 1);
        return n % 2 === 0 ? { kind: 'error', statusCode: 500, message: 'boom' } : { kind: 'unreachable' };
      },
    });
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const error = await failureOf(converge(options(docker, desired)));
    expect(error.reason).toBe('retries-exhausted');
    // The fourth 500 is the seventh attempt.
    expect(error.message).toMatch(/^create-network:\S+ failed 7 times; last: .*boom/);
  });

  it('fails terminally when the registry has no such image', async () => {
    const docker = engine({ registry: [] });
    const desired = desiredOf([{ name: 'gone', image: 'img/missing:1' }]);
    const error = await failureOf(converge(options(docker, desired)));
    expect(error.reason).toBe('terminal');
    expect(error.code).toBe('image-not-found');
  });

  it('restarts a service Docker reports unhealthy, by the restart policy, and fails with crash-loop past its budget', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'sick', image: 'img/sick:1', healthCheck: true }]);
    const restarts: number[] = [];
    const error = await failureOf(
      converge({
        ...options(docker, desired, { deadline: Date.now() + 30_000 }),
        onEvent: (e) => {
          if (e.type === 'restart-recorded') restarts.push(e.count);
        },
      }),
    );
    expect(error.reason).toBe('blocked');
    expect(error.code).toBe('crash-loop');
    expect(error.message).toMatch(/_sick: unhealthy after 2 of 2 restarts/);
    expect(restarts).toEqual([1, 2]);
  });

  it('fails with deadline when a service never becomes healthy', async () => {
    // Its health check never reports: it stays `starting`.
    const docker = engine({
      background: (what) => (what.includes('_sick') ? new Promise<void>(() => {}) : Promise.resolve()),
    });
    const desired = desiredOf([{ name: 'sick', image: 'img/sick:1', healthCheck: true }]);
    const error = await failureOf(converge(options(docker, desired, { deadline: Date.now() + 300 })));
    expect(error.reason).toBe('deadline');
    // It says what it was waiting for.
    expect(error.message).toMatch(/^not ready by the deadline; ds-loopTask_0123456789abc-0_sick: health /);
  });

  it('replaces a network of ours made from another spec, and attaches its containers to the new one', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const task = desired.networks.find((n) => n.role === 'task-network')!;
    const staleId = docker.seedNetwork({
      name: task.name,
      labels: { ...task.labels, [Label.specHash]: 'stale0000' },
    });
    await converge(options(docker, desired));
    const world = docker.world();
    const networks = world.networks.filter((n) => n.name === task.name);
    expect(networks).toHaveLength(1);
    expect(networks[0]!.id).not.toBe(staleId);
    expect(networks[0]!.labels[Label.specHash]).toBe(task.specHash);
    await expectConverged(docker, desired);
  });

  it('removes a second network of ours under a desired name (dockerd made two) and converges on one', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const task = desired.networks.find((n) => n.role === 'task-network')!;
    docker.seedNetwork({ name: task.name, labels: task.labels });
    docker.seedNetwork({ name: task.name, labels: task.labels });
    expect(docker.world().networks.filter((n) => n.name === task.name)).toHaveLength(2);
    await converge(options(docker, desired));
    expect(docker.world().networks.filter((n) => n.name === task.name)).toHaveLength(1);
    await expectConverged(docker, desired);
  });

  it('a teardown names the container that is not ours it detached from our network, and leaves it running', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    await converge(options(docker, desired));
    const taskNetwork = desired.networks.find((n) => n.role === 'task-network')!.name;
    const intruder = docker.seedContainer({
      name: 'someone-elses',
      image: 'img/cache:1',
      networks: [{ name: taskNetwork }],
      state: 'running',
    });
    const removed = await down(docker, desired.owner, { pollIntervalMs: 20 });
    expect(removed.disconnected).toEqual([{ id: intruder, name: 'someone-elses', network: taskNetwork }]);
    expect(removed.containers.map((c) => c.name).sort()).toEqual(
      desired.containers.map((c) => c.name).sort(),
    );
    const left = docker.world().containers.find((c) => c.id === intruder);
    expect(left).toMatchObject({ name: 'someone-elses', status: 'running', networks: {} });
  });

  it('a teardown past its deadline names the removal that keeps failing, and its last error', async () => {
    // dockerd 20.10 now and then keeps a phantom endpoint: the task network never goes.
    const taskNetwork = `ds-${TASK_ID}-0`;
    const phantom: { on?: string } = {};
    const docker = engine({
      fault: (call) =>
        call.op === 'network remove' && call.args[0] === phantom.on
          ? {
              kind: 'error',
              statusCode: 403,
              message: `error while removing network: network ${taskNetwork} has active endpoints`,
            }
          : undefined,
    });
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    await converge(options(docker, desired));
    phantom.on = docker.world().networks.find((n) => n.name === taskNetwork)!.id;
    const error = (await down(docker, desired.owner, { timeoutMs: 500, pollIntervalMs: 20 }).catch(
      (e: unknown) => e,
    )) as ReconcileError;
    expect(error).toBeInstanceOf(ReconcileError);
    expect(error.reason).toBe('deadline');
    expect(error.message).toContain(
      `not converged by the deadline; remove-network:ds-${TASK_ID}-0 keeps failing: `,
    );
    expect(error.message).toContain('has active endpoints');
    expect(error.details.actionId).toBe(`remove-network:ds-${TASK_ID}-0`);
  });

  it('fails with aborted when the signal fires, after the actions in flight settled', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const docker = engine({
      delay: (call, phase) =>
        call.op === 'network create' && phase === 'response' ? gate : Promise.resolve(),
    });
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const controller = new AbortController();
    const events: LoopEvent[] = [];
    const running = converge({
      ...options(docker, desired, { signal: controller.signal }),
      onEvent: (e) => events.push(e),
    });
    while (!events.some((e) => e.type === 'action-started')) await new Promise((r) => setTimeout(r, 1));
    controller.abort();
    let settled = false;
    void running.catch(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    // Not before its network creates have answered.
    expect(settled).toBe(false);
    release();
    const error = await failureOf(running);
    expect(error.reason).toBe('aborted');
    expect(docker.calls.filter((c) => c.outcome === 'pending')).toEqual([]);
  });

  it('never has more than `concurrency` actions in flight', async () => {
    const docker = engine({ delay: () => new Promise((r) => setTimeout(r, 1)) });
    const desired = desiredOf(['a', 'b', 'c', 'd'].map((name) => ({ name, image: 'img/cache:1' })));
    let inFlight = 0;
    let max = 0;
    await converge({
      ...options(docker, desired, { concurrency: 3 }),
      onEvent: (e) => {
        if (e.type === 'action-started') max = Math.max(max, ++inFlight);
        if (e.type === 'action-finished' || e.type === 'action-failed') inFlight--;
      },
    });
    expect(max).toBe(3);
    expect(docker.maxMutatingInFlight).toBeLessThanOrEqual(3);
    expect(docker.overlaps).toEqual([]);
  });

  it('with until forever, brings back a service removed from outside, and keeps going', async () => {
    const docker = engine();
    const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
    const events = reconcile(options(docker, desired, { until: 'forever' }));
    let readies = 0;
    const seen = await lastValueFrom(
      events.pipe(
        takeWhile((e) => {
          if (e.type === 'ready') {
            readies += 1;
            if (readies === 1)
              docker.removeExternally(desired.containers.find((c) => c.role === 'service')!.name);
          }
          return readies < 2;
        }, true),
        toArray(),
      ),
    );
    expect(
      seen.some(
        (e) =>
          e.type === 'action-finished' &&
          e.action.kind === 'create-container' &&
          e.action.cause === 'not found',
      ),
    ).toBe(true);
    await expectConverged(docker, desired);
  });

  describe('with an event-driven observer', () => {
    /** The loop on `observe()`, as the library runs it: until ready, then watching. */
    function watched(docker: FakeDocker, desired: DesiredState, pollIntervalMs: number) {
      const refresh$ = new Subject<RefreshRequest | void>();
      const requests: (RefreshRequest | void)[] = [];
      const snapshots = observe(docker, scopeOf(desired), {
        refresh$,
        relistIntervalMs: 3_600_000,
        stallRelistMs: 3_600_000,
      });
      const events = reconcile(
        options(docker, desired, {
          snapshots,
          refresh: (request) => {
            requests.push(request);
            refresh$.next(request);
          },
          until: 'forever',
          pollIntervalMs,
        }),
      ).pipe(share());
      const finished: LoopEvent[] = [];
      const subscription = events.subscribe({
        next: (e) => {
          if (e.type === 'action-finished') finished.push(e);
        },
        error: () => {},
      });
      const ready = firstValueFrom(
        events.pipe(
          filter((e) => e.type === 'ready'),
          timeout(5_000),
        ),
      );
      return { requests, finished, ready, stop: () => subscription.unsubscribe() };
    }

    it('lists once, then looks only at what each action changed, and repeats no action', async () => {
      const docker = engine();
      const desired = desiredOf([
        { name: 'db', image: 'img/db:1', healthCheck: true },
        { name: 'cache', image: 'img/cache:1' },
      ]);
      // The loop's safety poll off: it relists while a health check is pending, on a slow machine.
      const loop = watched(docker, desired, 3_600_000);
      try {
        await loop.ready;
        await expectConverged(docker, desired);
        // The first relist only: every later snapshot came from events and targeted requests.
        expect(docker.calls.filter((c) => c.op === 'container list')).toHaveLength(2);
        // The first request is the loop's start token (answered by the first relist); every later
        // one holds what an action is changing, or brings its effect or names what it changed.
        const [start, ...later] = loop.requests;
        expect(start).toEqual({ token: expect.any(Number), current: true });
        expect(later.length).toBeGreaterThan(0);
        for (const request of later) {
          expect(request).toBeDefined();
          const named = (request!.containers?.length ?? 0) + (request!.networks?.length ?? 0);
          expect(named + (request!.effects?.length ?? 0) + (request!.hold ? 1 : 0)).toBeGreaterThan(0);
        }
        // Each object made once and started once: no action repeated on a snapshot older than it.
        const ids = loop.finished.map((e) => (e.type === 'action-finished' ? e.action.id : ''));
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(9);
        // A start or connect after our own create acts on the id the create returned: no lookup by name.
        const byName = docker.calls.filter(
          (c) => c.op === 'container inspect' && String(c.args[0]).startsWith('ds-'),
        );
        expect(byName).toEqual([]);
      } finally {
        loop.stop();
      }
    });

    it('asks for no snapshot once converged: the observer does the watching', async () => {
      const docker = engine();
      const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
      const loop = watched(docker, desired, 10);
      try {
        await loop.ready;
        // The events of the last actions still bring their inspects: let them land.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const before = loop.requests.length;
        const calls = docker.calls.length;
        // 30 poll intervals of the loop.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(loop.requests.length).toBe(before);
        expect(docker.calls.length).toBe(calls);
      } finally {
        loop.stop();
      }
    });

    it("down on a shared observer sees what its loop made from Docker's answers, with every event lost, and lists no more", async () => {
      // The observer misses every event: what it knows of the objects made below comes from the
      // answers to the loop's own actions, folded in.
      const docker = engine({ eventFault: () => 'drop' });
      const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
      const refresh$ = new Subject<RefreshRequest | void>();
      // As the session shares its observer: replayed to late subscribers, ended by `stop$`.
      const stop$ = new Subject<void>();
      const shared = observe(docker, scopeOf(desired), {
        refresh$,
        relistIntervalMs: 3_600_000,
        stallRelistMs: 3_600_000,
      }).pipe(takeUntil(stop$), shareReplay({ bufferSize: 1, refCount: false }));
      const kept = shared.subscribe();
      try {
        const first = await firstValueFrom(shared);
        expect(first.containers).toEqual([]);
        await converge(
          options(docker, desired, {
            snapshots: shared,
            refresh: (request) => refresh$.next(request),
            pollIntervalMs: 3_600_000,
          }),
        );
        const lists = docker.calls.filter((c) => c.op === 'container list').length;
        const removed = await down(docker, desired.owner, {
          snapshots: shared,
          refresh: (request) => refresh$.next(request),
          pollIntervalMs: 3_600_000,
        });
        expect(removed.containers).toHaveLength(2);
        expect(docker.world()).toEqual({ containers: [], networks: [] });
        // The observer's stream stayed open and every action was answered: no relist at teardown.
        expect(docker.calls.filter((c) => c.op === 'container list')).toHaveLength(lists);
      } finally {
        stop$.next();
        kept.unsubscribe();
      }
    });

    it('down of containers that never ran asks to look at no network by an empty id', async () => {
      const docker = engine();
      const desired = desiredOf([{ name: 'cache', image: 'img/cache:1' }]);
      // Interrupted once the service is created: it never starts (it waits for its proxy).
      const abort = new AbortController();
      await failureOf(
        converge({
          ...options(docker, desired, { signal: abort.signal }),
          onEvent: (e) => {
            if (e.type === 'action-finished' && e.action.id.endsWith('_cache')) abort.abort();
          },
        }),
      );
      expect(docker.world().containers.map((c) => c.status)).toContain('created');
      const refresh$ = new Subject<RefreshRequest | void>();
      const requests: (RefreshRequest | void)[] = [];
      await down(docker, desired.owner, {
        snapshots: observe(docker, scopeOf(desired), { refresh$, relistIntervalMs: 3_600_000 }),
        refresh: (request) => {
          requests.push(request);
          refresh$.next(request);
        },
        pollIntervalMs: 3_600_000,
      });
      expect(docker.world()).toEqual({ containers: [], networks: [] });
      // Its endpoints have no network id until it starts (and dockerd answers an inspect of ''
      // with the list of every network); its removal is folded, not inspected.
      expect(requests.some((r) => r?.effects?.some((e) => e.kind === 'container-removed'))).toBe(true);
      expect(requests.filter((r) => r?.networks?.includes(''))).toEqual([]);
    });

    it('down watches too: one list, then an inspect of what each removal changed', async () => {
      const docker = engine();
      const desired = desiredOf([
        { name: 'db', image: 'img/db:1', healthCheck: true },
        { name: 'cache', image: 'img/cache:1' },
      ]);
      await converge(options(docker, desired));
      docker.calls.length = 0;
      // The poll off: what is seen comes from the first list, events and targeted inspects.
      const removed = await down(docker, desired.owner, { pollIntervalMs: 3_600_000 });
      expect(docker.world()).toEqual({ containers: [], networks: [] });
      expect(removed.containers).toHaveLength(4);
      // One list (by label and by name) where listing on demand relisted after every removal.
      expect(docker.calls.filter((c) => c.op === 'container list')).toHaveLength(2);
      expect(docker.calls.filter((c) => c.op === 'network list')).toHaveLength(2);
    });
  });
});
