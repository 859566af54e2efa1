/**
 * Whether a task's services are ready, or which one has failed and why: a pure reading of one
 * snapshot against the desired graph, so that `start()` decides on every fresh snapshot (pushed
 * by Docker's events, `health_status` included) and never polls.
 */
import { registryOf } from '../desired-state/image-source.js';
import type { ContainerNode, DesiredState } from '../desired-state/types.js';
import type { Blocked } from '../reconciler/actions.js';
import { ReconcileError } from '../reconciler/errors.js';
import type { ObservedContainer, Snapshot } from '../observed-state/types.js';
import type { StartFailureReason } from './errors.js';
import { runsHealthy } from '../reconciler/readiness.js';
import { phaseOf, taskContainers, trackerKey, type ServicePhase, type ServiceRole } from './phases.js';

export interface StartFailure {
  service: string | undefined;
  role: ServiceRole;
  phase: ServicePhase;
  reason: StartFailureReason;
  /** The container whose log tells the story, when there is one. */
  containerId?: string;
}

export interface StartupStatus {
  /** Every desired container runs, healthy where it has a health check. */
  ready: boolean;
  /** The first failure found (services in name order, a service before its proxy). */
  failure?: StartFailure;
  /** Not ready yet, with their phase, in name order. */
  pending: { service: string; role: ServiceRole; phase: ServicePhase }[];
  /**
   * Set when a container without a health check runs but has not yet run for `settleMs`: look
   * again after this many ms (a fresh snapshot then decides).
   */
  recheckInMs?: number;
}

export interface StartupOptions {
  /**
   * Daemon time at which this start began. A container that had exited before it is not a
   * failure of this start: the loop restarts it by the restart policy, as \`plan\` says, and the
   * gate waits (\`priorExits: 'wait'\`); once the loop has given up on it, it is the cause
   * (\`'fail'\`, with \`beforeStart\`).
   */
  startedAt?: string;
  priorExits?: 'wait' | 'fail';
  /**
   * A container without a health check counts as ready once it has run this long (daemon time):
   * a process that exits at once is a crash, not a ready service, and would otherwise be caught
   * "running" in the instant between its start and its exit.
   */
  settleMs: number;
}

function roleOf(node: ContainerNode): ServiceRole {
  return node.role;
}

function byServiceThenRole(a: ContainerNode, b: ContainerNode): number {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  return a.role === b.role ? 0 : a.role === 'service' ? -1 : 1;
}

/** A container that reached a state it cannot leave on its way to ready. */
export function containerFailure(container: ObservedContainer): StartFailureReason | undefined {
  if (container.state === 'exited' || container.state === 'dead') {
    return container.oomKilled
      ? { kind: 'oom-killed', exitCode: container.exitCode }
      : { kind: 'exited', exitCode: container.exitCode };
  }
  // Docker marks a container's health unhealthy when it stops: only a running one's health says
  // how it serves (a stopped one is judged by its exit above, or is on its way out).
  if (container.state === 'running' && container.health === 'unhealthy') {
    return container.lastHealthOutput !== undefined
      ? { kind: 'unhealthy', lastProbeOutput: container.lastHealthOutput }
      : { kind: 'unhealthy' };
  }
  return undefined;
}

export function evaluateStartup(
  desired: DesiredState,
  snapshot: Snapshot,
  options: StartupOptions = { settleMs: 0 },
): StartupStatus {
  let recheckInMs: number | undefined;
  const observedAt = Date.parse(snapshot.time);
  const observed = taskContainers(snapshot, desired.owner);
  const pending: StartupStatus['pending'] = [];
  let failure: StartFailure | undefined;
  const foreignNames = new Map(snapshot.foreign.map((f) => [f.name, f]));
  for (const node of [...desired.containers].sort(byServiceThenRole)) {
    const role = roleOf(node);
    const container = observed.get(trackerKey(role, node.service));
    const foreign = foreignNames.get(node.name);
    if (!container && foreign && !failure) {
      failure = {
        service: node.service,
        role,
        phase: 'pending',
        reason: { kind: 'name-conflict', name: node.name, detail: foreign.reason },
      };
    }
    if (!container) {
      pending.push({ service: node.service, role, phase: 'pending' });
      continue;
    }
    const exitedBefore =
      options.startedAt !== undefined &&
      container.finishedAt !== undefined &&
      // `removing`: the plan replaces it (its proxy was replaced, say); it ended all the same.
      (container.state === 'exited' || container.state === 'dead' || container.state === 'removing') &&
      Date.parse(container.finishedAt) < Date.parse(options.startedAt);
    if (exitedBefore && options.priorExits !== 'fail') {
      pending.push({ service: node.service, role, phase: 'exited' });
      continue;
    }
    const reason = containerFailure(container);
    if (exitedBefore && reason?.kind === 'exited') reason.beforeStart = true;
    // The phase the failure happened in, even when the container is already on its way out.
    const phase =
      reason?.kind === 'unhealthy' ? 'unhealthy' : reason !== undefined ? 'exited' : phaseOf(container);
    if (reason && !failure) {
      if (reason.kind === 'oom-killed') reason.memoryBytes = node.limits.memoryBytes;
      failure = { service: node.service, role, phase, reason, containerId: container.id };
    }
    // A health check the graph asks for shows as `starting` once the container runs; `none`
    // with one asked for means Docker has not applied it (yet): not ready.
    let ready = runsHealthy(container) && !(node.healthCheck && container.health === 'none');
    if (ready && container.health === 'none' && options.settleMs > 0) {
      const ranMs = observedAt - Date.parse(container.startedAt ?? '');
      const remaining = Number.isNaN(ranMs) ? options.settleMs : options.settleMs - ranMs;
      if (remaining > 0) {
        ready = false;
        recheckInMs = Math.max(recheckInMs ?? 0, remaining);
      }
    }
    if (!ready) pending.push({ service: node.service, role, phase });
  }
  const status: StartupStatus = { ready: pending.length === 0 && !failure, pending };
  if (recheckInMs !== undefined && !failure) status.recheckInMs = recheckInMs;
  if (failure) status.failure = failure;
  return status;
}

/**
 * Which service a reconcile failure is about, and the reason in `start()`'s terms. The loop's
 * error names graph nodes and images; the worker wants a service name.
 */
export function failureFromReconcileError(
  desired: DesiredState,
  error: unknown,
  pending: StartupStatus['pending'],
): StartFailure {
  const firstPending = pending[0];
  const fallback = {
    service: firstPending?.service,
    role: firstPending?.role ?? ('service' as ServiceRole),
    phase: firstPending?.phase ?? ('pending' as ServicePhase),
  };
  if (!(error instanceof ReconcileError)) {
    return {
      ...fallback,
      reason: { kind: 'reconcile-failed', message: error instanceof Error ? error.message : String(error) },
    };
  }
  const blocked: Blocked | undefined = error.details.blocked?.[0];
  const action = error.details.action;
  const node = desired.containers.find(
    (c) =>
      (blocked !== undefined &&
        ((blocked.node !== undefined && c.id === blocked.node) ||
          c.name === blocked.name ||
          c.image === blocked.name)) ||
      (action?.target.type === 'container' &&
        ((action.target.node !== undefined && c.id === action.target.node) || c.name === action.target.name)),
  );
  const who = node
    ? {
        service: node.service,
        role: node.role,
        phase:
          pending.find((p) => p.service === node.service && p.role === node.role)?.phase ?? fallback.phase,
      }
    : fallback;
  switch (error.reason) {
    case 'aborted':
      return { ...who, service: undefined, reason: { kind: 'cancelled' } };
    case 'deadline':
      return { ...who, reason: { kind: 'deadline', deadline: '' } };
    default:
      break;
  }
  // A pull or load that kept failing (no registry, no network) is the image being unobtainable.
  if (action?.kind === 'pull-image' || action?.kind === 'load-image') {
    const pulling = action.target.name;
    // The service that runs the image, before the proxy that serves it (its key names the role).
    const imageNode =
      desired.containers.find((c) => c.image === pulling && c.role === 'service') ??
      desired.containers.find((c) => c.image === pulling || c.imageKeyOf === pulling);
    const detail = error.message;
    const reason: StartFailureReason =
      error.code === 'image-pull-unauthorized'
        ? { kind: 'image-pull-unauthorized', image: pulling, registry: registryOf(pulling), detail }
        : action.kind === 'load-image' && error.code !== 'image-not-found'
          ? { kind: 'image-download-failed', image: pulling, detail }
          : { kind: 'image-not-found', image: pulling, detail };
    return {
      service: imageNode?.service ?? who.service,
      role: imageNode?.role ?? who.role,
      phase: 'pulling',
      reason,
    };
  }
  switch (error.code) {
    case 'image-not-found':
    case 'image-missing': {
      const image = node?.image ?? blocked?.name ?? 'unknown image';
      const imageNode = node ?? desired.containers.find((c) => c.image === image);
      return {
        service: imageNode?.service ?? who.service,
        role: imageNode?.role ?? who.role,
        phase: imageNode ? 'pulling' : who.phase,
        reason: { kind: 'image-not-found', image, detail: error.message },
      };
    }
    case 'name-conflict':
      return {
        ...who,
        reason: { kind: 'name-conflict', name: blocked?.name ?? node?.name ?? '', detail: error.message },
      };
    case 'network-pool-exhausted':
      return {
        ...who,
        reason: { kind: 'network-pool-exhausted', network: action?.target.name ?? '', detail: error.message },
      };
    default:
      return { ...who, reason: { kind: 'reconcile-failed', message: error.message, ...codeOf(error) } };
  }
}

function codeOf(error: ReconcileError): { code?: string } {
  return error.code !== undefined ? { code: error.code } : {};
}
