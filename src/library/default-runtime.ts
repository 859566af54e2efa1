/**
 * The runtime of a real worker: compile from `src/desired-state`, snapshots from
 * `src/observed-state`'s event-driven observer, the loop, teardown and garbage collection from
 * `src/reconciler`.
 */
import { compile } from '../desired-state/compile.js';
import { taskContainerOptions } from '../desired-state/task-container.js';
import type { DockerApi } from '../docker/client.js';
import type { IsolationGuard } from '../host/isolation-guard.js';
import { collectSnapshot } from '../observed-state/collect.js';
import { DaemonClockSource } from '../observed-state/daemon-clock.js';
import { observe } from '../observed-state/observe.js';
import { reconcile } from '../loop/reconcile.js';
import { collectGarbage, down } from '../loop/teardown.js';
import type { Runtime } from './runtime.js';

/**
 * While the loop waits (for health, a dependency) it re-observes this often. The observer already
 * pushes a snapshot on every relevant Docker event (`health_status` included) and relists every
 * 30 s, so this is only a safety net, not how readiness is noticed.
 */
const LOOP_SAFETY_POLL_MS = 30_000;

/** What the runtime is given of the host besides Docker. */
export interface RuntimeHost {
  /** The isolation guard, when the worker turned it on (`isolationGuard: "nftables"`). */
  isolation?: IsolationGuard;
}

export function defaultRuntime(docker: DockerApi, host: RuntimeHost = {}): Runtime {
  const isolation = host.isolation ? { isolation: host.isolation } : {};
  // One for every task's observer: after the first, a task's event stream opens without an `/info`.
  const daemonClock = new DaemonClockSource(docker);
  return {
    compile: (payload, input) => compile(payload, input),
    taskContainerOptions: (desired) => taskContainerOptions(desired),
    observe: (scope, refresh$) =>
      observe(docker, scope, {
        refresh$,
        daemonClock,
        onError: () => {
          // Retried by the observer itself; a daemon that stays away shows as a startup timeout.
        },
      }),
    collect: (scope) => collectSnapshot(docker, scope),
    reconcile: (input) =>
      reconcile({
        docker,
        desired: input.desired,
        snapshots: input.snapshots,
        refresh: input.refresh,
        until: 'forever',
        concurrency: input.concurrency,
        restart: input.restart,
        pollIntervalMs: LOOP_SAFETY_POLL_MS,
        execute: {
          credentials: input.credentials,
          ...(input.logger ? { logger: input.logger } : {}),
          ...isolation,
          ...(input.images ?? {}),
        },
        ...(input.signal ? { signal: input.signal } : {}),
        ...(input.logger ? { logger: input.logger } : {}),
      }),
    down: async (owner, options) => {
      return down(docker, owner, { ...options, ...isolation });
    },
    collectGarbage: (ownerId, activeTaskIds, options) =>
      collectGarbage(docker, ownerId, activeTaskIds, { ...options, ...isolation }),
  };
}
