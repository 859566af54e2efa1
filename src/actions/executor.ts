/**
 * The plan executor: a plan in, action events out. It decides nothing about *what* to do (that is
 * the planner's); it decides *when*: the actions whose dependencies are done go to their executors,
 * at most `concurrency` at once, never two on one Docker object, never one already in flight, and
 * a retryably failed one not before its backoff has passed.
 *
 * A finished action counts as done in every later plan until a snapshot reflects it (the token the
 * loop asked the observer for after it): an older snapshot still shows what the action replaced,
 * and planning from it must not repeat the action. A start or connect after a create of the same
 * plan acts on the id the create returned, in one call instead of a lookup by name.
 *
 * The observer hears of each action twice: when it is handed out (the objects it changes, whose
 * events wait for its outcome) and when it settles (its known effect to fold, or what to inspect).
 */
import type { Logger } from 'winston';
import type { DesiredState } from '../desired-state/types.js';
import type { Snapshot } from '../observed-state/types.js';
import type { HeldObjects, RefreshRequest } from '../observed-state/requests.js';
import type { Action, Plan } from '../reconciler/actions.js';
import { describeAction, type ActionInfo } from '../reconciler/describe.js';
import { ReconcileError, RetryableError, TerminalError } from '../reconciler/errors.js';
import { exponentialBackoffMs } from '../util/backoff.js';
import { Timers } from '../util/timers.js';
import { engineUnreachable } from './common.js';
import { executeAction, knownEffect, type ActionResult, type ExecuteContext } from './execute.js';

export interface RetryPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /**
   * Failed attempts of one action (by id) before the run gives up with `retries-exhausted`. An
   * attempt that could not reach the engine does not count: it says nothing about the action, and
   * a restarting dockerd may be away longer than the budget lasts; the deadline bounds that wait.
   */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialBackoffMs: 250,
  maxBackoffMs: 5_000,
  maxAttempts: 8,
};

export type ExecutorEvent =
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
    };

export interface ExecutorHooks {
  /** Started and failed actions; a finished one goes to `finished` instead. */
  emit(event: ExecutorEvent): void;
  /** An action succeeded (the loop records a restart before it reports the action finished). */
  finished(action: Action, event: Extract<ExecutorEvent, { type: 'action-finished' }>): void;
  /**
   * Asks the observer to look again at what a finished action changed; returns the token that a
   * snapshot reflecting the request will carry.
   */
  observe(request: RefreshRequest): number;
  /** Tells the observer what needs no answer: an action's hold, or its release after a failure. */
  notify(request: RefreshRequest): void;
  /** Asks for a fresh snapshot of everything (after a failure). */
  refresh(): void;
  /** An action failed terminally or spent its retry budget: the run cannot go on. */
  failed(error: ReconcileError): void;
  /** An action settled while the executor was halted, or left nothing in flight. */
  settled(): void;
}

export interface ExecutorOptions {
  context: ExecuteContext;
  desired: DesiredState;
  concurrency: number;
  retry: RetryPolicy;
  now: () => number;
  logger?: Logger | undefined;
  hooks: ExecutorHooks;
}

/** The Docker objects an action acts on: at most one action per object is in flight. */
function objectKeys(action: Action): string[] {
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

/**
 * Hold keys come from one sequence for the process: the observer a session's loop and its teardown
 * share must never take one action's release for another's.
 */
let holdSequence = 0;

/** The objects `action` changes, by id or (what it creates) by name: their events wait for it. */
function heldBy(action: Action): HeldObjects | undefined {
  const key = ++holdSequence;
  switch (action.kind) {
    case 'create-network':
      return { key, networkNames: [action.network.name] };
    case 'create-container':
      return { key, containerNames: [action.container.name] };
    case 'start-container':
      return action.target.objectId !== undefined
        ? { key, containers: [action.target.objectId] }
        : { key, containerNames: [action.container] };
    case 'connect-network':
      return {
        key,
        ...(action.target.objectId !== undefined
          ? { containers: [action.target.objectId] }
          : { containerNames: [action.container] }),
        networkNames: [action.network],
      };
    case 'disconnect-network':
      return { key, containers: [action.containerId], networks: [action.networkId] };
    case 'remove-container':
      return { key, containers: [action.containerId] };
    case 'remove-network':
      return { key, networks: [action.networkId] };
    default:
      return undefined;
  }
}

/**
 * What the observer is to learn of a finished action: its known effect when Docker's answer says
 * it all, else what it changed, to be looked at again.
 */
function observationOf(action: Action, result: ActionResult, snapshot: Snapshot | undefined): RefreshRequest {
  const effect = knownEffect(action, result);
  return effect ? { effects: [effect] } : touchedBy(action, result, snapshot);
}

/** What `action` changed, for the observer to look at again (any order; all ours). */
function touchedBy(action: Action, result: ActionResult, snapshot: Snapshot | undefined): RefreshRequest {
  const containers = new Set<string>();
  const networks = new Set<string>();
  if (result.containerId) containers.add(result.containerId);
  if (result.networkId) networks.add(result.networkId);
  switch (action.kind) {
    case 'remove-container': {
      containers.add(action.containerId);
      // Its endpoints go with it: the networks' member lists change too. A container that never
      // ran has endpoints without a network id, and is on no network's member list.
      const observed = snapshot?.containers.find((c) => c.id === action.containerId);
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
    case 'load-image':
      return { images: true };
    default:
      break;
  }
  return { containers: [...containers], networks: [...networks] };
}

export class PlanExecutor {
  private plan: Plan | undefined;
  private snapshot: Snapshot | undefined;
  private planIds = new Set<string>();
  /** Actions of the current plan that finished after it was made: done, not to be repeated. */
  private finishedSincePlan = new Set<string>();
  private finishedResults = new Map<string, ActionResult>();
  /**
   * Finished actions no snapshot has reflected yet, by id: the token asked for after each, and
   * its result (a start after a create acts on the id the create returned).
   */
  private readonly unobserved = new Map<string, { token: number; result: ActionResult }>();
  private readonly inFlight = new Map<string, string[]>();
  private readonly busy = new Set<string>();
  /**
   * Actions failing retryably: how often, how many of those spent the retry budget, when to try
   * again, and the last error.
   */
  private readonly attempts = new Map<
    string,
    { count: number; spent: number; retryAt: number; lastError: string }
  >();
  private readonly timers = new Timers(() => !this.disposed);
  private halted = false;
  private disposed = false;

  constructor(private readonly options: ExecutorOptions) {}

  /** No action in flight. */
  get idle(): boolean {
    return this.inFlight.size === 0;
  }

  /** Actions failing retryably, with their last error, oldest first (for a deadline to say why). */
  failing(): { id: string; lastError: string }[] {
    return [...this.attempts].map(([id, { lastError }]) => ({ id, lastError }));
  }

  /**
   * Work on `plan` (made from `snapshot`) from now on. Finished actions that the snapshot reflects
   * are forgotten; the others stay done in this plan too.
   */
  replan(plan: Plan, snapshot: Snapshot): void {
    this.plan = plan;
    this.snapshot = snapshot;
    this.planIds = new Set(plan.actions.map((a) => a.id));
    for (const [id, { token }] of this.unobserved) {
      if (snapshot.refreshed === undefined || snapshot.refreshed >= token) this.unobserved.delete(id);
    }
    this.finishedSincePlan = new Set(this.unobserved.keys());
    this.finishedResults = new Map();
  }

  /** Hands every action that may run now to its executor. */
  pump(): void {
    if (this.halted || this.disposed || !this.plan) return;
    const now = this.options.now();
    for (const action of this.plan.actions) {
      if (this.inFlight.size >= this.options.concurrency) return;
      if (this.inFlight.has(action.id) || this.finishedSincePlan.has(action.id)) continue;
      const attempt = this.attempts.get(action.id);
      if (attempt && attempt.retryAt > now) continue;
      if (!action.dependsOn.every((dep) => this.finishedSincePlan.has(dep) || !this.planIds.has(dep)))
        continue;
      const keys = objectKeys(action);
      if (keys.some((k) => this.busy.has(k))) continue;
      this.dispatch(this.withCreatedId(action), keys);
    }
  }

  /** Starts nothing more; the actions in flight settle and `settled` says when each has. */
  halt(): void {
    this.halted = true;
  }

  /** Forgets everything in flight (their results are ignored) and clears timers. */
  dispose(): void {
    this.halted = true;
    this.disposed = true;
    this.timers.clear();
  }

  private withCreatedId(action: Action): Action {
    if (action.kind !== 'start-container' && action.kind !== 'connect-network') return action;
    if (action.target.objectId !== undefined) return action;
    const id = `create-container:${action.container}`;
    const created = this.finishedResults.get(id) ?? this.unobserved.get(id)?.result;
    if (!created?.containerId) return action;
    return { ...action, target: { ...action.target, objectId: created.containerId } };
  }

  private dispatch(action: Action, keys: string[]): void {
    const { hooks, logger } = this.options;
    this.inFlight.set(action.id, keys);
    for (const k of keys) this.busy.add(k);
    const attempt = (this.attempts.get(action.id)?.count ?? 0) + 1;
    const described = describeAction(action, this.options.desired, this.snapshot);
    hooks.emit({ type: 'action-started', action: described, attempt });
    logger?.debug('action started', { actionId: action.id, cause: action.cause, attempt });
    const hold = heldBy(action);
    if (hold) hooks.notify({ hold });
    const release = hold ? { release: hold.key } : {};
    executeAction(action, this.options.context).then(
      (result) => {
        const observation = { ...observationOf(action, result, this.snapshot), ...release };
        // Halted or disposed, nobody waits for a token; the observer still learns what was done.
        const quietly = () => {
          if (hold || observation.effects) hooks.notify({ effects: observation.effects ?? [], ...release });
        };
        if (!this.release(action)) return quietly();
        this.attempts.delete(action.id);
        this.finishedSincePlan.add(action.id);
        this.finishedResults.set(action.id, result);
        hooks.finished(action, { type: 'action-finished', action: described, result, attempt });
        if (this.halted) {
          quietly();
          return hooks.settled();
        }
        const token = hooks.observe(observation);
        this.unobserved.set(action.id, { token, result });
        this.pump();
      },
      (error: unknown) => {
        // Its held events are looked at: a failed or timed-out action explains none of them.
        if (hold) hooks.notify(release);
        if (!this.release(action)) return;
        this.failed(action, described, attempt, error);
      },
    );
  }

  /** Frees the action's objects; false once disposed (nobody listens any more). */
  private release(action: Action): boolean {
    for (const k of this.inFlight.get(action.id) ?? []) this.busy.delete(k);
    this.inFlight.delete(action.id);
    return !this.disposed;
  }

  private failed(action: Action, described: ActionInfo, attempt: number, error: unknown): void {
    const { hooks, retry, logger } = this.options;
    const err = error instanceof Error ? error : new Error(String(error));
    if (!(error instanceof RetryableError)) {
      hooks.emit({ type: 'action-failed', action: described, error: err, retryable: false, attempt });
      const code = error instanceof TerminalError ? error.code : undefined;
      hooks.failed(
        new ReconcileError('terminal', `${action.id}: ${err.message}`, {
          ...(code ? { code } : {}),
          actionId: action.id,
          action: described,
          cause: err,
        }),
      );
      return hooks.settled();
    }
    const spent = (this.attempts.get(action.id)?.spent ?? 0) + (engineUnreachable(error) ? 0 : 1);
    if (spent >= retry.maxAttempts) {
      hooks.emit({ type: 'action-failed', action: described, error: err, retryable: true, attempt });
      hooks.failed(
        new ReconcileError(
          'retries-exhausted',
          `${action.id} failed ${attempt} times; last: ${err.message}`,
          {
            actionId: action.id,
            action: described,
            cause: err,
          },
        ),
      );
      return hooks.settled();
    }
    const delay = exponentialBackoffMs(retry.initialBackoffMs, retry.maxBackoffMs, attempt - 1);
    const retryAt = this.options.now() + delay;
    this.attempts.set(action.id, { count: attempt, spent, retryAt, lastError: err.message });
    hooks.emit({ type: 'action-failed', action: described, error: err, retryable: true, attempt, retryAt });
    logger?.debug('action failed, will retry', { actionId: action.id, attempt, message: err.message });
    if (this.halted) return hooks.settled();
    this.timers.after(delay, () => {
      hooks.refresh();
      this.pump();
    });
    hooks.refresh();
    this.pump();
  }
}
