/**
 * One task run's services, from `start()` until `stop()`: the reconcile loop converging its graph,
 * the service events derived from what Docker shows, and the death policy while the task runs.
 * The startup gate (`startup-gate.ts`), the log collector (`log-collector.ts`) and the credential
 * push (`credential-push.ts`) each do one job for it.
 *
 * Readiness is event-driven: every snapshot the observer pushes (Docker's `start`, `die` and
 * `health_status` events each trigger one) is read against the graph, and `start()` settles on the
 * first snapshot that shows every service ready, or one failed. Nothing here polls.
 */
import type { ArtifactFetcher } from '../actions/artifacts.js';
import type { ImageProgress } from '../actions/context.js';
import { ReplaySubject, Subject, shareReplay, takeUntil, type Observable, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import type { CredentialsSource, PushResult } from '../credentials/source.js';
import type { WorkerCredentials } from '../credentials/proxy-credentials.js';
import type { WorkerConfig } from '../desired-state/config.js';
import type { DesiredState, OwnerRef } from '../desired-state/types.js';
import type { TaskContainerOptions } from '../desired-state/task-container.js';
import type { DockerApi } from '../docker/client.js';
import { scopeOf, type ObserveScope } from '../observed-state/scope.js';
import type { Snapshot } from '../observed-state/types.js';
import type { RefreshRequest } from '../observed-state/requests.js';
import type { RestartPolicy } from '../reconciler/restarts.js';
import { proxyCredentialsFrom, pushCredentials } from './credential-push.js';
import { LogCollector } from './log-collector.js';
import { redact } from './logs.js';
import {
  derivePhaseEvents,
  initialPhaseState,
  trackerKey,
  type PhaseScope,
  type PhaseState,
  type ServiceEvent,
  type ServiceRole,
} from './phases.js';
import type { Runtime } from './runtime.js';
import { describeServices, type ServiceInfo } from './service-info.js';
import { StartupGate } from './startup-gate.js';
import { failureFromReconcileError } from './startup.js';

/** `ready`: every service came up; `failed`: one died mid-task and the policy (or its budget) gave up. */
export type SessionState = 'starting' | 'ready' | 'failed' | 'detached' | 'stopping' | 'stopped';

export interface SessionFailure {
  service: string;
  role: ServiceRole;
  reason: string;
}

export interface StopResult {
  /** Every service's log (all its containers), at most `maxLogBytes` each, secrets redacted. */
  logs: Record<string, string>;
  /** Each service's auth proxy's log, bounded and redacted the same way. */
  proxyLogs: Record<string, string>;
  /**
   * Containers that are not ours and were on a network of the task (put there by someone else):
   * detached so that the network could be removed, and otherwise left alone.
   */
  disconnected: { id: string; name?: string; network: string }[];
}

/** How many events a late subscriber to `events$` is replayed (a session's whole life, normally). */
const EVENT_REPLAY = 10_000;

export interface SessionInit {
  docker: DockerApi;
  runtime: Runtime;
  config: WorkerConfig;
  desired: DesiredState;
  taskContainerOptions: TaskContainerOptions;
  credentials: CredentialsSource | undefined;
  /** Secret values of the payload (env values); the credentials source knows its own. */
  payloadSecrets: string[];
  maxLogBytes: number;
  /** See `StartupOptions.settleMs`. */
  readySettleMs: number;
  logger: Logger | undefined;
  now?: () => number;
  /** Fetches task image artifacts; absent: a task or indexed image fails to load, naming why. */
  artifacts?: ArtifactFetcher;
}

export class ServiceSession {
  readonly taskId: string;
  readonly runId: number;
  /** Merge into the task container's create options: it joins the task network, nothing else. */
  readonly taskContainerOptions: TaskContainerOptions;
  /**
   * One event per phase change of each service and of its proxy, timestamped. Replays what
   * happened since `start()` to a late subscriber; completes after `stop()`.
   */
  readonly events$: Observable<ServiceEvent>;

  private readonly events = new ReplaySubject<ServiceEvent>(EVENT_REPLAY);
  private readonly stopObserving = new Subject<void>();
  private readonly desired: DesiredState;
  private readonly owner: OwnerRef;
  private readonly scope: ObserveScope;
  private readonly phaseScope: PhaseScope;
  private readonly logCollector: LogCollector;
  private readonly failedServices = new Set<string>();
  private readonly now: () => number;
  private phases: PhaseState = initialPhaseState();
  private latest: Snapshot | undefined;
  private observer: Subscription | undefined;
  /** The observer while it runs: teardown watches through it instead of starting its own. */
  private live: { snapshots: Observable<Snapshot>; refresh: (request?: RefreshRequest) => void } | undefined;
  private loop: Subscription | undefined;
  private readonly loopAbort = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  private stateValue: SessionState = 'starting';
  private failureValue: SessionFailure | undefined;
  private stopping: Promise<StopResult> | undefined;
  /** What `start()` waits on, while it does. */
  private gate: StartupGate | undefined;

  /** Made by `ServiceManager.start()`; not meant to be constructed by callers. */
  constructor(private readonly init: SessionInit) {
    this.desired = init.desired;
    this.owner = init.desired.owner;
    this.taskId = this.owner.taskId;
    this.runId = this.owner.runId;
    this.taskContainerOptions = init.taskContainerOptions;
    this.events$ = this.events.asObservable();
    this.now = init.now ?? Date.now;
    this.scope = scopeOf(init.desired);
    const images: Record<string, string> = {};
    for (const node of init.desired.containers) images[trackerKey(node.role, node.service)] = node.image;
    this.phaseScope = { owner: this.owner, images };
    this.logCollector = new LogCollector({
      docker: init.docker,
      owner: this.owner,
      maxLogBytes: init.maxLogBytes,
      scrub: (text) => this.scrub(text),
      latest: () => this.latest,
    });
  }

  get state(): SessionState {
    return this.stateValue;
  }

  /** Set once the session is `failed`: which service, and why. */
  get failure(): SessionFailure | undefined {
    return this.failureValue;
  }

  /** Service names of this task, sorted. */
  get services(): string[] {
    return [...new Set(this.desired.containers.map((c) => c.service))].sort();
  }

  /**
   * Converges the graph and resolves once every service is ready; rejects with a
   * `ServiceStartError` after removing everything of the task. Called once, by the manager.
   */
  async start(options: { deadline: Date; signal?: AbortSignal }): Promise<void> {
    if (this.desired.containers.length === 0) {
      this.stateValue = 'ready';
      return;
    }
    const refresh = new Subject<RefreshRequest | void>();
    const snapshots = this.init.runtime
      .observe(this.scope, refresh)
      .pipe(takeUntil(this.stopObserving), shareReplay({ bufferSize: 1, refCount: false }));
    this.live = { snapshots, refresh: (request) => refresh.next(request) };
    const gate = this.startupGate(() => refresh.next());
    this.gate = gate;
    // The gate exists before the subscription: a snapshot may arrive during subscribe().
    this.observer = snapshots.subscribe({
      next: (snapshot) => {
        this.onSnapshot(snapshot);
        gate.snapshot(snapshot);
      },
      error: (error) => {
        this.live = undefined;
        this.init.logger?.warn('observer ended', { error: String(error) });
      },
    });
    this.startLoop(
      snapshots,
      (request) => refresh.next(request),
      (error) => this.onLoopError(error, gate),
    );
    await gate.wait(options);
  }

  /** The service's log so far (every container it had), bounded and redacted. */
  async logs(service: string): Promise<string> {
    if (!this.services.includes(service)) {
      throw new Error(
        `task ${this.taskId} has no service ${JSON.stringify(service)}; it has ${this.services.join(', ')}`,
      );
    }
    if (this.stateValue !== 'stopped') await this.logCollector.readCurrent(service);
    return this.logCollector.text(service);
  }

  /**
   * Stops converging, reads every service's log, reconciles the empty graph and resolves when
   * nothing of the task remains. Calling it again returns the same result.
   */
  stop(): Promise<StopResult> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /**
   * Stops watching and converging and leaves the services running (a CLI `up` that exits; a
   * worker handing the task over). `events$` completes; `stop()` still tears down later.
   */
  async detach(): Promise<void> {
    await this.stopLoop();
    this.live = undefined;
    this.stopObserving.next();
    this.observer?.unsubscribe();
    if (this.stateValue === 'ready' || this.stateValue === 'failed') this.stateValue = 'detached';
    this.events.complete();
  }

  /**
   * Each service as it runs now: its container and image ids, its alias, and its proxy's role
   * scope (read back from the proxy). For a ready session; throws while a service has no container.
   */
  async describeServices(): Promise<ServiceInfo[]> {
    const snapshot = this.latest ?? (await this.init.runtime.collect(this.scope));
    return describeServices(this.init.docker, this.desired, snapshot);
  }

  /** Pushes rotated worker credentials to this task's running proxies. */
  async pushCredentials(credentials: WorkerCredentials): Promise<PushResult[]> {
    if (!this.init.credentials) return [];
    const snapshot = this.latest ?? (await this.init.runtime.collect(this.scope));
    return pushCredentials(
      { docker: this.init.docker, desired: this.desired, source: this.init.credentials, snapshot },
      credentials,
    );
  }

  private startupGate(refresh: () => void): StartupGate {
    return new StartupGate(
      {
        desired: this.desired,
        services: this.services,
        settleMs: this.init.readySettleMs,
        timeoutMs: this.init.config.startupTimeoutMs,
        logger: this.init.logger,
        scrub: (text) => this.scrub(text),
        now: this.now,
      },
      {
        isStarting: () => this.stateValue === 'starting',
        refresh,
        look: async () => {
          const snapshot = await this.init.runtime.collect(this.scope);
          this.onSnapshot(snapshot);
          return snapshot;
        },
        ready: () => {
          this.stateValue = 'ready';
        },
        stopLoop: () => this.stopLoop(),
        logTail: (failure) => this.logCollector.tailOf(failure),
        teardown: async () => {
          await this.teardown();
        },
      },
    );
  }

  private startLoop(
    snapshots: Observable<Snapshot>,
    refresh: (request?: RefreshRequest) => void,
    onError: (error: unknown) => void,
  ): void {
    let loopEnded: () => void = () => {};
    this.loopDone = new Promise<void>((resolve) => (loopEnded = resolve));
    this.loop = this.init.runtime
      .reconcile({
        desired: this.desired,
        restart: this.restartPolicy(),
        concurrency: this.init.config.concurrency,
        credentials: proxyCredentialsFrom(this.init.credentials),
        snapshots,
        refresh,
        signal: this.loopAbort.signal,
        images: {
          registries: this.init.config.registries,
          imageTimeouts: {
            stallMs: this.init.config.images.stallTimeoutMs,
            totalMs: this.init.config.images.timeoutMs,
          },
          onImageProgress: (image, progress) => this.onImageProgress(image, progress),
          ...(this.init.artifacts ? { artifacts: this.init.artifacts } : {}),
        },
        ...(this.init.logger ? { logger: this.init.logger } : {}),
      })
      .subscribe({
        error: (error: unknown) => {
          loopEnded();
          onError(error);
        },
        complete: () => loopEnded(),
      });
  }

  private onLoopError(error: unknown, gate: StartupGate): void {
    // Stopped by us (stop(), a failed start, the fail policy): not news.
    if (this.loopAbort.signal.aborted) return;
    if (this.stateValue === 'starting') gate.loopFailed(error);
    else if (this.stateValue === 'ready') {
      const failure = failureFromReconcileError(this.desired, error, []);
      this.markFailed(
        failure.service ?? '',
        failure.role,
        this.scrub(String((error as Error)?.message ?? error)),
      );
    }
  }

  private restartPolicy(): RestartPolicy {
    const r = this.init.config.restart;
    return {
      mode: r.mode,
      initialBackoffMs: r.initialBackoffMs,
      maxBackoffMs: r.maxBackoffMs,
      maxRestarts: r.maxRestarts,
      resetAfterMs: r.resetAfterMs,
    };
  }

  /** A pull's or download's bytes, as a `pulling` event of each container that runs the image. */
  private onImageProgress(image: string, progress: ImageProgress): void {
    const time = new Date(this.now()).toISOString();
    for (const node of this.desired.containers) {
      if (node.image !== image) continue;
      const tracked = this.phases[trackerKey(node.role, node.service)];
      if (tracked?.containerId !== undefined) continue;
      this.emit({
        type: 'pulling',
        service: node.service,
        role: node.role,
        time,
        image,
        currentBytes: progress.currentBytes,
        ...(progress.totalBytes === undefined ? {} : { totalBytes: progress.totalBytes }),
      });
    }
  }

  private scrub(text: string): string {
    const registryPasswords = Object.values(this.init.config.registries).map((login) => login.password);
    const payloadRedacted = redact(text, [...this.init.payloadSecrets, ...registryPasswords]);
    return this.init.credentials ? this.init.credentials.redact(payloadRedacted) : payloadRedacted;
  }

  private onSnapshot(snapshot: Snapshot): void {
    this.latest = snapshot;
    const { state, events } = derivePhaseEvents(
      this.phases,
      snapshot,
      this.phaseScope,
      new Date(this.now()).toISOString(),
    );
    this.phases = state;
    for (const event of events) this.emit(event);
  }

  private emit(event: ServiceEvent): void {
    const log = this.init.logger?.child({ taskId: this.taskId, service: event.service });
    log?.info(`service ${event.role === 'proxy' ? 'proxy ' : ''}${event.type}`, describe(event));
    this.events.next(event);
    if (event.type === 'died' && event.containerId) {
      // Read the log now: the reconciler may remove the container to replace it.
      void this.logCollector.read(event.role, event.service, event.containerId);
      if (this.stateValue === 'ready' && this.init.config.restart.mode === 'fail') {
        const how = event.oomKilled ? 'was OOM-killed' : `exited with code ${event.exitCode ?? 'unknown'}`;
        this.markFailed(event.service, event.role, `${event.role === 'proxy' ? 'its proxy ' : ''}${how}`);
      }
    }
  }

  private markFailed(service: string, role: ServiceRole, reason: string): void {
    if (this.stateValue !== 'ready' && this.stateValue !== 'failed') return;
    if (this.failedServices.has(`${role}/${service}`)) return;
    this.failedServices.add(`${role}/${service}`);
    this.stateValue = 'failed';
    this.failureValue ??= { service, role, reason };
    // Restarting would go against the policy (or past its budget): stop converging.
    void this.stopLoop();
    this.emit({ type: 'failed', service, role, time: new Date(this.now()).toISOString(), reason });
  }

  /**
   * Stops the loop and waits until the actions it had in flight settled, so that nothing is
   * created behind a teardown's back.
   */
  private async stopLoop(): Promise<void> {
    this.loopAbort.abort();
    await this.loopDone;
    this.loop?.unsubscribe();
  }

  private async doStop(): Promise<StopResult> {
    const starting = this.stateValue === 'starting';
    this.stateValue = 'stopping';
    let disconnected: StopResult['disconnected'];
    try {
      await this.stopLoop();
      await this.logCollector.readAll().catch(() => {});
      disconnected = await this.teardown();
    } finally {
      // A start still waiting must not wait forever: it ends, cancelled, once the task is gone.
      if (starting) this.gate?.stopped();
    }
    return {
      logs: this.logCollector.texts(this.services),
      proxyLogs: this.logCollector.texts(this.services, 'proxy'),
      disconnected,
    };
  }

  /**
   * Reconciles the empty graph, watched through the session's observer while it runs (whose
   * snapshots then report the removals) or else by teardown's own and one last look; then ends
   * the events.
   */
  private async teardown(): Promise<StopResult['disconnected']> {
    await this.stopLoop();
    const live = this.live;
    // A safety-net relist in a teardown would inspect what is being removed (8 calls and more at
    // N = 20); the teardown works from the live view and its own answers, as it does not relist.
    live?.refresh({ tearingDown: true });
    const options = {
      concurrency: this.init.config.concurrency,
      ...(this.init.logger ? { logger: this.init.logger } : {}),
      ...(live ?? {}),
    };
    try {
      const removed = await this.init.runtime.down(this.owner, options);
      const disconnected = removed?.disconnected ?? [];
      for (const d of disconnected) {
        this.init.logger?.warn('detached a container that is not ours from a network of the task', {
          containerId: d.id,
          container: d.name,
          network: d.network,
        });
      }
      if (!live) {
        const final = await this.init.runtime.collect(this.scope).catch(() => undefined);
        if (final) this.onSnapshot(final);
      }
      return disconnected;
    } finally {
      this.live = undefined;
      this.stopObserving.next();
      this.observer?.unsubscribe();
      this.stateValue = 'stopped';
      this.events.complete();
    }
  }
}

function describe(event: ServiceEvent): Record<string, unknown> {
  const { type: _type, service: _service, ...rest } = event;
  return rest;
}
