/**
 * A live view of the scope's objects: Docker's `/events` stream says *what* may have changed, and
 * the engine is asked *how* it is now. Events are hints, not truth (see DESIGN §5): dockerd keeps
 * its last 256 events only, skips a subscriber that does not take an event within 100 ms, loses
 * everything when it restarts and replays `since` inclusively. So:
 *
 * - connect: daemon time t0 → subscribe to `/events` since t0 → full relist → emit;
 * - an event only marks the object it names dirty (no API call inside the stream handler, so the
 *   stream is drained as fast as it comes); dirty objects are re-inspected in one coalesced,
 *   single-flight batch, and a snapshot is emitted after each batch;
 * - on stream error or end: relist at once (and again on reconnecting, with exponential backoff
 *   and jitter); until a relist that began after the loss succeeds, no snapshot is emitted and no
 *   refresh token is echoed, as the cache may hide changes whose events were lost;
 * - relist periodically, after a bare `refresh$` value, and after the process itself stalled long
 *   enough that dockerd may have skipped events meant for us; a `RefreshRequest` naming objects
 *   only marks those dirty, and its token comes back on the first snapshot that reflects it;
 * - a failed Docker call never ends the observable: it goes to `onError` and is retried with
 *   backoff (a failed batch of inspects as a relist, which looks at everything afresh). A hung
 *   daemon surfaces the same way, as a `DockerTimeoutError` from the client's deadlines. The
 *   observable only ends when unsubscribed, which closes the stream and every timer.
 *
 * - one exception to "events are hints": a `healthy` event newer than what the cache knows of a
 *   running container is applied at once (and its inspect still follows), so that readiness
 *   does not wait behind an inspect batch.
 *
 * Snapshots are emitted after every relist and every refresh batch, changed or not, and after a
 * burst of applied health events: a consumer that wants only changes can `distinctUntilChanged`
 * on the content.
 */
import { Observable, type Subscription } from 'rxjs';
import { Label } from '../desired-state/labels.js';
import type { DockerApi } from '../docker/client.js';
import {
  collectSnapshot,
  inspectImages,
  mapLimit,
  observeContainer,
  observeNetwork,
  sortSnapshot,
  type ObservedObject,
} from './collect.js';
import { EventStream } from './event-stream.js';
import type { DockerEvent } from './frames.js';
import { nameFilterPattern } from './ownership.js';
import type { ObserveScope } from './scope.js';
import {
  isTargeted,
  type ForeignObject,
  type ObservedContainer,
  type ObservedImage,
  type ObservedNetwork,
  type RefreshRequest,
  type Snapshot,
} from './types.js';
import { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './retry-delay.js';

export { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './retry-delay.js';
export { toDockerSince } from './event-stream.js';

export interface ObserveOptions {
  /** Full relist period, the safety net for events dockerd dropped (default 30 s). */
  relistIntervalMs?: number;
  /** Reconnect and retry backoff (default 800 ms doubling to 30 s, as client-go's reflector). */
  backoff?: Backoff;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
  /** Every Docker error the observer retries past: failed calls, timeouts, a lost event stream. */
  onError?: (error: unknown) => void;
  /**
   * Each value brings a new snapshot: a `RefreshRequest` naming objects re-inspects those (the loop
   * names what an action changed); any other value forces a relist.
   */
  refresh$?: Observable<RefreshRequest | void>;
  /**
   * A stall of this process longer than this forces a relist (default 500 ms). While it is blocked,
   * the event stream is not read; dockerd buffers a while and then silently skips events.
   */
  stallRelistMs?: number;
}

export function observe(
  docker: DockerApi,
  scope: ObserveScope,
  options: ObserveOptions = {},
): Observable<Snapshot> {
  return new Observable<Snapshot>((subscriber) => {
    const relistIntervalMs = options.relistIntervalMs ?? 30_000;
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const random = options.random ?? Math.random;
    const stallRelistMs = options.stallRelistMs ?? 500;
    const reportError = (error: unknown) => {
      try {
        options.onError?.(error);
      } catch {
        // A throwing error callback must not take the observer down with it.
      }
    };
    const candidateName = (() => {
      const pattern = new RegExp(nameFilterPattern(scope, 'network'));
      return (name: string | undefined) => name !== undefined && pattern.test(name);
    })();
    let closed = false;

    // What we see, keyed by id.
    const containers = new Map<string, ObservedContainer>();
    const networks = new Map<string, ObservedNetwork>();
    const foreign = new Map<string, ForeignObject>();
    let images: ObservedImage[] = [];
    let missingImages: string[] = [];
    let time = '';
    /**
     * Per container, the daemon time (ms) its cached state is known to be at least as new as: the
     * start of the batch that inspected it, or the time of a health event applied to it.
     */
    const knownAt = new Map<string, number>();
    /** Daemon clock minus ours, from the last relist's daemon time (ms). */
    let clockOffsetMs = 0;
    let haveBaseline = false;

    // What is to be done.
    let relistNeeded = false;
    let imagesDirty = false;
    const dirtyContainers = new Set<string>();
    const dirtyNetworks = new Set<string>();
    let working = false;
    /** The highest refresh token received, and the highest one the current state reflects. */
    let requested = 0;
    let reflected = 0;
    let pumpTimer: NodeJS.Timeout | undefined;
    let failures = 0;
    /** Event streams lost so far: a batch that saw one may show what a lost event changed. */
    let losses = 0;

    let streamOpen = false;

    function schedulePump(delayMs = 0): void {
      if (closed || pumpTimer !== undefined) return;
      pumpTimer = setTimeout(() => {
        pumpTimer = undefined;
        void pump();
      }, delayMs);
    }

    function hasWork(): boolean {
      return relistNeeded || imagesDirty || dirtyContainers.size > 0 || dirtyNetworks.size > 0;
    }

    async function pump(): Promise<void> {
      if (closed || working || !hasWork()) return;
      // Before the first connection, a request waits for it: its relist follows the subscription.
      if (!haveBaseline && !streamOpen) return;
      working = true;
      let ok = false;
      // Every request up to here has marked what it named (or asked for a relist): this batch covers it.
      const covers = requested;
      const lossesBefore = losses;
      try {
        if (relistNeeded || !haveBaseline) await relist();
        else await refreshDirty();
        ok = true;
        failures = 0;
      } catch (error) {
        failures += 1;
        reportError(error);
      } finally {
        working = false;
      }
      if (closed) return;
      // Once the stream is lost, what the cache holds (beyond what this batch looked at) may be
      // stale with no event to say so: a daemon restart kills containers silently. Such a batch
      // neither emits nor vouches for a token; the relist the loss asked for does.
      if (ok && losses === lossesBefore) {
        reflected = Math.max(reflected, covers);
        subscriber.next(snapshot());
      }
      if (hasWork()) schedulePump(ok ? 0 : backoffDelay(failures - 1, backoff, random));
    }

    async function relist(): Promise<void> {
      relistNeeded = false;
      imagesDirty = false;
      // Events from here on mark objects dirty again, and are refreshed after this relist.
      dirtyContainers.clear();
      dirtyNetworks.clear();
      try {
        const localStart = Date.now();
        const next = await collectSnapshot(docker, scope);
        if (closed) return;
        const daemonStart = Date.parse(next.time);
        if (!Number.isNaN(daemonStart)) clockOffsetMs = daemonStart - localStart;
        containers.clear();
        networks.clear();
        foreign.clear();
        knownAt.clear();
        for (const c of next.containers) {
          containers.set(c.id, c);
          knownAt.set(c.id, daemonStart);
        }
        for (const n of next.networks) networks.set(n.id, n);
        for (const f of next.foreign) foreign.set(foreignKey(f.type, f.id), f);
        images = next.images;
        missingImages = next.missingImages;
        time = next.time;
        haveBaseline = true;
      } catch (error) {
        relistNeeded = true;
        throw error;
      }
    }

    async function refreshDirty(): Promise<void> {
      const containerIds = [...dirtyContainers].sort();
      const networkIds = [...dirtyNetworks].sort();
      const withImages = imagesDirty;
      dirtyContainers.clear();
      dirtyNetworks.clear();
      imagesDirty = false;
      try {
        // The daemon's clock from ours and the offset the last relist measured: asking dockerd
        // (`/info`, one of its costlier calls) on every batch was a call per event burst.
        const nowMs = Date.now() + clockOffsetMs;
        const now = new Date(nowMs).toISOString();
        const [containerResults, networkResults, imageResults] = await Promise.all([
          mapLimit(containerIds, (id) => observeContainer(docker, scope, id)),
          mapLimit(networkIds, (id) => observeNetwork(docker, scope, id)),
          withImages ? inspectImages(docker, scope.images) : undefined,
        ]);
        if (closed) return;
        containerIds.forEach((id, i) => {
          // A health event applied while this inspect was out may be newer than what it saw; the
          // event marked the container dirty again, and the next batch settles it.
          if ((knownAt.get(id) ?? -Infinity) > nowMs) return;
          apply('container', id, containerResults[i]!);
          if (containers.has(id)) knownAt.set(id, nowMs);
          else knownAt.delete(id);
        });
        networkIds.forEach((id, i) => apply('network', id, networkResults[i]!));
        if (imageResults) ({ images, missingImages } = imageResults);
        time = now;
      } catch (error) {
        // The relist, not the same inspects again: one id that keeps failing would otherwise
        // hold every snapshot back (an empty network id did, for 30 s, until the periodic relist).
        relistNeeded = true;
        throw error;
      }
    }

    function apply(type: 'container' | 'network', id: string, result: ObservedObject): void {
      (type === 'container' ? containers : networks).delete(id);
      foreign.delete(foreignKey(type, id));
      if (result.kind === 'container') containers.set(id, result.container);
      else if (result.kind === 'network') networks.set(id, result.network);
      else if (result.kind === 'foreign') foreign.set(foreignKey(type, id), result.foreign);
    }

    function snapshot(): Snapshot {
      return sortSnapshot({
        time,
        // With a refresh$, always: a loop that sent a token must not take a snapshot made before
        // any request (0) for one from a source that has no tokens at all.
        ...(options.refresh$ ? { refreshed: reflected } : {}),
        containers: [...containers.values()],
        networks: [...networks.values()],
        images: [...images],
        missingImages: [...missingImages],
        foreign: [...foreign.values()],
      });
    }

    /**
     * A `healthy` event is all readiness needs to know of a running container: applied to the cache
     * at once, readiness is seen without waiting for the inspect batch ahead of it (which, with
     * twenty services turning healthy together, cost ~100 ms). Only an event newer than what the
     * cache knows of the container counts (`since` replays old ones); its inspect still follows,
     * with the probe's output. `unhealthy` waits for that inspect: its report needs the output.
     */
    function applyHealthy(event: DockerEvent): boolean {
      if (event.action !== 'health_status: healthy' || relistNeeded || !haveBaseline) return false;
      const cached = containers.get(event.actorId);
      const at = event.timeNano === undefined ? Number.NaN : Number(event.timeNano) / 1e6;
      if (cached?.state !== 'running' || cached.health === 'healthy') return false;
      if (!(at > (knownAt.get(event.actorId) ?? Infinity))) return false;
      const { lastHealthOutput: _unknownUntilInspected, ...rest } = cached;
      containers.set(event.actorId, { ...rest, health: 'healthy' });
      knownAt.set(event.actorId, at);
      return true;
    }

    let emitPending = false;
    /** One snapshot of the cache for a burst of applied events, unless a loss makes it suspect. */
    function emitSoon(): void {
      if (emitPending) return;
      emitPending = true;
      const lossesBefore = losses;
      setImmediate(() => {
        emitPending = false;
        if (!closed && losses === lossesBefore && !relistNeeded) subscriber.next(snapshot());
      });
    }

    /** Runs for every event, synchronously: marks, never calls Docker. */
    function onEvent(event: DockerEvent): void {
      let relevant = false;
      if (event.type === 'container') {
        relevant =
          event.attributes[Label.owner] === scope.ownerId ||
          (scope.taskId !== undefined && candidateName(event.attributes.name)) ||
          containers.has(event.actorId) ||
          foreign.has(foreignKey('container', event.actorId));
        if (relevant) dirtyContainers.add(event.actorId);
        if (relevant && applyHealthy(event)) emitSoon();
      } else if (event.type === 'network') {
        // Network events carry no labels: a network is a candidate by its name or because we know it.
        if (
          networks.has(event.actorId) ||
          foreign.has(foreignKey('network', event.actorId)) ||
          candidateName(event.attributes.name)
        ) {
          dirtyNetworks.add(event.actorId);
          relevant = true;
        }
        const containerId = event.attributes.container;
        if (
          containerId &&
          (containers.has(containerId) || foreign.has(foreignKey('container', containerId)))
        ) {
          dirtyContainers.add(containerId);
          relevant = true;
        }
      } else if (event.type === 'image') {
        const ref = event.attributes.name;
        relevant =
          (ref !== undefined && scope.images.includes(ref)) ||
          scope.images.includes(event.actorId) ||
          images.some((image) => image.id === event.actorId);
        if (relevant) imagesDirty = true;
      }
      if (relevant) schedulePump();
    }

    /** A new stream: whatever happened while there was none left no event, so relist at once. */
    function streamOpened(): void {
      streamOpen = true;
      relistNeeded = true;
      failures = 0;
      if (pumpTimer !== undefined) {
        clearTimeout(pumpTimer);
        pumpTimer = undefined;
      }
      schedulePump();
    }

    function streamLost(): void {
      streamOpen = false;
      losses += 1;
      relistNeeded = true;
      schedulePump();
    }

    const relistTimer = setInterval(() => {
      // While disconnected, the reconnect relists anyway.
      if (!streamOpen) return;
      relistNeeded = true;
      schedulePump();
    }, relistIntervalMs);

    let refreshSubscription: Subscription | undefined;
    if (options.refresh$) {
      refreshSubscription = options.refresh$.subscribe((value) => {
        const request: RefreshRequest = typeof value === 'object' && value !== null ? value : {};
        if (request.token !== undefined) requested = Math.max(requested, request.token);
        if (isTargeted(request)) {
          // An empty id names nothing (a container that never ran has endpoints with no network id).
          for (const id of request.containers ?? []) if (id) dirtyContainers.add(id);
          for (const id of request.networks ?? []) if (id) dirtyNetworks.add(id);
          if (request.images) imagesDirty = true;
        } else {
          relistNeeded = true;
        }
        schedulePump();
      });
    }

    const events = new EventStream(
      docker,
      { backoff, random, stallMs: stallRelistMs },
      {
        opened: streamOpened,
        event: onEvent,
        lost: streamLost,
        stalled: () => {
          relistNeeded = true;
          schedulePump();
        },
        error: reportError,
      },
    );
    events.open();

    return () => {
      closed = true;
      events.close();
      clearTimeout(pumpTimer);
      clearInterval(relistTimer);
      refreshSubscription?.unsubscribe();
    };
  });
}

function foreignKey(type: 'container' | 'network', id: string): string {
  return `${type}:${id}`;
}
