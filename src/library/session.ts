/**
 * One task run's services, from `start()` until `stop()`: the reconcile loop converging its graph,
 * the service events derived from what Docker shows, the startup gate, the death policy while the
 * task runs, and the logs.
 *
 * Readiness is event-driven: every snapshot the observer pushes (Docker's `start`, `die` and
 * `health_status` events each trigger one) is read against the graph, and `start()` settles on the
 * first snapshot that shows every service ready, or one failed. Nothing here polls.
 */
import { ReplaySubject, Subject, shareReplay, takeUntil, type Observable, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import type { CredentialsSource } from '../credentials/source.js';
import type { LiveProxy, PushResult } from '../credentials/source.js';
import type { WorkerCredentials } from '../credentials/proxy-credentials.js';
import { roleScopeFromCmd } from '../credentials/role-scope.js';
import type { WorkerConfig } from '../desired-state/config.js';
import { serviceNetworkName } from '../desired-state/names.js';
import { imagesOf } from '../desired-state/images.js';
import type { DesiredState, OwnerRef } from '../desired-state/types.js';
import type { TaskContainerOptions } from '../desired-state/task-container.js';
import type { DockerApi } from '../docker/client.js';
import type { ObserveScope } from '../observed-state/scope.js';
import type { RefreshRequest, Snapshot } from '../observed-state/types.js';
import { TerminalError } from '../reconciler/errors.js';
import type { RestartPolicy } from '../reconciler/restarts.js';
import { ServiceStartError } from './errors.js';
import {
  DEFAULT_TAIL_BYTES,
  DEFAULT_TAIL_LINES,
  ServiceLogs,
  readContainerLog,
  redact,
  tailLines,
} from './logs.js';
import {
  derivePhaseEvents,
  initialPhaseState,
  taskContainers,
  trackerKey,
  type PhaseScope,
  type PhaseState,
  type ServiceEvent,
  type ServiceRole,
} from './phases.js';
import type { Runtime } from './runtime.js';
import {
  evaluateStartup,
  failureFromReconcileError,
  type StartFailure,
  type StartupStatus,
} from './startup.js';

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
  private readonly serviceLogs: ServiceLogs;
  private readonly pendingLogReads = new Set<Promise<void>>();
  private readonly failedServices = new Set<string>();
  private readonly now: () => number;
  private phases: PhaseState = initialPhaseState();
  private latest: Snapshot | undefined;
  private lastStatus: StartupStatus | undefined;
  private observer: Subscription | undefined;
  /** The observer while it runs: teardown watches through it instead of starting its own. */
  private live: { snapshots: Observable<Snapshot>; refresh: (request?: RefreshRequest) => void } | undefined;
  private loop: Subscription | undefined;
  private readonly loopAbort = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  private stateValue: SessionState = 'starting';
  private failureValue: SessionFailure | undefined;
  private stopping: Promise<StopResult> | undefined;

  /** Made by `ServiceManager.start()`; not meant to be constructed by callers. */
  constructor(private readonly init: SessionInit) {
    this.desired = init.desired;
    this.owner = init.desired.owner;
    this.taskId = this.owner.taskId;
    this.runId = this.owner.runId;
    this.taskContainerOptions = init.taskContainerOptions;
    this.events$ = this.events.asObservable();
    this.now = init.now ?? Date.now;
    this.scope = {
      ownerId: this.owner.ownerId,
      taskId: this.owner.taskId,
      runId: this.owner.runId,
      images: imagesOf(init.desired),
    };
    const images: Record<string, string> = {};
    for (const node of init.desired.containers) images[trackerKey(node.role, node.service)] = node.image;
    this.phaseScope = { owner: this.owner, images };
    this.serviceLogs = new ServiceLogs(init.maxLogBytes);
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
    const log = this.init.logger;
    if (this.desired.containers.length === 0) {
      this.stateValue = 'ready';
      return;
    }
    const refresh = new Subject<RefreshRequest | void>();
    const snapshots = this.init.runtime
      .observe(this.scope, refresh)
      .pipe(takeUntil(this.stopObserving), shareReplay({ bufferSize: 1, refCount: false }));
    this.live = { snapshots, refresh: (request) => refresh.next(request) };

    const timers: NodeJS.Timeout[] = [];
    let settleTimer: NodeJS.Timeout | undefined;
    let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
    const gate = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    let failing = false;
    const fail = (failure: StartFailure, cause?: unknown): void => {
      if (failing || this.stateValue !== 'starting') return;
      failing = true;
      void this.failStart(failure, cause).then(settle!.reject, settle!.reject);
    };

    // Defined before anything can call them: a snapshot may arrive during subscribe().
    const clearTimers = (): void => {
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const firstPending = (): Pick<StartFailure, 'service' | 'role' | 'phase'> => {
      const p = this.lastStatus?.pending[0];
      return p
        ? { service: p.service, role: p.role, phase: p.phase }
        : { service: this.services[0], role: 'service', phase: 'pending' };
    };
    const onAbort = (): void => fail({ ...firstPending(), reason: { kind: 'aborted' } });

    this.observer = snapshots.subscribe({
      next: (snapshot) => {
        this.onSnapshot(snapshot);
        if (this.stateValue !== 'starting' || failing) return;
        const status = evaluateStartup(this.desired, snapshot, { settleMs: this.init.readySettleMs });
        this.lastStatus = status;
        if (status.recheckInMs !== undefined && !settleTimer) {
          // One look once the settle time has passed; the events bring everything else.
          settleTimer = setTimeout(() => {
            settleTimer = undefined;
            refresh.next();
          }, status.recheckInMs + 20);
          timers.push(settleTimer);
        }
        if (status.failure) fail(status.failure);
        else if (status.ready) {
          this.stateValue = 'ready';
          clearTimers();
          log?.info('services ready', { services: this.services });
          settle!.resolve();
        }
      },
      error: (error) => {
        this.live = undefined;
        log?.warn('observer ended', { error: String(error) });
      },
    });

    const onLoopError = (error: unknown): void => {
      // Stopped by us (stop(), a failed start, the fail policy): not news.
      if (this.loopAbort.signal.aborted) return;
      if (this.stateValue === 'starting') {
        // The loop and the observer race: a fresh look tells an exit code from a bare "crash loop".
        void this.init.runtime
          .collect(this.scope)
          .then((snapshot) => {
            this.onSnapshot(snapshot);
            const status = evaluateStartup(this.desired, snapshot, { settleMs: this.init.readySettleMs });
            fail(status.failure ?? failureFromReconcileError(this.desired, error, status.pending), error);
          })
          .catch(() =>
            fail(failureFromReconcileError(this.desired, error, this.lastStatus?.pending ?? []), error),
          );
      } else if (this.stateValue === 'ready') {
        const failure = failureFromReconcileError(this.desired, error, []);
        this.markFailed(
          failure.service ?? '',
          failure.role,
          this.scrub(String((error as Error)?.message ?? error)),
        );
      }
    };
    let loopEnded: () => void = () => {};
    this.loopDone = new Promise<void>((resolve) => (loopEnded = resolve));
    this.loop = this.init.runtime
      .reconcile({
        desired: this.desired,
        restart: this.restartPolicy(),
        concurrency: this.init.config.concurrency,
        credentials: (container) => {
          if (!this.init.credentials) {
            return Promise.reject(
              new TerminalError(
                'bad-spec',
                `${container.name} is an auth proxy and needs credentials; the ServiceManager was built without any`,
              ),
            );
          }
          return this.init.credentials.credentials(container);
        },
        snapshots,
        refresh: (request) => refresh.next(request),
        signal: this.loopAbort.signal,
        ...(log ? { logger: log } : {}),
      })
      .subscribe({
        error: (error: unknown) => {
          loopEnded();
          onLoopError(error);
        },
        complete: () => loopEnded(),
      });

    const timeoutMs = this.init.config.startupTimeoutMs;
    timers.push(
      setTimeout(() => fail({ ...firstPending(), reason: { kind: 'timeout', timeoutMs } }), timeoutMs),
    );
    const untilDeadline = options.deadline.getTime() - this.now();
    timers.push(
      setTimeout(
        () =>
          fail({ ...firstPending(), reason: { kind: 'deadline', deadline: options.deadline.toISOString() } }),
        Math.max(0, Math.min(untilDeadline, 2 ** 31 - 1)),
      ),
    );
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    try {
      await gate;
    } finally {
      clearTimers();
    }
  }

  /** The service's log so far (every container it had), bounded and redacted. */
  async logs(service: string): Promise<string> {
    if (!this.services.includes(service)) {
      throw new Error(
        `task ${this.taskId} has no service ${JSON.stringify(service)}; it has ${this.services.join(', ')}`,
      );
    }
    if (this.latest && this.stateValue !== 'stopped') {
      const container = taskContainers(this.latest, this.owner).get(trackerKey('service', service));
      if (container) await this.readLog(service, container.id);
    }
    return this.serviceLogs.text(service, (text) => this.scrub(text));
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

  /** Pushes rotated worker credentials to this task's running proxies. */
  async pushCredentials(credentials: WorkerCredentials): Promise<PushResult[]> {
    if (!this.init.credentials) return [];
    const proxies: LiveProxy[] = [];
    const current = this.latest ?? (await this.init.runtime.collect(this.scope));
    for (const container of taskContainers(current, this.owner).values()) {
      if (container.state !== 'running') continue;
      const node = this.desired.containers.find((c) => c.name === container.name);
      if (!node || node.role !== 'proxy') continue;
      const inspect = await this.init.docker.inspectContainer(container.id);
      const cmd = inspect?.Config?.Cmd;
      const network = serviceNetworkName(this.taskId, this.runId, node.service);
      const ip = container.networks[network]?.ipAddress;
      if (!cmd || !ip) continue;
      proxies.push({ ip, roleScope: roleScopeFromCmd(Array.isArray(cmd) ? cmd : [cmd]) });
    }
    return this.init.credentials.updateCredentials(credentials, proxies);
  }

  private restartPolicy(): RestartPolicy {
    const r = this.init.config.restart;
    return {
      mode: r.mode,
      initialBackoffMs: r.initialBackoffMs,
      maxBackoffMs: r.maxBackoffMs,
      maxRestarts: r.maxRestarts,
    };
  }

  private scrub(text: string): string {
    const payloadRedacted = redact(text, this.init.payloadSecrets);
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
      void this.readLog(
        event.role === 'service' ? event.service : `${event.service}/proxy`,
        event.containerId,
      );
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

  private readLog(key: string, containerId: string): Promise<void> {
    const read = readContainerLog(this.init.docker, containerId, this.init.maxLogBytes).then((text) => {
      this.serviceLogs.record(key, containerId, text);
    });
    this.pendingLogReads.add(read);
    void read.finally(() => this.pendingLogReads.delete(read));
    return read;
  }

  private async captureAllLogs(): Promise<void> {
    const current = this.latest ? taskContainers(this.latest, this.owner) : new Map();
    const reads: Promise<void>[] = [...this.pendingLogReads];
    for (const [key, container] of current) {
      const [role, service] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      reads.push(this.readLog(role === 'service' ? service : `${service}/proxy`, container.id));
    }
    await Promise.all(reads);
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

  private async failStart(failure: StartFailure, cause: unknown): Promise<never> {
    await this.stopLoop();
    let logTail = '';
    try {
      const containerId =
        failure.containerId ??
        (failure.service !== undefined && this.latest
          ? taskContainers(this.latest, this.owner).get(trackerKey(failure.role, failure.service))?.id
          : undefined);
      await this.captureAllLogs();
      if (containerId && failure.service !== undefined) {
        const key = failure.role === 'service' ? failure.service : `${failure.service}/proxy`;
        const text = await readContainerLog(this.init.docker, containerId, this.init.maxLogBytes);
        if (text) this.serviceLogs.record(key, containerId, text);
        logTail = tailLines(
          this.serviceLogs.text(key, (t) => this.scrub(t)),
          DEFAULT_TAIL_LINES,
          DEFAULT_TAIL_BYTES,
        );
      }
    } catch {
      // The log is a courtesy; the failure itself is what must be reported.
    }
    const reason = { ...failure.reason };
    if (reason.kind === 'unhealthy' && reason.lastProbeOutput !== undefined) {
      reason.lastProbeOutput = this.scrub(reason.lastProbeOutput);
    }
    if (reason.kind === 'reconcile-failed') reason.message = this.scrub(reason.message);
    const error = new ServiceStartError(
      {
        service: failure.service,
        role: failure.role,
        phase: failure.phase,
        reason,
        logTail,
        taskId: this.taskId,
        runId: this.runId,
      },
      cause instanceof Error ? { cause: new Error(this.scrub(cause.message)) } : undefined,
    );
    this.init.logger?.warn("services failed to start; removing the task's objects", {
      service: failure.service,
      phase: failure.phase,
      reason: reason.kind,
    });
    try {
      await this.teardown();
    } catch (teardownError) {
      this.init.logger?.error('teardown after a failed start did not finish', {
        error: this.scrub(String((teardownError as Error)?.message ?? teardownError)),
      });
    }
    throw error;
  }

  private async doStop(): Promise<StopResult> {
    this.stateValue = 'stopping';
    await this.stopLoop();
    await this.captureAllLogs().catch(() => {});
    await this.teardown();
    const logs: Record<string, string> = {};
    for (const service of this.services) logs[service] = this.serviceLogs.text(service, (t) => this.scrub(t));
    return { logs };
  }

  /**
   * Reconciles the empty graph, watched through the session's observer while it runs (whose
   * snapshots then report the removals) or else by teardown's own and one last look; then ends
   * the events.
   */
  private async teardown(): Promise<void> {
    await this.stopLoop();
    const live = this.live;
    const options = {
      concurrency: this.init.config.concurrency,
      ...(this.init.logger ? { logger: this.init.logger } : {}),
      ...(live ?? {}),
    };
    try {
      await this.init.runtime.down(this.owner, options);
      if (!live) {
        const final = await this.init.runtime.collect(this.scope).catch(() => undefined);
        if (final) this.onSnapshot(final);
      }
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
