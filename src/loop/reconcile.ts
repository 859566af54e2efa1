/**
 * The reconcile loop, the spine of every run: **snapshot → plan → execute → ready/converged**.
 *
 * Level-triggered: every fresh snapshot is planned from scratch against the desired graph
 * (`plan()`, pure), and the plan goes to the executor (`PlanExecutor`), which runs the actions whose
 * dependencies are done. When an action finishes the loop asks the observer to look again at what
 * it changed (one inspect, not a relist); it does not trust its own bookkeeping over Docker. Until
 * a snapshot reflects that request (its `refreshed` token), the action counts as done in every new
 * plan; a snapshot source without tokens is taken as fresh, and an older snapshot only makes the
 * loop repeat an idempotent action.
 *
 * It ends when the plan is empty and (per `until`) every service is ready or nothing is left to
 * wait for; it fails with a `ReconcileError` on a terminal executor error, a blocked plan, a
 * retry budget spent, the deadline or the abort signal, after the actions in flight have settled
 * (so that nothing is created behind the caller's back once it has been told the loop is over).
 */
import { Observable, lastValueFrom, type Subscriber, type Subscription } from 'rxjs';
import { map, tap } from 'rxjs/operators';
import type { Logger } from 'winston';
import type { ActionResult, ExecuteContext } from '../actions/execute.js';
import {
  DEFAULT_RETRY_POLICY,
  PlanExecutor,
  type ExecutorEvent,
  type RetryPolicy,
} from '../actions/executor.js';
import { bindImages, resolveImage } from '../desired-state/images.js';
import type { DesiredState } from '../desired-state/types.js';
import type { DockerApi } from '../docker/client.js';
import { listOnDemand } from '../observed-state/on-demand.js';
import { scopeOf } from '../observed-state/scope.js';
import type { Snapshot } from '../observed-state/types.js';
import type { RefreshRequest } from '../observed-state/requests.js';
import type { Action, Plan, Waiting } from '../reconciler/actions.js';
import type { ActionInfo } from '../reconciler/describe.js';
import { ReconcileError } from '../reconciler/errors.js';
import { taskObjectsLeft } from '../reconciler/ownership.js';
import { PlanCache, plan as realPlan, type PlanOptions } from '../reconciler/plan.js';
import {
  DEFAULT_RESTART_POLICY,
  recordRestart,
  type RestartLedger,
  type RestartPolicy,
} from '../reconciler/restarts.js';
import { Timers } from '../util/timers.js';

export { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../actions/executor.js';
export type { ActionInfo } from '../reconciler/describe.js';

export type Until = 'ready' | 'converged' | 'forever';

export interface ReconcileOptions {
  docker: DockerApi;
  desired: DesiredState;
  /**
   * Fresh snapshots of this task's objects (`observe()` of `src/observed-state`). Absent: the loop
   * lists on demand (`collectSnapshot` once at start and after each `refresh`), which is enough
   * for teardown and garbage collection.
   */
  snapshots?: Observable<Snapshot>;
  /**
   * Asks the observer for a fresh snapshot, of the objects a request names or of everything;
   * required with `snapshots`, and must hand the request on whole: an observer that echoes
   * request tokens (`Snapshot.refreshed`, as `observe()` does) is only believed ready or
   * converged once it echoes the loop's, so a `refresh` that drops the token leaves the loop
   * waiting (a source that never echoes tokens is taken as fresh).
   */
  refresh?: (request?: RefreshRequest) => void;
  /** Executor context; `docker` defaults to the loop's and `owner` to the desired graph's. */
  execute: Omit<ExecuteContext, 'docker'> & { docker?: DockerApi };
  /** Actions in flight at once (default 8). */
  concurrency?: number;
  restart?: RestartPolicy;
  /** Restarts already done (the loop keeps its own copy from here on). */
  restarts?: RestartLedger;
  retry?: Partial<RetryPolicy>;
  /** Epoch ms; the restart backoff and the deadline are measured with it. */
  now?: () => number;
  signal?: AbortSignal;
  /** Epoch ms (of `now()`) at which the loop fails with `deadline`. */
  deadline?: number;
  until: Until;
  /**
   * While waiting (health, backoff, a dependency) with nothing in flight, re-observe this often
   * (default 1 s); with `snapshots`, not once converged (the observer watches).
   */
  pollIntervalMs?: number;
  logger?: Logger;
  /** The planner; a test may hand in a deliberately broken one to see the properties catch it. */
  plan?: (desired: DesiredState, snapshot: Snapshot, options: PlanOptions) => Plan;
  bind?: PlanOptions['bind'];
  resolveImage?: PlanOptions['resolveImage'];
}

export type LoopEvent =
  | { type: 'planned'; plan: Plan }
  | ExecutorEvent
  | {
      type: 'restart-recorded';
      action: ActionInfo;
      key: string;
      count: number;
      at: number;
      containerId?: string;
    }
  | { type: 'waiting'; waiting: Waiting[] }
  | { type: 'ready'; plan: Plan }
  | { type: 'converged'; plan: Plan };

export interface ConvergeResult {
  plan: Plan;
  restarts: RestartLedger;
  /** Actions that finished, in order. */
  finished: { action: ActionInfo; result: ActionResult }[];
}

/**
 * Refresh tokens come from one sequence for the process: loops that share an observer one after
 * the other (a session's loop, then its teardown) must not take a token the observer vouched for
 * before as news, and an observer's "reflects every request up to n" holds across them.
 */
let tokenSequence = 0;
function nextToken(): number {
  return ++tokenSequence;
}

export function reconcile(options: ReconcileOptions): Observable<LoopEvent> {
  return new Observable<LoopEvent>((subscriber) => new Run(options, subscriber).start());
}

/** One subscription's run of the loop. */
class Run {
  /** Images pulled or loaded by this run: a tag is fetched once per run (pull policy `always`). */
  private readonly fetched = new Set<string>();
  private readonly now: () => number;
  private readonly desired: DesiredState;
  private readonly logger: Logger | undefined;
  private readonly snapshots: Observable<Snapshot>;
  private readonly requestRefresh: (request?: RefreshRequest) => void;
  private readonly listsOnDemand: boolean;
  private readonly executor: PlanExecutor;
  /** What the planner derives from the graph once per run rather than per snapshot. */
  private readonly planCache = new PlanCache();
  private ledger: RestartLedger;
  private current: Plan | undefined;
  /** This run's newest refresh token: only a snapshot that reflects it may say ready or converged. */
  private lastToken = 0;
  private wasReady = false;
  private lastWaiting = '';
  private stopping: { error?: ReconcileError } | undefined;
  private closed = false;
  private subscription: Subscription | undefined;
  private readonly timers = new Timers(() => !this.closed);
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = () =>
    this.stop(new ReconcileError('aborted', 'reconcile aborted', { cause: this.options.signal?.reason }));

  constructor(
    private readonly options: ReconcileOptions,
    private readonly subscriber: Subscriber<LoopEvent>,
  ) {
    this.now = options.now ?? Date.now;
    this.desired = options.desired;
    this.logger = options.logger ?? options.execute.logger;
    this.ledger = { ...(options.restarts ?? {}) };
    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.listsOnDemand = options.snapshots === undefined;
    if (options.snapshots) {
      this.snapshots = options.snapshots;
      this.requestRefresh = options.refresh ?? (() => {});
    } else {
      const onDemand = listOnDemand(options.docker, scopeOf(this.desired), {
        initialMs: retry.initialBackoffMs,
        maxMs: retry.maxBackoffMs,
      });
      this.snapshots = onDemand.snapshots;
      this.requestRefresh = onDemand.refresh;
    }
    this.executor = new PlanExecutor({
      context: {
        ...options.execute,
        docker: options.execute.docker ?? options.docker,
        owner: options.execute.owner ?? this.desired.owner,
        ...(this.logger ? { logger: this.logger } : {}),
      },
      desired: this.desired,
      concurrency: Math.max(1, options.concurrency ?? 8),
      retry,
      now: this.now,
      logger: this.logger,
      hooks: {
        emit: (event) => this.emit(event),
        finished: (action, event) => this.finished(action, event),
        observe: (request) => {
          const token = (this.lastToken = nextToken());
          this.requestRefresh({ ...request, token });
          return token;
        },
        notify: (request) => this.requestRefresh(request),
        refresh: () => this.requestRefresh(),
        failed: (error) => this.stop(error),
        settled: () => this.finish(),
      },
    });
  }

  /** Subscribes to the snapshots; returns the teardown of the subscription. */
  start(): () => void {
    const { signal, deadline } = this.options;
    if (signal?.aborted) {
      this.stopping = { error: new ReconcileError('aborted', 'reconcile aborted', { cause: signal.reason }) };
      this.finish();
      return () => {};
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (deadline !== undefined)
      this.timers.after(deadline - this.now(), () => this.stop(this.deadlineError()));
    // A shared observer may replay a snapshot older than this run (a session's teardown after its
    // start loop): planning from it is harmless, but only a snapshot whose observation began after
    // this point may say ready or converged. The token is sent once subscribed, so that a cold
    // observer is listening for it.
    const startToken = this.listsOnDemand ? undefined : (this.lastToken = nextToken());
    const subscription = this.snapshots.subscribe({
      next: (snapshot) => this.onSnapshot(snapshot),
      error: (error: unknown) =>
        this.stop(
          new ReconcileError(
            'terminal',
            `observation failed: ${(error as Error)?.message ?? String(error)}`,
            {
              cause: error,
            },
          ),
        ),
      complete: () => this.stop(new ReconcileError('terminal', 'observation ended before the loop did')),
    });
    this.subscription = subscription;
    // A synchronous first snapshot may have ended the run before the subscription was known.
    if (this.closed) subscription.unsubscribe();
    // `current`: an observer whose stream has stayed open since its last relist need not relist
    // again (a session's teardown on its observer), one just opened relists anyway.
    else if (startToken !== undefined) this.requestRefresh({ token: startToken, current: true });
    return () => {
      this.closed = true;
      this.clearAll();
    };
  }

  /** The spine: plan the snapshot, stop on what cannot be acted past, say ready/converged, execute. */
  private onSnapshot(snapshot: Snapshot): void {
    if (this.stopping || this.closed) return;
    const next = this.plan(snapshot);
    if (!next) return;
    this.current = next;
    this.executor.replan(next, snapshot);
    this.emit({ type: 'planned', plan: next });
    if (next.blocked.length > 0) {
      const first = next.blocked[0]!;
      this.stop(
        new ReconcileError('blocked', next.blocked.map((b) => `${b.name}: ${b.reason}`).join('; '), {
          code: first.code,
          blocked: next.blocked,
        }),
      );
      return;
    }
    this.reportWaiting(next);
    if (this.settle(next, snapshot)) return;
    const wakeAt = next.waiting.map((w) => w.until).filter((u): u is number => u !== undefined);
    if (wakeAt.length > 0) this.timers.after(Math.min(...wakeAt) - this.now(), () => this.requestRefresh());
    this.executor.pump();
    this.armPoll();
  }

  private plan(snapshot: Snapshot): Plan | undefined {
    try {
      return (this.options.plan ?? realPlan)(this.desired, snapshot, {
        now: this.now(),
        restarts: this.ledger,
        restart: this.options.restart ?? DEFAULT_RESTART_POLICY,
        bind: this.options.bind ?? bindImages,
        resolveImage: this.options.resolveImage ?? resolveImage,
        cache: this.planCache,
        fetched: this.fetched,
      });
    } catch (error) {
      this.stop(
        new ReconcileError('terminal', `planning failed: ${(error as Error).message}`, {
          code: 'bad-spec',
          cause: error,
        }),
      );
      return undefined;
    }
  }

  private reportWaiting(next: Plan): void {
    const text = JSON.stringify(next.waiting.map((w) => [w.node, w.name, w.reason]));
    if (text === this.lastWaiting) return;
    this.lastWaiting = text;
    if (next.waiting.length > 0) this.emit({ type: 'waiting', waiting: next.waiting });
  }

  /**
   * Says ready and converged, and ends the run when `until` is reached (true then). Only a
   * snapshot that reflects every action this run has finished may say either: an older one may
   * still show what those actions replaced.
   */
  private settle(next: Plan, snapshot: Snapshot): boolean {
    const fresh = snapshot.refreshed === undefined || snapshot.refreshed >= this.lastToken;
    if (!fresh) return false;
    const quiet = next.actions.length === 0 && this.executor.idle;
    const readyNow = next.ready && quiet;
    if (readyNow && !this.wasReady) this.emit({ type: 'ready', plan: next });
    this.wasReady = readyNow;
    if (!quiet) return false;
    const converged =
      next.waiting.length === 0 &&
      (this.desired.containers.length + this.desired.networks.length > 0
        ? next.ready
        : taskObjectsLeft(this.desired.owner, snapshot) === 0);
    if (converged) this.emit({ type: 'converged', plan: next });
    const { until } = this.options;
    if ((until === 'ready' && readyNow) || (until === 'converged' && converged)) {
      this.stop();
      return true;
    }
    return false;
  }

  private finished(action: Action, event: Extract<ExecutorEvent, { type: 'action-finished' }>): void {
    if (action.kind === 'pull-image' || action.kind === 'load-image') this.fetched.add(action.image);
    // The planner marks the step that restarts a service: the start of an exited container (one
    // that found it running did nothing), or the removal that begins a replacement.
    const restarted =
      action.kind === 'start-container' ? !event.result.alreadyDone : action.kind === 'remove-container';
    if (
      (action.kind === 'start-container' || action.kind === 'remove-container') &&
      action.restart &&
      restarted
    ) {
      const at = this.now();
      this.ledger = recordRestart(this.ledger, action.restart.key, at, action.restart.attempt);
      this.emit({
        type: 'restart-recorded',
        action: event.action,
        key: action.restart.key,
        count: this.ledger[action.restart.key]!.count,
        at,
        ...(event.result.containerId ? { containerId: event.result.containerId } : {}),
      });
    }
    this.emit(event);
  }

  /** What held the run up at its deadline: actions still failing, then what the plan waits for. */
  private deadlineError(): ReconcileError {
    const failing = this.executor.failing();
    const stuck = [
      ...failing.map(({ id, lastError }) => `${id} keeps failing: ${lastError}`),
      ...(this.current?.waiting ?? []).map((w) => `${w.name}: ${w.reason}`),
    ];
    const shown = stuck.slice(0, 3).join('; ') + (stuck.length > 3 ? `; and ${stuck.length - 3} more` : '');
    return new ReconcileError(
      'deadline',
      `not ${this.options.until === 'ready' ? 'ready' : 'converged'} by the deadline` +
        (shown ? `; ${shown}` : ''),
      failing[0] === undefined ? {} : { actionId: failing[0].id },
    );
  }

  /**
   * Something is left to do or to wait for. A converged run leaves the watching to the observer
   * (events and its own relists); listing on demand, the poll is all the watching there is.
   */
  private unsettled(): boolean {
    const plan = this.current;
    return this.listsOnDemand || (plan !== undefined && (plan.actions.length > 0 || plan.waiting.length > 0));
  }

  private armPoll(): void {
    if (this.pollTimer || this.stopping || this.closed || !this.unsettled()) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      if (!this.stopping && !this.closed && this.executor.idle && this.unsettled()) this.requestRefresh();
      this.armPoll();
    }, this.options.pollIntervalMs ?? 1_000);
  }

  private emit(event: LoopEvent): void {
    if (!this.closed) this.subscriber.next(event);
  }

  private stop(error?: ReconcileError): void {
    if (this.stopping) return;
    this.stopping = error ? { error } : {};
    this.executor.halt();
    // An abort is the caller's own decision (stop, detach, cancel): not worth a warning.
    if (error && error.reason !== 'aborted')
      this.logger?.warn('reconcile failed', {
        taskId: this.desired.owner.taskId,
        reason: error.reason,
        message: error.message,
      });
    this.finish();
  }

  /** Ends the run once it is stopping and nothing is in flight. */
  private finish(): void {
    if (this.closed || !this.stopping || !this.executor.idle) return;
    this.closed = true;
    this.clearAll();
    if (this.stopping.error) this.subscriber.error(this.stopping.error);
    else this.subscriber.complete();
  }

  private clearAll(): void {
    this.timers.clear();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.executor.dispose();
    this.subscription?.unsubscribe();
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** `reconcile` as a promise: resolves when the loop completes, rejects with its `ReconcileError`. */
export async function converge(
  options: ReconcileOptions & { onEvent?: (event: LoopEvent) => void },
): Promise<ConvergeResult> {
  if (options.until === 'forever') throw new TypeError('converge() ends; use reconcile() to run forever');
  let plan: Plan | undefined;
  let restarts: RestartLedger = { ...(options.restarts ?? {}) };
  const finished: ConvergeResult['finished'] = [];
  await lastValueFrom(
    reconcile(options).pipe(
      tap((event) => {
        options.onEvent?.(event);
        if (event.type === 'planned') plan = event.plan;
        if (event.type === 'action-finished') finished.push({ action: event.action, result: event.result });
        if (event.type === 'restart-recorded') {
          restarts = { ...restarts, [event.key]: { count: event.count, lastAt: event.at } };
        }
      }),
      map(() => undefined),
    ),
    { defaultValue: undefined },
  );
  return { plan: plan!, restarts, finished };
}
