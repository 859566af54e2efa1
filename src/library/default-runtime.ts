/**
 * The runtime of a real worker: compile from `src/desired-state`, snapshots from
 * `src/observed-state`'s event-driven observer, the loop and teardown from `src/reconciler`.
 */
import type { Logger } from 'winston';
import { compile, emptyGraph } from '../desired-state/compile.js';
import type { WorkerConfig } from '../desired-state/config.js';
import { taskContainerOptions } from '../desired-state/task-container.js';
import type { DesiredState, OwnerRef } from '../desired-state/types.js';
import type { DockerApi } from '../docker/client.js';
import { collectSnapshot } from '../observed-state/collect.js';
import { observe } from '../observed-state/observe.js';
import { Label } from '../desired-state/labels.js';
import { TerminalError } from '../reconciler/errors.js';
import { converge, reconcile } from '../reconciler/loop.js';
import { plan } from '../reconciler/plan.js';
import type { Snapshot } from '../observed-state/types.js';
import type { GarbageCollection, Runtime } from './runtime.js';

/**
 * While the loop waits (for health, a dependency) it re-observes this often. The observer already
 * pushes a snapshot on every relevant Docker event (`health_status` included) and relists every
 * 30 s, so this is only a safety net, not how readiness is noticed.
 */
const LOOP_SAFETY_POLL_MS = 30_000;

function noCredentials(): Promise<Record<string, string>> {
  // Teardown only removes: a create (which would ask) is never planned for the empty graph.
  return Promise.reject(new TerminalError('bad-spec', 'teardown does not create containers'));
}

/**
 * dockerd 20.10 reports an empty `NetworkID` for the endpoints of a container that was created and
 * not started yet (it is assigned at start), and the planner reads an endpoint whose id differs
 * from the network's as stale, so it would replace such a container forever. Until the planner (or
 * the mapping) knows this, the library fills the id in from our network of that name: a created
 * container can only have been created on (or connected to) a network that existed then.
 */
export function withCreatedEndpointIds(snapshot: Snapshot): Snapshot {
  const byName = new Map(snapshot.networks.map((n) => [n.name, n.id]));
  let changed = false;
  const containers = snapshot.containers.map((container) => {
    if (container.state !== 'created') return container;
    const networks = { ...container.networks };
    for (const [name, endpoint] of Object.entries(networks)) {
      const id = byName.get(name);
      if (endpoint.networkId === '' && id !== undefined) {
        networks[name] = { ...endpoint, networkId: id };
        changed = true;
      }
    }
    return { ...container, networks };
  });
  return changed ? { ...snapshot, containers } : snapshot;
}

export function defaultRuntime(docker: DockerApi, _options: { config: WorkerConfig }): Runtime {
  const down = async (owner: OwnerRef, options: { concurrency: number; logger?: Logger }): Promise<void> => {
    await converge({
      docker,
      desired: emptyGraph(owner),
      until: 'converged',
      concurrency: options.concurrency,
      plan: (desired, snapshot, planOptions) => plan(desired, withCreatedEndpointIds(snapshot), planOptions),
      execute: { credentials: noCredentials, ...(options.logger ? { logger: options.logger } : {}) },
      ...(options.logger ? { logger: options.logger } : {}),
    });
  };

  return {
    compile: (payload, input) => compile(payload, input),
    taskContainerOptions: (desired: DesiredState) => taskContainerOptions(desired),
    observe: (scope, refresh$) =>
      observe(docker, scope, {
        refresh$,
        onError: () => {
          // Retried by the observer itself; a hung daemon shows as a startup timeout.
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
        plan: (desired, snapshot, options) => plan(desired, withCreatedEndpointIds(snapshot), options),
        execute: { credentials: input.credentials, ...(input.logger ? { logger: input.logger } : {}) },
        ...(input.signal ? { signal: input.signal } : {}),
        ...(input.logger ? { logger: input.logger } : {}),
      }),
    down,
    collectGarbage: async (ownerId, activeTaskIds, options): Promise<GarbageCollection> => {
      const active = new Set(activeTaskIds);
      const snapshot = await collectSnapshot(docker, { ownerId, images: [] });
      const runs = new Map<string, OwnerRef>();
      for (const object of [...snapshot.containers, ...snapshot.networks]) {
        const taskId = object.labels[Label.taskId];
        const runId = Number(object.labels[Label.runId]);
        if (!taskId || !Number.isSafeInteger(runId) || active.has(taskId)) continue;
        runs.set(`${taskId}/${runId}`, { ownerId, taskId, runId });
      }
      const removed: string[] = [];
      for (const [key, owner] of [...runs].sort(([a], [b]) => (a < b ? -1 : 1))) {
        await down(owner, options);
        removed.push(key);
      }
      return { removed };
    },
  };
}
