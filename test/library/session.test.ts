/**
 * The session's decisions without Docker: snapshots and loop outcomes are fed by hand through a
 * fake runtime (the real `compile`), so each path of `start()` and of the death policy is shown
 * on its own.
 */
import { describe, expect, it } from '@jest/globals';
import { Observable, Subject } from 'rxjs';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { taskContainerOptions } from '../../src/desired-state/task-container.js';
import type { DesiredState, OwnerRef } from '../../src/desired-state/types.js';
import type { DockerApi } from '../../src/docker/client.js';
import { ServiceStartError } from '../../src/library/errors.js';
import { ServiceManager } from '../../src/library/manager.js';
import type { ServiceEvent } from '../../src/library/phases.js';
import type { Runtime } from '../../src/library/runtime.js';
import type { ObservedContainer, Snapshot } from '../../src/observed-state/types.js';
import { ReconcileError } from '../../src/reconciler/errors.js';

const TASK_ID = 'fXaAmhBlTXmKjFmfd7Fh9A';
const T0 = Date.parse('2026-01-01T00:00:00Z');

class FakeRuntime implements Runtime {
  readonly snapshots = new Subject<Snapshot>();
  loop = new Subject<unknown>();
  desired: DesiredState | undefined;
  downs: OwnerRef[] = [];
  /** Whether each teardown was handed the session's observer. */
  downsWatched: boolean[] = [];
  collects = 0;
  latest: Snapshot | undefined;
  loopAborted = false;
  /** What the teardown reports it detached (containers that are not ours). */
  detached: { id: string; name?: string; network: string }[] = [];

  compile: Runtime['compile'] = (payload, input) => (this.desired = compile(payload, input));
  taskContainerOptions: Runtime['taskContainerOptions'] = (desired) => taskContainerOptions(desired);
  observe: Runtime['observe'] = () => this.snapshots;
  collect: Runtime['collect'] = async () => (this.collects++, this.latest ?? empty());
  reconcile: Runtime['reconcile'] = (input) =>
    new Observable((subscriber) => {
      const sub = this.loop.subscribe(subscriber);
      input.signal?.addEventListener('abort', () => {
        this.loopAborted = true;
        subscriber.error(new ReconcileError('aborted', 'reconcile aborted'));
      });
      return () => sub.unsubscribe();
    });
  down: Runtime['down'] = async (owner, options) => {
    this.downs.push(owner);
    this.downsWatched.push(options.snapshots !== undefined && options.refresh !== undefined);
    this.latest = empty();
    // The observer it was handed sees everything go, as the real one would.
    if (options.snapshots) this.snapshots.next(this.latest);
    return { disconnected: this.detached };
  };
  collectGarbage: Runtime['collectGarbage'] = async () => [];

  push(containers: ObservedContainer[], msAfterStart = 5_000): void {
    this.latest = { ...empty(new Date(T0 + msAfterStart).toISOString()), containers };
    this.snapshots.next(this.latest);
  }

  /** Every container of the graph, as Docker would show it, with `over` applied to the services. */
  containers(
    over: Partial<ObservedContainer> = {},
    proxy: Partial<ObservedContainer> = {},
  ): ObservedContainer[] {
    return this.desired!.containers.map((node) => ({
      id: `id-${node.name}`,
      name: node.name,
      labels: node.labels,
      image: node.image,
      imageId: 'sha256:1',
      state: 'running',
      exitCode: 0,
      oomKilled: false,
      health: node.role === 'proxy' ? 'healthy' : 'none',
      networks: {},
      startedAt: new Date(T0).toISOString(),
      ...(node.role === 'service' ? over : proxy),
    }));
  }
}

function empty(time = new Date(T0).toISOString()): Snapshot {
  return { time, containers: [], networks: [], images: [], missingImages: [], foreign: [] };
}

const noDocker = {
  containerLogs: async () => 'line one\nthe password is hunter2-secret\n',
  inspectContainer: async () => undefined,
} as unknown as DockerApi;

function setup(config: Parameters<typeof defaultWorkerConfig>[0] extends infer C ? Partial<C> : never = {}) {
  const runtime = new FakeRuntime();
  const manager = new ServiceManager({
    docker: noDocker,
    runtime,
    config: defaultWorkerConfig({
      ownerId: 'worker-1',
      // Fixture images are built here, never in a registry: nothing to pull.
      images: { pullPolicy: 'if-not-present' },
      provisionerId: 'prov',
      workerType: 'wt',
      rootUrl: 'https://tc.example.com',
      proxy: { image: 'proxy:1' },
      ...config,
    }),
    credentials: { clientId: 'worker', accessToken: 'worker-token-0123456789' },
  });
  const start = (services: unknown[], extra: { signal?: AbortSignal } = {}) =>
    manager.start({
      taskId: TASK_ID,
      runId: 0,
      payload: { services },
      scopes: [],
      deadline: new Date(Date.now() + 3_600_000),
      ...extra,
    });
  return { runtime, manager, start };
}

const db = { name: 'db', image: 'postgres:15', env: { POSTGRES_PASSWORD: 'hunter2-secret' } };

function types(events: ServiceEvent[]): string[] {
  return events.map((e) => `${e.role}/${e.service} ${e.type}`);
}

async function flush(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

describe('ServiceSession (fake runtime)', () => {
  it('resolves on the first snapshot where every container is ready, after its settle time', async () => {
    const { runtime, start } = setup();
    const started = start([db]);
    await flush();
    runtime.push(runtime.containers({ state: 'created', startedAt: undefined }));
    runtime.push(runtime.containers(), 200); // running, but not for 1 s yet
    runtime.push(runtime.containers(), 1_500);
    const session = await started;
    expect(session.state).toBe('ready');
    const seen: ServiceEvent[] = [];
    session.events$.subscribe((e) => seen.push(e));
    expect(types(seen)).toEqual([
      'proxy/db created',
      'proxy/db started',
      'proxy/db healthy',
      'service/db created',
      'service/db started',
    ]);
  });

  it('a loop failure while starting is named by service, after teardown, with a redacted log tail', async () => {
    const { runtime, start } = setup();
    const started = start([db]);
    await flush();
    runtime.push(runtime.containers({ state: 'created', startedAt: undefined }));
    runtime.loop.error(
      new ReconcileError('terminal', 'create-container:x: bad', {
        code: 'bad-spec',
        actionId: `start-container:ds-${TASK_ID}-0_db`,
        action: {
          id: `start-container:ds-${TASK_ID}-0_db`,
          kind: 'start-container',
          cause: 'created, not started',
          target: { type: 'container', name: `ds-${TASK_ID}-0_db`, node: 'container/service/db' },
        },
      }),
    );
    const error = (await started.catch((e: unknown) => e)) as ServiceStartError;
    expect(error).toBeInstanceOf(ServiceStartError);
    expect(error.service).toBe('db');
    expect(error.reason).toMatchObject({ kind: 'reconcile-failed', code: 'bad-spec' });
    expect(error.logTail).toBe('line one\nthe password is [redacted]');
    expect(runtime.downs).toHaveLength(1);
  });

  it('times out naming the service still pending and its phase', async () => {
    const { runtime, start } = setup({ startupTimeoutMs: 50 });
    const started = start([db]);
    await flush();
    runtime.push(runtime.containers({ health: 'starting' }));
    const error = (await started.catch((e: unknown) => e)) as ServiceStartError;
    expect(error).toBeInstanceOf(ServiceStartError);
    expect(error.service).toBe('db');
    expect(error.phase).toBe('running');
    expect(error.reason).toEqual({ kind: 'timeout', timeoutMs: 50 });
    expect(runtime.loopAborted).toBe(true);
    expect(runtime.downs).toHaveLength(1);
  });

  it('after ready, a loop failure (crash loop past its budget) is a failed event and state', async () => {
    const { runtime, start } = setup();
    const started = start([db]);
    await flush();
    runtime.push(runtime.containers(), 2_000);
    const session = await started;
    runtime.loop.error(
      new ReconcileError('blocked', 'ds-x_db: crash loop', {
        code: 'crash-loop',
        blocked: [
          {
            node: 'container/service/db',
            name: `ds-${TASK_ID}-0_db`,
            reason: 'crash loop',
            code: 'crash-loop',
          },
        ],
      }),
    );
    expect(session.state).toBe('failed');
    expect(session.failure).toMatchObject({ service: 'db', role: 'service' });
    const seen: ServiceEvent[] = [];
    session.events$.subscribe((e) => seen.push(e));
    expect(seen.at(-1)).toMatchObject({ type: 'failed', service: 'db' });
  });

  it('stop() tears down once, returns redacted logs, and completes events$', async () => {
    const { runtime, start } = setup();
    const started = start([db]);
    await flush();
    runtime.push(runtime.containers(), 2_000);
    const session = await started;
    let completed = false;
    const seen: ServiceEvent[] = [];
    session.events$.subscribe({ next: (e) => seen.push(e), complete: () => (completed = true) });
    const collectsBefore = runtime.collects;
    const [one, two] = await Promise.all([session.stop(), session.stop()]);
    expect(one).toBe(two);
    expect(one.logs).toEqual({ db: 'line one\nthe password is [redacted]\n' });
    expect(runtime.downs).toHaveLength(1);
    // Teardown watched through the session's observer, whose snapshots reported the removals:
    // no observer of its own, no last look.
    expect(runtime.downsWatched).toEqual([true]);
    expect(runtime.collects).toBe(collectsBefore);
    const removed = seen.filter((e) => e.type === 'removed').map((e) => `${e.role}/${e.service}`);
    expect(removed.sort()).toEqual(['proxy/db', 'service/db']);
    expect(completed).toBe(true);
    expect(session.state).toBe('stopped');
  });

  it('stop() names the containers that are not ours its teardown detached from the task network', async () => {
    const { runtime, start } = setup();
    const started = start([db]);
    await flush();
    runtime.push(runtime.containers(), 2_000);
    const session = await started;
    runtime.detached = [{ id: 'c0ffee', name: 'someone-elses', network: `ds-${TASK_ID}-0` }];
    const result = await session.stop();
    expect(result.disconnected).toEqual([
      { id: 'c0ffee', name: 'someone-elses', network: `ds-${TASK_ID}-0` },
    ]);
  });

  it('a task without services is ready at once and its container options are empty', async () => {
    const { start } = setup();
    const session = await start([]);
    expect(session.state).toBe('ready');
    expect(session.taskContainerOptions).toEqual({});
    expect(session.services).toEqual([]);
  });
});
