/**
 * Service phases and the events between them, derived from successive snapshots. Pure: the
 * previous state, the snapshot and the clock reading are arguments, so the same sequence of
 * snapshots always yields the same events, and a test can feed snapshots by hand.
 *
 * Snapshots are what the observer saw, not every state a container went through: two changes
 * between two snapshots (a restart that was quick, a container replaced) are reconstructed from
 * the container id and its `startedAt`, so that a death is still reported when its `exited` state
 * was never seen.
 */
import type { OwnerRef } from '../desired-state/types.js';
import type { ContainerState, HealthStatus, ObservedContainer, Snapshot } from '../observed-state/types.js';
import { ownerLabels } from '../observed-state/ownership.js';
import { ofRun } from '../reconciler/ownership.js';

export type ServiceRole = 'service' | 'proxy';

export type ServicePhase =
  'pending' | 'pulling' | 'created' | 'running' | 'healthy' | 'unhealthy' | 'exited' | 'removed';

interface EventBase {
  service: string;
  /** The service's own container, or its auth proxy. */
  role: ServiceRole;
  /** When the library saw the change (local clock, ISO 8601). */
  time: string;
  /** Docker container name (there is none before `created`). */
  containerName?: string;
  containerId?: string;
}

export type ServiceEvent =
  /**
   * The image is being fetched; with bytes once the pull or download reports them (done so far,
   * never less than the previous event's; and the total, when known).
   */
  | (EventBase & { type: 'pulling'; image: string; currentBytes?: number; totalBytes?: number })
  | (EventBase & { type: 'created' })
  | (EventBase & { type: 'started'; startedAt?: string })
  | (EventBase & { type: 'healthy' })
  | (EventBase & { type: 'unhealthy'; lastProbeOutput?: string })
  /**
   * `exitCode` is undefined when the exit was not observed itself (the container was already
   * running again, or removed, by the next snapshot).
   */
  | (EventBase & { type: 'died'; exitCode?: number; oomKilled: boolean; finishedAt?: string })
  | (EventBase & { type: 'restarted'; restarts: number; startedAt?: string })
  | (EventBase & { type: 'removed' })
  /** The death policy is `fail`: the service died mid-task and is not brought back. */
  | (EventBase & { type: 'failed'; reason: string });

export type ServiceEventType = ServiceEvent['type'];

/** What the tracker remembers of one (service, role) between snapshots. */
export interface TrackedContainer {
  containerId?: string;
  containerName?: string;
  state?: ContainerState;
  health: HealthStatus;
  startedAt?: string;
  phase: ServicePhase;
  /** A container of this key has run during the session: its next start is a restart. */
  everStarted: boolean;
  /** The current container died and has not run since (avoids reporting the same death twice). */
  dead: boolean;
  restarts: number;
}

export type PhaseState = Readonly<Record<string, TrackedContainer>>;

/** What the tracker needs to know about the task: whose containers, which images each runs. */
export interface PhaseScope {
  owner: OwnerRef;
  /** Image reference per `trackerKey(role, service)`, for the `pulling` phase. */
  images: Readonly<Record<string, string>>;
}

export function trackerKey(role: ServiceRole, service: string): string {
  return `${role}/${service}`;
}

export function parseTrackerKey(key: string): { role: ServiceRole; service: string } {
  const slash = key.indexOf('/');
  return { role: key.slice(0, slash) as ServiceRole, service: key.slice(slash + 1) };
}

function isRunningState(state: ContainerState): boolean {
  return state === 'running' || state === 'paused' || state === 'restarting';
}

function isDeadState(state: ContainerState): boolean {
  return state === 'exited' || state === 'dead';
}

/** The task's service and proxy containers in the snapshot, by tracker key. */
export function taskContainers(snapshot: Snapshot, owner: OwnerRef): Map<string, ObservedContainer> {
  const found = new Map<string, ObservedContainer>();
  for (const container of snapshot.containers) {
    const labels = container.labels;
    if (!ofRun(owner, labels)) continue;
    const { role, service } = ownerLabels(labels) ?? {};
    if ((role !== 'service' && role !== 'proxy') || !service) continue;
    // A container being removed is on its way out; its replacement (if any) is the one that counts.
    if (container.state === 'removing' && found.has(trackerKey(role, service))) continue;
    found.set(trackerKey(role, service), container);
  }
  return found;
}

export function phaseOf(container: ObservedContainer): ServicePhase {
  if (container.state === 'unknown') return 'pending';
  if (isDeadState(container.state)) return 'exited';
  if (container.state === 'created') return 'created';
  if (container.state === 'removing') return 'removed';
  if (container.health === 'healthy') return 'healthy';
  if (container.health === 'unhealthy') return 'unhealthy';
  return 'running';
}

export function initialPhaseState(): PhaseState {
  return {};
}

/**
 * The events that lead from `previous` to what `snapshot` shows, and the new state. Keys are
 * visited in sorted order and each key's events in causal order (removed, created, started,
 * health, died), so that the output is deterministic.
 */
export function derivePhaseEvents(
  previous: PhaseState,
  snapshot: Snapshot,
  scope: PhaseScope,
  now: string,
): { state: PhaseState; events: ServiceEvent[] } {
  const current = taskContainers(snapshot, scope.owner);
  const missing = new Set(snapshot.missingImages);
  const keys = [
    ...new Set([...Object.keys(previous), ...current.keys(), ...Object.keys(scope.images)]),
  ].sort();
  const next: Record<string, TrackedContainer> = {};
  const events: ServiceEvent[] = [];

  for (const key of keys) {
    const { role, service } = parseTrackerKey(key);
    const before = previous[key];
    const container = current.get(key);
    const base = (c?: { id: string; name: string }): EventBase => ({
      service,
      role,
      time: now,
      ...(c ? { containerId: c.id, containerName: c.name } : {}),
    });
    let t: TrackedContainer = before
      ? { ...before }
      : { health: 'none', phase: 'pending', everStarted: false, dead: false, restarts: 0 };

    if (!container) {
      if (t.containerId !== undefined && t.phase !== 'removed') {
        events.push({ ...base({ id: t.containerId, name: t.containerName ?? '' }), type: 'removed' });
        t = { ...t, phase: 'removed', state: undefined, health: 'none', dead: false };
      }
      const image = scope.images[key];
      if (image !== undefined && missing.has(image) && t.phase !== 'pulling' && t.containerId === undefined) {
        events.push({ ...base(), type: 'pulling', image });
        t.phase = 'pulling';
      }
      next[key] = t;
      continue;
    }

    const c = { id: container.id, name: container.name };
    const replaced = t.containerId !== undefined && t.containerId !== container.id;
    if (replaced && t.phase !== 'removed') {
      events.push({ ...base({ id: t.containerId!, name: t.containerName ?? '' }), type: 'removed' });
    }
    const isNew = t.containerId !== container.id;
    if (isNew) {
      events.push({ ...base(c), type: 'created' });
      t = { ...t, containerId: container.id, containerName: container.name, health: 'none', dead: false };
      t.startedAt = undefined;
      t.state = 'created';
    }

    // A (re)start: a start time we have not seen on this container. A start the observer folded
    // from Docker's answer has no time yet: it is a start when this container was not seen running
    // before, and the time its next inspect brings is then no restart.
    const sawRunning = !isNew && t.state !== undefined && isRunningState(t.state) && !t.dead;
    const startTimeLearnt = sawRunning && t.startedAt === undefined && container.startedAt !== undefined;
    const startedAgain =
      container.startedAt === undefined
        ? isRunningState(container.state) && !sawRunning
        : container.startedAt !== t.startedAt &&
          !startTimeLearnt &&
          (isRunningState(container.state) || isDeadState(container.state));
    if (startTimeLearnt) t.startedAt = container.startedAt;
    if (startedAgain) {
      if (!isNew && t.state !== undefined && isRunningState(t.state) && !t.dead) {
        // It ran, exited and ran again between two snapshots: the exit itself was not seen.
        events.push({ ...base(c), type: 'died', oomKilled: false });
      }
      if (t.everStarted) {
        t.restarts += 1;
        events.push({
          ...base(c),
          type: 'restarted',
          restarts: t.restarts,
          startedAt: container.startedAt,
        });
      } else {
        events.push({ ...base(c), type: 'started', startedAt: container.startedAt });
      }
      t = { ...t, everStarted: true, dead: false, startedAt: container.startedAt, health: 'none' };
    }

    if (!isDeadState(container.state) && container.health !== t.health) {
      if (container.health === 'healthy') events.push({ ...base(c), type: 'healthy' });
      if (container.health === 'unhealthy') {
        events.push({
          ...base(c),
          type: 'unhealthy',
          ...(container.lastHealthOutput !== undefined
            ? { lastProbeOutput: container.lastHealthOutput }
            : {}),
        });
      }
      t.health = container.health;
    }

    if (container.state === 'removing') {
      // Being removed (a force-remove in progress): reported now, and not again when it is gone.
      if (t.phase !== 'removed') events.push({ ...base(c), type: 'removed' });
      t.state = container.state;
      t.phase = 'removed';
      next[key] = t;
      continue;
    }

    if (isDeadState(container.state) && !t.dead && t.everStarted) {
      events.push({
        ...base(c),
        type: 'died',
        exitCode: container.exitCode,
        oomKilled: container.oomKilled,
        ...(container.finishedAt !== undefined ? { finishedAt: container.finishedAt } : {}),
      });
      t.dead = true;
    }

    t.state = container.state;
    t.phase = phaseOf(container);
    next[key] = t;
  }
  return { state: next, events };
}
