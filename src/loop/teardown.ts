/**
 * Teardown is `plan(∅, observed)`: the empty graph of a task, reconciled until nothing of it is
 * left. It needs only the owner, task and run (every object carries them as labels), not the
 * payload, so it works the same after a worker crash. Garbage collection is teardown of every
 * task of this owner that the caller does not name as active.
 */
import type { Logger } from 'winston';
import { emptyGraph } from '../desired-state/compile.js';
import type { OwnerRef } from '../desired-state/types.js';
import type { DockerApi } from '../docker/client.js';
import type { IsolationGuard } from '../host/isolation-guard.js';
import { collectSnapshot } from '../observed-state/collect.js';
import { Subject, type Observable } from 'rxjs';
import { observe } from '../observed-state/observe.js';
import type { Snapshot } from '../observed-state/types.js';
import type { RefreshRequest } from '../observed-state/requests.js';
import { scopeOf } from '../observed-state/scope.js';
import { inactiveRuns } from '../reconciler/ownership.js';
import { converge, type LoopEvent, type RetryPolicy } from './reconcile.js';

export interface TeardownOptions {
  /** Actions in flight at once (default 8). */
  concurrency?: number;
  /** How long a teardown may take (default 120 s); it fails with `deadline` after. */
  timeoutMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
  now?: () => number;
  retry?: Partial<RetryPolicy>;
  pollIntervalMs?: number;
  /**
   * Live snapshots of the task and the way to ask the observer for one (a session hands over the
   * observer it already has); else `down` watches the task with an observer of its own.
   */
  snapshots?: Observable<Snapshot>;
  refresh?: (request?: RefreshRequest) => void;
  onEvent?: (event: LoopEvent) => void;
  /** The isolation guard, when on: each removed network is taken out of it. */
  isolation?: IsolationGuard;
}

export interface Removed {
  containers: { id: string; name: string }[];
  networks: { id: string; name: string }[];
  /**
   * Containers that are not ours and were on a network of ours: detached from it so that it could
   * be removed, and otherwise left alone. The caller says so, naming them.
   */
  disconnected: { id: string; name?: string; network: string }[];
}

/** A teardown never creates: the credentials source must never be asked. */
async function noCredentials(): Promise<Record<string, string>> {
  throw new Error('teardown creates nothing and needs no credentials');
}

// A teardown keeps retrying a stuck removal (device busy, endpoints) until its deadline.
const TEARDOWN_RETRY: Partial<RetryPolicy> = { maxAttempts: 1_000, maxBackoffMs: 2_000 };

/** Removes every container and network of `owner`'s task run; resolves when none is left. */
export async function down(
  docker: DockerApi,
  owner: OwnerRef,
  options: TeardownOptions = {},
): Promise<Removed> {
  const now = options.now ?? Date.now;
  const desired = emptyGraph(owner);
  // Watched, not listed on demand: a removal is then seen by inspecting what it changed, where a
  // list on demand relisted the task after each one (~8 times the calls of the removals).
  const own = options.snapshots ? undefined : new Subject<RefreshRequest | void>();
  const snapshots =
    options.snapshots ??
    observe(docker, scopeOf(desired), {
      refresh$: own,
      onError: (error) =>
        options.logger?.warn('teardown: observing the task failed; retrying', {
          error: String((error as Error)?.message ?? error),
        }),
    });
  const refresh = own ? (request?: RefreshRequest) => own.next(request) : options.refresh;
  const result = await converge({
    docker,
    desired,
    execute: {
      credentials: noCredentials,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.isolation ? { isolation: options.isolation } : {}),
    },
    until: 'converged',
    deadline: now() + (options.timeoutMs ?? 120_000),
    retry: { ...TEARDOWN_RETRY, ...options.retry },
    now,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    snapshots,
    ...(refresh ? { refresh } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  }).finally(() => own?.complete());
  const removed: Removed = { containers: [], networks: [], disconnected: [] };
  for (const { action, result: outcome } of result.finished) {
    if (action.kind === 'remove-container' && !outcome.alreadyDone) {
      removed.containers.push({
        id: action.target.objectId ?? outcome.containerId ?? '',
        name: action.target.name,
      });
    }
    if (action.kind === 'disconnect-network' && action.detached?.foreign && !outcome.alreadyDone) {
      const { containerId, container } = action.detached;
      removed.disconnected.push({
        id: containerId,
        ...(container !== undefined && container !== containerId ? { name: container } : {}),
        network: action.target.name,
      });
    }
    if (action.kind === 'remove-network' && !outcome.alreadyDone) {
      removed.networks.push({
        id: action.target.objectId ?? outcome.networkId ?? '',
        name: action.target.name,
      });
    }
  }
  // The snapshot knows only objects with our naming: a stranger's name comes from Docker.
  for (const entry of removed.disconnected) {
    if (entry.name !== undefined) continue;
    const inspect = await docker.inspectContainer(entry.id).catch(() => undefined);
    const name = inspect?.Name?.replace(/^\//, '');
    if (name) entry.name = name;
  }
  return removed;
}

export interface CollectedTask extends Removed {
  taskId: string;
  runId: number;
}

/**
 * Tears down every task run of `ownerId` whose task id is not in `activeTaskIds`, found by labels
 * (after a crash there is nothing else to go by). Runs one task at a time; each is a full `down`.
 * Objects of other owners and objects that are not ours are never looked at beyond the list.
 */
export async function collectGarbage(
  docker: DockerApi,
  ownerId: string,
  activeTaskIds: readonly string[],
  options: Omit<TeardownOptions, 'snapshots' | 'refresh'> = {},
): Promise<CollectedTask[]> {
  const snapshot = await collectSnapshot(docker, { ownerId, images: [] });
  const collected: CollectedTask[] = [];
  for (const owner of inactiveRuns(snapshot, ownerId, activeTaskIds)) {
    options.logger?.info('collecting garbage of an inactive task', {
      taskId: owner.taskId,
      runId: owner.runId,
    });
    const removed = await down(docker, owner, options);
    collected.push({ taskId: owner.taskId, runId: owner.runId, ...removed });
  }
  return collected;
}
