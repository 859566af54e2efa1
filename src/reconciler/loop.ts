/**
 * The reconcile loop: the one place where docker-services runs things concurrently.
 *
 * Level-triggered: every fresh snapshot is planned from scratch against the desired graph, and the
 * actions whose dependencies are done are handed to the executors, at most `concurrency` at once,
 * never two on one Docker object, never one that is already running. When an action finishes the
 * loop asks the observer to look again at what the action changed (one inspect, not a relist); it
 * does not trust its own bookkeeping over Docker. Until a snapshot reflects that request (its
 * `refreshed` token), the action counts as done in every new plan; a snapshot source without
 * tokens is taken as fresh, and an older snapshot only makes the loop repeat an idempotent action.
 *
 * It ends when the plan is empty and (per `until`) every service is ready or nothing is left to
 * wait for; it fails with a `ReconcileError` on a terminal executor error, a blocked plan, a
 * retry budget spent, the deadline or the abort signal, after the actions in flight have settled
 * (so that nothing is created behind the caller's back once it has been told the loop is over).
 */
import { Observable, lastValueFrom, type Subscription } from 'rxjs';
import { map, tap } from 'rxjs/operators';
import type { Logger } from 'winston';
import { executeAction, type ActionResult, type ExecuteContext } from '../actions/execute.js';
import { bindImages, imagesOf, resolveImage } from '../desired-state/images.js';
import { Label } from '../desired-state/labels.js';
import type { DesiredState } from '../desired-state/types.js';
import type { DockerApi } from '../docker/client.js';
import { collectSnapshot } from '../observed-state/collect.js';
import type { ObserveScope } from '../observed-state/scope.js';
import type { RefreshRequest, Snapshot } from '../observed-state/types.js';
import type { Action, ActionKind, ActionTarget, Plan, Waiting } from './actions.js';
import { ReconcileError, RetryableError, TerminalError } from './errors.js';
import { plan as realPlan, type PlanOptions } from './plan.js';
import { DEFAULT_RESTART_POLICY, recordRestart, type RestartLedger, type RestartPolicy } from './restarts.js';

export type Until = 'ready' | 'converged' | 'forever';

export interface RetryPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Attempts of one action (by id) before the loop gives up with `retries-exhausted`. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialBackoffMs: 250,
  maxBackoffMs: 5_000,
  maxAttempts: 8,
};

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

/** What an action acted on, for people and for the library's per-service events. */
export interface ActionInfo {
  id: string;
  kind: ActionKind;
  cause: string;
  target: ActionTarget;
  /** Graph node the target is (or was), when known. */
  node?: string;
  service?: string;
}

export type LoopEvent =
  | { type: 'planned'; plan: Plan }
  | { type: 'action-started'; action: ActionInfo; attempt: number }
  | { type: 'action-finished'; action: ActionInfo; result: ActionResult; attempt: number }
  | {
      type: 'action-failed';
      action: ActionInfo;
      error: Error;
      retryable: boolean;
      attempt: number;
      /** Epoch ms before which the action is not tried again. */
      retryAt?: number;
    }
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

/** The empty graph's objects of this run that a snapshot still shows. */
function taskObjectsLeft(desired: DesiredState, snapshot: Snapshot): number {
  const { ownerId, taskId, runId } = desired.owner;
  const mine = (labels: Record<string, string>) =>
    labels[Label.owner] === ownerId &&
    labels[Label.taskId] === taskId &&
    labels[Label.runId] === String(runId);
  return (
    snapshot.containers.filter((c) => mine(c.labels)).length +
    snapshot.networks.filter((n) => mine(n.labels)).length
  );
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

/**
 * Snapshots listed on demand: one at subscription, then one per `refresh()` (a full list whatever
 * the request names; its token comes back on the list that began after it); requests made while
 * a list runs are folded into one more list after it. A failed list is retried with backoff; the
 * stream fails after 20 failures in a row. One subscriber at a time.
 */
export function listOnDemand(
  docker: DockerApi,
  scope: ObserveScope,
  backoff: { initialMs: number; maxMs: number } = { initialMs: 100, maxMs: 5_000 },
): { snapshots: Observable<Snapshot>; refresh: (request?: RefreshRequest) => void } {
  let trigger: (request?: RefreshRequest) => void = () => {};
  const snapshots = new Observable<Snapshot>((subscriber) => {
    let pending = true;
    let running = false;
    let closed = false;
    let failures = 0;
    let requested = 0;
    const run = async () => {
      running = true;
      while (pending && !closed) {
        pending = false;
        const covers = requested;
        try {
          const snapshot = await collectSnapshot(docker, scope);
          failures = 0;
          if (!closed) subscriber.next(covers > 0 ? { ...snapshot, refreshed: covers } : snapshot);
        } catch (error) {
          failures += 1;
          if (failures > 20) {
            subscriber.error(error);
            break;
          }
          pending = true;
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(backoff.initialMs * 2 ** (failures - 1), backoff.maxMs)),
          );
        }
      }
      running = false;
    };
    trigger = (request) => {
      if (request?.token !== undefined) requested = Math.max(requested, request.token);
      pending = true;
      if (!running && !closed) void run();
    };
    void run();
    return () => {
      closed = true;
      trigger = () => {};
    };
  });
  return { snapshots, refresh: (request) => trigger(request) };
}

export function scopeOf(desired: DesiredState): ObserveScope {
  return {
    ownerId: desired.owner.ownerId,
    taskId: desired.owner.taskId,
    runId: desired.owner.runId,
    images: imagesOf(desired),
  };
}

/** The Docker objects an action acts on: the loop keeps at most one action per object in flight. */
export function objectKeys(action: Action): string[] {
  const keys = [`${action.target.type}:${action.target.name}`];
  if (action.target.objectId) keys.push(`${action.target.type}#${action.target.objectId}`);
  switch (action.kind) {
    case 'connect-network':
      keys.push(`container:${action.container}`, `network:${action.network}`);
      break;
    case 'disconnect-network':
      keys.push(`network#${action.networkId}`, `container#${action.containerId}`);
      if (action.container) keys.push(`container:${action.container}`);
      break;
    case 'remove-container':
      keys.push(`container#${action.containerId}`);
      break;
    case 'remove-network':
      keys.push(`network#${action.networkId}`);
      break;
    case 'start-container':
      keys.push(`container:${action.container}`);
      break;
    default:
      break;
  }
  return [...new Set(keys)];
}

export function reconcile(options: ReconcileOptions): Observable<LoopEvent> {
  return new Observable<LoopEvent>((subscriber) => {
    const now = options.now ?? Date.now;
    const concurrency = Math.max(1, options.concurrency ?? 8);
    const restartPolicy = options.restart ?? DEFAULT_RESTART_POLICY;
    const retryPolicy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    const pollIntervalMs = options.pollIntervalMs ?? 1_000;
    const planner = options.plan ?? realPlan;
    const desired = options.desired;
    const logger = options.logger ?? options.execute.logger;
    const context: ExecuteContext = {
      ...options.execute,
      docker: options.execute.docker ?? options.docker,
      owner: options.execute.owner ?? desired.owner,
      ...(logger ? { logger } : {}),
    };
    let snapshots = options.snapshots;
    let refresh = options.refresh;
    if (!snapshots) {
      const onDemand = listOnDemand(options.docker, scopeOf(desired), {
        initialMs: retryPolicy.initialBackoffMs,
        maxMs: retryPolicy.maxBackoffMs,
      });
      snapshots = onDemand.snapshots;
      refresh = onDemand.refresh;
    }
    const requestRefresh = refresh ?? (() => {});

    let ledger: RestartLedger = { ...(options.restarts ?? {}) };
    let current: Plan | undefined;
    let currentSnapshot: Snapshot | undefined;
    /** Actions of the current plan that finished after it was made: done, not to be repeated. */
    let finishedSincePlan = new Set<string>();
    /**
     * Finished actions no snapshot has reflected yet, by id: the refresh token asked for after
     * each, and its result (a start after a create acts on the id the create returned).
     */
    const unobserved = new Map<string, { token: number; result: ActionResult }>();
    let finishedResults = new Map<string, ActionResult>();
    /** This loop's newest token (from the process-wide sequence, see `nextToken`). */
    let lastToken = 0;
    const inFlight = new Map<string, string[]>();
    const busy = new Set<string>();
    /** Actions failing retryably: how often, when to try again, and the last error (for a deadline to say why). */
    const attempts = new Map<string, { count: number; retryAt: number; lastError: string }>();
    const timers = new Set<ReturnType<typeof setTimeout>>();
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    let stopping: { error?: ReconcileError } | undefined;
    let closed = false;
    let lastWaiting = '';
    // Assigned once the observer is subscribed; a synchronous first snapshot may end the loop before.
    const observation: { subscription?: Subscription } = {};
    let wasReady = false;

    const emit = (event: LoopEvent) => {
      if (!closed) subscriber.next(event);
    };

    const after = (ms: number, run: () => void) => {
      const handle = setTimeout(
        () => {
          timers.delete(handle);
          if (!closed) run();
        },
        Math.max(0, ms),
      );
      timers.add(handle);
    };

    const info = (action: Action): ActionInfo => {
      const node = action.target.node;
      let service: string | undefined;
      if (action.kind === 'create-container') service = action.container.service;
      else if (action.kind === 'create-network') service = action.network.service;
      else {
        service =
          desired.containers.find((c) => c.id === node || c.name === action.target.name)?.service ??
          desired.networks.find((n) => n.id === node || n.name === action.target.name)?.service;
        if (service === undefined && currentSnapshot) {
          const observed =
            action.target.type === 'container'
              ? currentSnapshot.containers.find(
                  (c) => c.name === action.target.name || c.id === action.target.objectId,
                )
              : currentSnapshot.networks.find(
                  (n) => n.name === action.target.name || n.id === action.target.objectId,
                );
          service = observed?.labels[Label.service];
        }
      }
      return {
        id: action.id,
        kind: action.kind,
        cause: action.cause,
        target: { ...action.target },
        ...(node === undefined ? {} : { node }),
        ...(service === undefined ? {} : { service }),
      };
    };

    const finish = () => {
      if (closed || !stopping || inFlight.size > 0) return;
      closed = true;
      clearAll();
      if (stopping.error) subscriber.error(stopping.error);
      else subscriber.complete();
    };

    const stop = (error?: ReconcileError) => {
      if (stopping) return;
      stopping = error ? { error } : {};
      // An abort is the caller's own decision (stop, detach, cancel): not worth a warning.
      if (error && error.reason !== 'aborted')
        logger?.warn('reconcile failed', {
          taskId: desired.owner.taskId,
          reason: error.reason,
          message: error.message,
        });
      finish();
    };

    const clearAll = () => {
      for (const handle of timers) clearTimeout(handle);
      timers.clear();
      if (pollTimer) clearTimeout(pollTimer);
      pollTimer = undefined;
      observation.subscription?.unsubscribe();
      options.signal?.removeEventListener('abort', onAbort);
    };

    /** What `action` changed, for the observer to look at again (any order; all ours). */
    const touched = (action: Action, result: ActionResult): RefreshRequest => {
      const containers = new Set<string>();
      const networks = new Set<string>();
      if (result.containerId) containers.add(result.containerId);
      if (result.networkId) networks.add(result.networkId);
      switch (action.kind) {
        case 'remove-container': {
          containers.add(action.containerId);
          // Its endpoints go with it: the networks' member lists change too. A container that
          // never ran has endpoints without a network id, and is on no network's member list.
          const observed = currentSnapshot?.containers.find((c) => c.id === action.containerId);
          for (const endpoint of Object.values(observed?.networks ?? {}))
            if (endpoint.networkId) networks.add(endpoint.networkId);
          break;
        }
        case 'disconnect-network':
          containers.add(action.containerId);
          networks.add(action.networkId);
          break;
        case 'remove-network':
          networks.add(action.networkId);
          break;
        case 'pull-image':
          return { images: true };
        default:
          break;
      }
      return { containers: [...containers], networks: [...networks] };
    };

    /**
     * `action` with the Docker id of the container a finished create of this plan made: the
     * executor then acts on that id instead of looking the name up first.
     */
    const withCreatedId = (action: Action): Action => {
      if (action.kind !== 'start-container' && action.kind !== 'connect-network') return action;
      if (action.target.objectId !== undefined) return action;
      const id = `create-container:${action.container}`;
      const created = finishedResults.get(id) ?? unobserved.get(id)?.result;
      if (!created?.containerId) return action;
      return { ...action, target: { ...action.target, objectId: created.containerId } };
    };

    /**
     * Something is left to do or to wait for. A converged loop leaves the watching to the observer
     * (events and its own relists); listing on demand, the poll is all the watching there is.
     */
    const listsOnDemand = options.snapshots === undefined;
    const unsettled = () =>
      listsOnDemand || (current !== undefined && (current.actions.length > 0 || current.waiting.length > 0));

    const armPoll = () => {
      if (pollTimer || stopping || closed || !unsettled()) return;
      pollTimer = setTimeout(() => {
        pollTimer = undefined;
        if (!stopping && !closed && inFlight.size === 0 && unsettled()) requestRefresh();
        armPoll();
      }, pollIntervalMs);
    };

    let planIds = new Set<string>();
    const dependenciesDone = (action: Action): boolean =>
      action.dependsOn.every((dep) => finishedSincePlan.has(dep) || !planIds.has(dep));

    const pump = () => {
      if (stopping || closed || !current) return;
      const plan = current;
      for (const action of plan.actions) {
        if (inFlight.size >= concurrency) return;
        if (inFlight.has(action.id) || finishedSincePlan.has(action.id)) continue;
        const attempt = attempts.get(action.id);
        if (attempt && attempt.retryAt > now()) continue;
        if (!dependenciesDone(action)) continue;
        const keys = objectKeys(action);
        if (keys.some((k) => busy.has(k))) continue;
        dispatch(withCreatedId(action), keys);
      }
    };

    const dispatch = (action: Action, keys: string[]) => {
      inFlight.set(action.id, keys);
      for (const k of keys) busy.add(k);
      const attempt = (attempts.get(action.id)?.count ?? 0) + 1;
      const described = info(action);
      emit({ type: 'action-started', action: described, attempt });
      logger?.debug('action started', { actionId: action.id, cause: action.cause, attempt });
      const release = () => {
        inFlight.delete(action.id);
        for (const k of keys) busy.delete(k);
      };
      executeAction(action, context).then(
        (result) => {
          release();
          if (closed) return;
          attempts.delete(action.id);
          finishedSincePlan.add(action.id);
          finishedResults.set(action.id, result);
          // The planner marks a start that restarts a service (of the exited container, or of a
          // fresh one replacing a dead one); one that found the container running did nothing.
          if (action.kind === 'start-container' && action.restart && !result.alreadyDone) {
            const at = now();
            ledger = recordRestart(ledger, action.restart.key, at);
            emit({
              type: 'restart-recorded',
              action: described,
              key: action.restart.key,
              count: ledger[action.restart.key]!.count,
              at,
              ...(result.containerId ? { containerId: result.containerId } : {}),
            });
          }
          emit({ type: 'action-finished', action: described, result, attempt });
          if (stopping) return finish();
          const token = (lastToken = nextToken());
          unobserved.set(action.id, { token, result });
          requestRefresh({ ...touched(action, result), token });
          pump();
        },
        (error: unknown) => {
          release();
          if (closed) return;
          const retryable = error instanceof RetryableError;
          const err = error instanceof Error ? error : new Error(String(error));
          if (!retryable) {
            emit({ type: 'action-failed', action: described, error: err, retryable: false, attempt });
            const code = error instanceof TerminalError ? error.code : undefined;
            stop(
              new ReconcileError('terminal', `${action.id}: ${err.message}`, {
                ...(code ? { code } : {}),
                actionId: action.id,
                cause: err,
              }),
            );
            return finish();
          }
          if (attempt >= retryPolicy.maxAttempts) {
            emit({ type: 'action-failed', action: described, error: err, retryable: true, attempt });
            stop(
              new ReconcileError(
                'retries-exhausted',
                `${action.id} failed ${attempt} times; last: ${err.message}`,
                {
                  actionId: action.id,
                  cause: err,
                },
              ),
            );
            return finish();
          }
          const delay = Math.min(retryPolicy.initialBackoffMs * 2 ** (attempt - 1), retryPolicy.maxBackoffMs);
          const retryAt = now() + delay;
          attempts.set(action.id, { count: attempt, retryAt, lastError: err.message });
          emit({ type: 'action-failed', action: described, error: err, retryable: true, attempt, retryAt });
          logger?.debug('action failed, will retry', { actionId: action.id, attempt, message: err.message });
          if (stopping) return finish();
          after(delay, () => {
            requestRefresh();
            pump();
          });
          requestRefresh();
          pump();
        },
      );
    };

    const onSnapshot = (snapshot: Snapshot) => {
      if (stopping || closed) return;
      currentSnapshot = snapshot;
      let next: Plan;
      try {
        next = planner(desired, snapshot, {
          now: now(),
          restarts: ledger,
          restart: restartPolicy,
          bind: options.bind ?? bindImages,
          resolveImage: options.resolveImage ?? resolveImage,
        });
      } catch (error) {
        stop(
          new ReconcileError('terminal', `planning failed: ${(error as Error).message}`, {
            code: 'bad-spec',
            cause: error,
          }),
        );
        return;
      }
      current = next;
      planIds = new Set(next.actions.map((a) => a.id));
      // A snapshot that reflects an action's refresh shows its effect; one that does not (or a
      // source without tokens, taken as fresh) may not, and the action stays done meanwhile.
      for (const [id, { token }] of unobserved) {
        if (snapshot.refreshed === undefined || snapshot.refreshed >= token) unobserved.delete(id);
      }
      finishedSincePlan = new Set(unobserved.keys());
      finishedResults = new Map();
      emit({ type: 'planned', plan: next });

      if (next.blocked.length > 0) {
        const first = next.blocked[0]!;
        stop(
          new ReconcileError('blocked', next.blocked.map((b) => `${b.name}: ${b.reason}`).join('; '), {
            code: first.code,
            blocked: next.blocked,
          }),
        );
        return;
      }

      const waitingText = JSON.stringify(next.waiting.map((w) => [w.node, w.name, w.reason]));
      if (waitingText !== lastWaiting) {
        lastWaiting = waitingText;
        if (next.waiting.length > 0) emit({ type: 'waiting', waiting: next.waiting });
      }
      // Ready and converged are only said of a snapshot that reflects every action the loop has
      // finished: an older one may still show what those actions replaced.
      const fresh = snapshot.refreshed === undefined || snapshot.refreshed >= lastToken;
      const readyNow = next.ready && next.actions.length === 0 && inFlight.size === 0;
      if (fresh) {
        if (readyNow && !wasReady) emit({ type: 'ready', plan: next });
        wasReady = readyNow;
      }

      if (fresh && inFlight.size === 0 && next.actions.length === 0) {
        const converged =
          next.waiting.length === 0 &&
          (desired.containers.length + desired.networks.length > 0
            ? next.ready
            : taskObjectsLeft(desired, snapshot) === 0);
        if (converged) emit({ type: 'converged', plan: next });
        if ((options.until === 'ready' && readyNow) || (options.until === 'converged' && converged)) {
          stop();
          return;
        }
      }

      const wakeAt = next.waiting.map((w) => w.until).filter((u): u is number => u !== undefined);
      if (wakeAt.length > 0) after(Math.min(...wakeAt) - now(), requestRefresh);
      pump();
      armPoll();
    };

    const onAbort = () =>
      stop(new ReconcileError('aborted', 'reconcile aborted', { cause: options.signal?.reason }));
    if (options.signal?.aborted) {
      stopping = {
        error: new ReconcileError('aborted', 'reconcile aborted', { cause: options.signal.reason }),
      };
      finish();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.deadline !== undefined) {
      after(options.deadline - now(), () => {
        // What held it up: actions still failing (with their last error), then what the plan waits for.
        const stuck = [
          ...[...attempts].map(([id, { lastError }]) => `${id} keeps failing: ${lastError}`),
          ...(current?.waiting ?? []).map((w) => `${w.name}: ${w.reason}`),
        ];
        const shown =
          stuck.slice(0, 3).join('; ') + (stuck.length > 3 ? `; and ${stuck.length - 3} more` : '');
        const failing = attempts.keys().next().value;
        stop(
          new ReconcileError(
            'deadline',
            `not ${options.until === 'ready' ? 'ready' : 'converged'} by the deadline` +
              (shown ? `; ${shown}` : ''),
            failing === undefined ? {} : { actionId: failing },
          ),
        );
      });
    }

    // A shared observer may replay a snapshot older than this loop (a session's teardown after
    // its start loop): planning from it is harmless, but only a snapshot whose observation began
    // after this point may say ready or converged. The token is sent once subscribed, so that a
    // cold observer is listening for it.
    const startToken = listsOnDemand ? undefined : (lastToken = nextToken());
    observation.subscription = snapshots.subscribe({
      next: onSnapshot,
      error: (error: unknown) =>
        stop(
          new ReconcileError(
            'terminal',
            `observation failed: ${(error as Error)?.message ?? String(error)}`,
            { cause: error },
          ),
        ),
      complete: () => stop(new ReconcileError('terminal', 'observation ended before the loop did')),
    });
    if (closed) observation.subscription.unsubscribe();
    else if (startToken !== undefined) requestRefresh({ token: startToken });

    return () => {
      closed = true;
      clearAll();
    };
  });
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
