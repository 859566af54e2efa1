/**
 * The loop and teardown on the real engine while the Docker API misbehaves, through the fault
 * proxy (`test/support/fault-proxy.ts`): a create whose answer is lost after the engine made the
 * object, the engine going away between a create and the next call, removals answering "device or
 * resource busy" and "removal already in progress", the event stream cut mid-way, a pull that
 * stalls. Each ends with no duplicate object, nothing of the task left, and either a converged task
 * or a failure that names its cause.
 *
 * The engine is shared with other suites: nothing here stops or slows dockerd itself, only the
 * proxy's view of it. Every wait is on an event (a loop event, a request the proxy recorded) or
 * bounded by a deadline far beyond what the step takes on a busy machine.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { Subject, filter, firstValueFrom, share, throwError, timeout } from 'rxjs';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import type { DesiredState } from '../../src/desired-state/types.js';
import { dockerApi, type DockerApi } from '../../src/docker/client.js';
import { converge, reconcile, type LoopEvent } from '../../src/loop/reconcile.js';
import { down } from '../../src/loop/teardown.js';
import { observe } from '../../src/observed-state/observe.js';
import { scopeOf } from '../../src/observed-state/scope.js';
import type { RefreshRequest } from '../../src/observed-state/requests.js';
import { ReconcileError } from '../../src/reconciler/errors.js';
import { IMAGES, removeMadeByThisRun, testDocker, testOwnerId } from '../support/docker.js';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from '../support/fault-proxy.js';

/** Straight to the engine: for setting up, checking and cleaning up, never faulted. */
const direct = testDocker();
const PROXY_IMAGE = IMAGES.proxy;
const credentials = async () => ({ TASKCLUSTER_CLIENT_ID: 'dummy', TASKCLUSTER_ACCESS_TOKEN: 'dummy' });
const ownerPrefix = testOwnerId('faults-');
/** Not present locally, and nothing listens on port 1: a pull that reached the engine would fail fast. */
const UNPULLABLE = '127.0.0.1:1/nothing:latest';

const sleeper = (name: string, image: string = IMAGES.busybox) => ({
  name,
  image,
  command: ['sleep', '3600'],
});

function taskId(): string {
  return `ft${randomBytes(15).toString('base64url')}`.slice(0, 22);
}

function desiredFor(name: string, services = [sleeper('a'), sleeper('b')]): DesiredState {
  const config = defaultWorkerConfig({
    ownerId: testOwnerId(`faults-${name}`),
    // Fixture images are built here, never in a registry: nothing to pull.
    images: { pullPolicy: 'if-not-present' },
    provisionerId: 'prov',
    workerType: 'wt',
    rootUrl: 'https://tc.example.com',
    proxy: { image: PROXY_IMAGE },
  });
  return compile({ services }, { config, taskId: taskId(), runId: 0, scopes: [] });
}

/** The loop's client, through the proxy, with the deadlines a test picks. */
function throughProxy(
  proxy: FaultProxy,
  options: { timeoutMs?: number; slowTimeoutMs?: number } = {},
): DockerApi {
  return dockerApi(new Docker(proxy.dockerOptions), { timeoutMs: 30_000, slowTimeoutMs: 60_000, ...options });
}

async function left(desired: DesiredState): Promise<{ containers: string[]; networks: string[] }> {
  const label = [`${Label.owner}=${desired.owner.ownerId}`];
  return {
    containers: (await direct.listContainers({ label })).map((c) => c.Names[0] ?? c.Id),
    networks: (await direct.listNetworks({ label })).map((n) => n.Name),
  };
}

/**
 * Creates of each object of `desired` that reached the engine, by name: all of them, or only those
 * the engine answered with 201 (made). A create cut off on its way back has no status: the engine
 * may have made the object or not.
 */
function engineCreates(proxy: FaultProxy, desired: DesiredState, which: 'forwarded' | 'made') {
  const made = (r: ProxiedRequest) => r.forwarded && (which === 'forwarded' || r.upstreamStatus === 201);
  const containers = Object.fromEntries(
    desired.containers.map((c) => [
      c.name,
      proxy.count('POST /containers/create', (r) => made(r) && r.query.get('name') === c.name),
    ]),
  );
  const networks = Object.fromEntries(
    desired.networks.map((n) => [
      n.name,
      proxy.count('POST /networks/create', (r) => made(r) && networkName(r) === n.name),
    ]),
  );
  return { containers, networks };
}

function networkName(request: ProxiedRequest): string | undefined {
  try {
    return (JSON.parse(request.body) as { Name?: string }).Name;
  } catch {
    return undefined;
  }
}

/** Every count is 1. */
function expectOnceEach(counted: ReturnType<typeof engineCreates>, desired: DesiredState): void {
  const once = (names: string[]) => Object.fromEntries(names.map((n) => [n, 1]));
  expect(counted).toEqual({
    containers: once(desired.containers.map((c) => c.name)),
    networks: once(desired.networks.map((n) => n.name)),
  });
}

/** The engine holds exactly one object of each desired name, and nothing else of the task. */
async function expectOneOfEach(desired: DesiredState): Promise<void> {
  const label = [`${Label.owner}=${desired.owner.ownerId}`];
  const networks = (await direct.listNetworks({ label })).map((n) => n.Name).sort();
  expect(networks).toEqual(desired.networks.map((n) => n.name).sort());
  const containers = (await direct.listContainers({ label })).map((c) => c.Names[0]!.slice(1)).sort();
  expect(containers).toEqual(desired.containers.map((c) => c.name).sort());
}

/** Runs `converge` with an observer (as a session does), collecting the loop's events. */
async function convergeWatched(
  docker: DockerApi,
  desired: DesiredState,
  events: LoopEvent[],
  options: { retry?: { maxAttempts?: number; initialBackoffMs?: number }; deadlineMs?: number } = {},
) {
  const refresh$ = new Subject<RefreshRequest | void>();
  try {
    return await converge({
      docker,
      desired,
      snapshots: observe(docker, scopeOf(desired), { refresh$, backoff: { initialMs: 200, maxMs: 2_000 } }),
      refresh: (request) => refresh$.next(request),
      execute: { credentials },
      until: 'ready',
      pollIntervalMs: 250,
      deadline: Date.now() + (options.deadlineMs ?? 150_000),
      ...(options.retry ? { retry: options.retry } : {}),
      onEvent: (event) => events.push(event),
    });
  } finally {
    refresh$.complete();
  }
}

function finishedFor(events: LoopEvent[], kind: string, name: string) {
  return events.filter(
    (e): e is Extract<LoopEvent, { type: 'action-finished' }> =>
      e.type === 'action-finished' && e.action.kind === kind && e.action.target.name === name,
  );
}

function failedFor(events: LoopEvent[], kind: string, name: string) {
  return events.filter(
    (e): e is Extract<LoopEvent, { type: 'action-failed' }> =>
      e.type === 'action-failed' && e.action.kind === kind && e.action.target.name === name,
  );
}

let proxy: FaultProxy;

beforeEach(async () => {
  proxy = await startFaultProxy();
});

afterEach(async () => {
  await proxy.close();
});

afterAll(async () => {
  await removeMadeByThisRun(direct, (labels) => (labels[Label.owner] ?? '').startsWith(ownerPrefix));
});

describe('faults of the Docker API, on the real engine', () => {
  it('(a) a create that times out after the engine made the object is adopted by name, never made twice', async () => {
    const desired = desiredFor('timeout');
    // The engine's answer never reaches the client; until the engine has answered, nothing else
    // reaches it either, so the client's lookup after its deadline sees the object however slow
    // the engine is.
    const lost = { kind: 'forward-then', then: { kind: 'drop' }, holdOthers: true } as const;
    const networkRule = proxy.addRule({ endpoint: 'POST /networks/create', fault: lost, times: 1 });
    const containerRule = proxy.addRule({ endpoint: 'POST /containers/create', fault: lost, times: 1 });
    const events: LoopEvent[] = [];
    try {
      const result = await convergeWatched(throughProxy(proxy, { timeoutMs: 10_000 }), desired, events);
      expect(result.plan.ready).toBe(true);
      expect([networkRule.fired, containerRule.fired]).toEqual([1, 1]);

      const [network] = proxy.matching('POST /networks/create', (r) => r.fault === 'forward-then');
      const [container] = proxy.matching('POST /containers/create', (r) => r.fault === 'forward-then');
      for (const [kind, request, name] of [
        ['create-network', network!, networkName(network!)!],
        ['create-container', container!, container!.query.get('name')!],
      ] as const) {
        // The engine made it; the client never heard.
        expect(request).toMatchObject({ upstreamStatus: 201, clientGone: true });
        expect(request.answered).toBeUndefined();
        // The action found the object by name and took it as its own, in the same attempt.
        const made = (JSON.parse(request.upstreamBody) as { Id: string }).Id;
        expect(finishedFor(events, kind, name).map((e) => e.result)).toEqual([
          expect.objectContaining({
            adopted: true,
            [kind === 'create-network' ? 'networkId' : 'containerId']: made,
          }),
        ]);
        expect(failedFor(events, kind, name)).toEqual([]);
      }
      // Every create reached the engine once: none was sent again after its timeout.
      expectOnceEach(engineCreates(proxy, desired, 'forwarded'), desired);
      await expectOneOfEach(desired);
    } finally {
      await down(direct, desired.owner, { pollIntervalMs: 250 });
    }
    expect(await left(desired)).toEqual({ containers: [], networks: [] });
  }, 240_000);

  it('(b) the engine going away right after a create: the loop rides it out and adopts what was made', async () => {
    const desired = desiredFor('outage');
    // The engine makes the container, then every connection fails for a few seconds: the create's
    // answer, the event stream, and every call made meanwhile.
    const rule = proxy.addRule({
      endpoint: 'POST /containers/create',
      fault: { kind: 'forward-then', then: { kind: 'outage', ms: 4_000 } },
      times: 1,
    });
    const events: LoopEvent[] = [];
    try {
      // A budget that the outage would spend three times over if refused calls counted against
      // it: the engine's absence is bounded by the deadline, not by the retry budget.
      const result = await convergeWatched(throughProxy(proxy), desired, events, {
        retry: { maxAttempts: 3, initialBackoffMs: 250 },
      });
      expect(result.plan.ready).toBe(true);
      expect(rule.fired).toBe(1);
      expect(proxy.refused).toBeGreaterThan(0);
      // The observer came back: a new event stream after the outage.
      expect(proxy.count('GET /events', (r) => r.forwarded)).toBeGreaterThanOrEqual(2);

      const [create] = proxy.matching('POST /containers/create', (r) => r.fault === 'forward-then');
      const name = create!.query.get('name')!;
      const made = (JSON.parse(create!.upstreamBody) as { Id: string }).Id;
      // The container made before the outage is the one that runs: adopted, not replaced.
      expect((await direct.inspectContainer(name))?.Id).toBe(made);
      expect(proxy.count('DELETE /containers/:id')).toBe(0);
      // Creates in flight when the engine went away may have been made or not, and were sent again
      // after it: the engine answered 201 to at most one per name, and holds exactly one.
      const answered = engineCreates(proxy, desired, 'made');
      for (const count of [...Object.values(answered.containers), ...Object.values(answered.networks)])
        expect(count).toBeLessThanOrEqual(1);
      await expectOneOfEach(desired);
    } finally {
      await down(direct, desired.owner, { pollIntervalMs: 250 });
    }
    expect(await left(desired)).toEqual({ containers: [], networks: [] });
  }, 240_000);

  it('(c) removals answering 500 "device or resource busy" a few times: down still removes everything', async () => {
    const desired = desiredFor('busy');
    await convergeWatched(direct, desired, []);
    const busy = proxy.addRule({
      endpoint: 'DELETE /containers/:id',
      fault: {
        kind: 'error',
        status: 500,
        message:
          'container rootfs is marked read-only: driver "overlay2" failed to remove root filesystem: ' +
          'unlinkat /var/lib/docker/overlay2/merged: device or resource busy',
      },
      times: 6,
    });
    const events: LoopEvent[] = [];
    try {
      await down(throughProxy(proxy), desired.owner, { pollIntervalMs: 250, onEvent: (e) => events.push(e) });
    } finally {
      await down(direct, desired.owner, { pollIntervalMs: 250 }).catch(() => {});
    }
    expect(busy.fired).toBe(6);
    const refused = proxy.matching('DELETE /containers/:id', (r) => r.fault === 'error');
    // Each removal that was refused was asked again, and went through.
    for (const request of refused) {
      expect(
        proxy.count('DELETE /containers/:id', (r) => r.path === request.path && r.upstreamStatus === 204),
      ).toBe(1);
    }
    // Each refusal was an attempt that failed retryably, saying why.
    const failures = events.filter(
      (e): e is Extract<LoopEvent, { type: 'action-failed' }> =>
        e.type === 'action-failed' && e.action.kind === 'remove-container',
    );
    expect(failures).toHaveLength(6);
    for (const failure of failures) {
      expect(failure.retryable).toBe(true);
      expect(failure.error.message).toContain('device or resource busy');
    }
    expect(await left(desired)).toEqual({ containers: [], networks: [] });
  }, 240_000);

  it('(d) "removal already in progress" (409): the removal waits for it, sends no second one, and nothing is left', async () => {
    const desired = desiredFor('in-progress');
    await convergeWatched(direct, desired, []);
    // Another party's removal is under way: the engine finishes it a moment after the 409.
    const faulted = new Set<string>();
    const rule = proxy.addRule({
      endpoint: 'DELETE /containers/:id',
      where: (r) => !faulted.has(r.path),
      onFault: (r) => faulted.add(r.path),
      fault: {
        kind: 'error-then-forward',
        status: 409,
        message: 'removal of container is already in progress',
        afterMs: 1_500,
      },
      times: 2,
    });
    const events: LoopEvent[] = [];
    try {
      await down(throughProxy(proxy), desired.owner, { pollIntervalMs: 250, onEvent: (e) => events.push(e) });
    } finally {
      await down(direct, desired.owner, { pollIntervalMs: 250 }).catch(() => {});
    }
    expect(rule.fired).toBe(2);
    for (const path of faulted) {
      const id = path.split('/')[2]!;
      // One DELETE for it: the removal in progress was waited for, not raced.
      expect(proxy.count('DELETE /containers/:id', (r) => r.path === path)).toBe(1);
      const removal = events.filter(
        (e) =>
          (e.type === 'action-finished' || e.type === 'action-failed') &&
          e.action.kind === 'remove-container' &&
          e.action.target.objectId === id,
      );
      expect(removal).toEqual([
        expect.objectContaining({
          type: 'action-finished',
          result: expect.objectContaining({ alreadyDone: true }),
        }),
      ]);
    }
    expect(await left(desired)).toEqual({ containers: [], networks: [] });
  }, 240_000);

  it('(e) the event stream cut mid-way: the observer reconnects, the loop converges, and a later kill is noticed', async () => {
    const desired = desiredFor('events-cut', [sleeper('a')]);
    const cut = proxy.addRule({ endpoint: 'GET /events', fault: { kind: 'cut', afterFrames: 3 }, times: 1 });
    const docker = throughProxy(proxy);
    const refresh$ = new Subject<RefreshRequest | void>();
    const errors: unknown[] = [];
    const events = reconcile({
      docker,
      desired,
      // Only the event stream may tell the loop of the kill: no periodic or stall relist.
      snapshots: observe(docker, scopeOf(desired), {
        refresh$,
        relistIntervalMs: 3_600_000,
        stallRelistMs: 3_600_000,
        backoff: { initialMs: 200, maxMs: 2_000 },
        onError: (error) => errors.push(error),
      }),
      refresh: (request) => refresh$.next(request),
      execute: { credentials },
      until: 'forever',
      pollIntervalMs: 250,
      restart: { mode: 'restart', initialBackoffMs: 200, maxBackoffMs: 1_000, maxRestarts: 5 },
    }).pipe(share());
    let failure: unknown;
    const subscription = events.subscribe({ error: (e) => (failure = e) });
    const readyAfter = (what: string, reaction: (e: LoopEvent) => boolean) => {
      let reacted = false;
      return firstValueFrom(
        events.pipe(
          filter((e) => (reacted ||= reaction(e)) && e.type === 'ready'),
          timeout({
            first: 120_000,
            with: () => throwError(() => new Error(`no ready after ${what} in 120 s`)),
          }),
        ),
      );
    };
    const service = desired.containers.find((c) => c.role === 'service')!.name;
    try {
      await readyAfter('the start', () => true);
      expect(cut.fired).toBe(1);
      const [first, ...later] = proxy.matching('GET /events');
      expect(first!.fault).toBe('cut');
      // The client got three frames of it, then lost the connection.
      expect(first!.upstreamBody.trim().split('\n')).toHaveLength(3);
      expect((await proxy.waitFor((r) => r === first && r.done, 'the cut stream to be over')).answered).toBe(
        200,
      );
      // Reconnected: a stream opened after the cut, still open.
      expect(later.some((r) => r.forwarded && !r.done)).toBe(true);

      const killedId = (await direct.inspectContainer(service))!.Id;
      const back = readyAfter(
        'a restart of the killed service',
        (e) => e.type === 'restart-recorded' && e.action.target.name === service,
      );
      await direct.killContainer(killedId);
      await back;
      const restarted = await direct.inspectContainer(service);
      expect(restarted?.Id).toBe(killedId);
      expect(restarted?.State.Running).toBe(true);
      expect(failure).toBeUndefined();
      // The loss went to onError: the observer knew it had lost the stream.
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      subscription.unsubscribe();
      refresh$.complete();
      await down(direct, desired.owner, { pollIntervalMs: 250 });
    }
    expect(await left(desired)).toEqual({ containers: [], networks: [] });
  }, 240_000);

  it('(f) a pull that stalls past the client’s deadline: the loop retries, then fails naming the stalled pull; nothing is left', async () => {
    const desired = desiredFor('pull-stall', [sleeper('a'), sleeper('stuck', UNPULLABLE)]);
    const slowTimeoutMs = 1_500;
    // Held far longer than the client waits, and never sent on: no registry is ever asked.
    const stall = proxy.addRule({
      endpoint: 'POST /images/create',
      fault: { kind: 'delay-request', ms: 600_000 },
    });
    const events: LoopEvent[] = [];
    let error: unknown;
    try {
      await convergeWatched(throughProxy(proxy, { slowTimeoutMs }), desired, events, {
        retry: { maxAttempts: 3, initialBackoffMs: 100 },
      }).catch((e: unknown) => (error = e));
      expect(error).toBeInstanceOf(ReconcileError);
      expect(error).toMatchObject({
        reason: 'retries-exhausted',
        details: { actionId: `pull-image:${UNPULLABLE}` },
      });
      expect((error as Error).message).toContain(
        `pull-image:${UNPULLABLE} failed 3 times; last: pull image ${UNPULLABLE}: Docker did not answer image pull ${UNPULLABLE} within ${slowTimeoutMs} ms`,
      );
      const attempts = failedFor(events, 'pull-image', UNPULLABLE);
      expect(attempts.map((e) => [e.attempt, e.retryable])).toEqual([
        [1, true],
        [2, true],
        [3, true],
      ]);
      expect(stall.fired).toBe(3);
      expect(proxy.count('POST /images/create', (r) => r.forwarded)).toBe(0);
      // Each stalled pull was given up by the client, and nothing is still waiting at the proxy.
      await proxy.whenIdle(30_000);
      expect(proxy.matching('POST /images/create').every((r) => r.clientGone)).toBe(true);
      // The service whose image was there got going; the one that waits for the pull was never made.
      const stuck = desired.containers.filter((c) => c.service === 'stuck').map((c) => c.name);
      expect(proxy.count('POST /containers/create', (r) => stuck.includes(r.query.get('name') ?? ''))).toBe(
        0,
      );
    } finally {
      await down(direct, desired.owner, { pollIntervalMs: 250 });
    }
    expect(await left(desired)).toEqual({ containers: [], networks: [] });
  }, 240_000);
});
