/**
 * A live view of the scope's objects: Docker's `/events` stream says *what* may have changed, and
 * the engine is asked *how* it is now. Events are hints, not truth (see DESIGN §5): dockerd keeps
 * its last 256 events only, skips a subscriber that does not take an event within 100 ms, loses
 * everything when it restarts and replays `since` inclusively. So:
 *
 * - connect: daemon time t0 → subscribe to `/events` since t0 → full relist → emit; t0 is asked of
 *   dockerd, or estimated from its last answer to a shared `DaemonClockSource` and checked 10 s later;
 * - an event only marks the object it names dirty (no API call inside the stream handler, so the
 *   stream is drained as fast as it comes); dirty objects are re-inspected in one coalesced,
 *   single-flight batch, and a snapshot is emitted after each batch;
 * - on stream error or end: relist at once (and again on reconnecting, with exponential backoff
 *   and jitter); until a relist that began after the loss succeeds, no snapshot is emitted and no
 *   refresh token is echoed, as the cache may hide changes whose events were lost;
 * - relist periodically, after a bare `refresh$` value, and after the process itself stalled long
 *   enough that dockerd may have skipped events meant for us; the periodic and stall relists
 *   inspect only the containers whose list entry disagrees with the cache, with a full one at
 *   least every ten periods (`SnapshotCache.relist`); a `RefreshRequest` naming objects
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
 *
 * `event-stream.ts` keeps the stream open (connecting, framing, reconnecting, stall watch);
 * `snapshot-cache.ts` holds what is seen and what is to be looked at again, and runs the batches.
 * `observe()` wires one subscription's pair together and tears both down on unsubscribe.
 */
import { Observable } from 'rxjs';
import type { DockerApi } from '../docker/client.js';
import { DaemonClockSource } from './daemon-clock.js';
import { EventStream } from './event-stream.js';
import { DEFAULT_BACKOFF, type Backoff } from './retry-delay.js';
import type { ObserveScope } from './scope.js';
import { SnapshotCache } from './snapshot-cache.js';
import type { Snapshot } from './types.js';
import type { RefreshRequest } from './requests.js';

export { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './retry-delay.js';
export { toDockerSince } from './event-stream.js';

export interface ObserveOptions {
  /**
   * Relist period, the safety net for events dockerd dropped (default 30 s): nine in ten inspect
   * only the containers whose list entry disagrees with what the observer holds.
   */
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
  /**
   * The daemon's clock, shared by a worker's observers so that a new task's stream need not wait
   * for `/info` (default: one that asks before every stream).
   */
  daemonClock?: DaemonClockSource;
  /**
   * How long after a stream opened with the shared clock's estimate that estimate is checked with
   * `/info` (default 10 s: past a typical start, so that it runs while the task does, not beside
   * the start's creates nor, for a short task, beside its teardown; a session closed sooner is not
   * checked, and the shared clock measures again before a stream once its bounds are 15 min old).
   */
  clockCheckDelayMs?: number;
}

export function observe(
  docker: DockerApi,
  scope: ObserveScope,
  options: ObserveOptions = {},
): Observable<Snapshot> {
  return new Observable<Snapshot>((subscriber) => {
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    const random = options.random ?? Math.random;
    const reportError = (error: unknown) => {
      try {
        options.onError?.(error);
      } catch {
        // A throwing error callback must not take the observer down with it.
      }
    };
    const cache = new SnapshotCache(docker, scope, {
      relistIntervalMs: options.relistIntervalMs ?? 30_000,
      // A full relist at least every ten periods (5 min by default): the net for what a list
      // entry cannot show (`SnapshotCache.relist`).
      maxByListRelists: 9,
      backoff,
      random,
      echoTokens: options.refresh$ !== undefined,
      reportError,
      emit: (snapshot) => subscriber.next(snapshot),
    });
    const events = new EventStream(
      docker,
      {
        backoff,
        random,
        stallMs: options.stallRelistMs ?? 500,
        clock: options.daemonClock ?? new DaemonClockSource(docker, { estimate: false }),
        clockCheckDelayMs: options.clockCheckDelayMs ?? 10_000,
      },
      {
        opened: (since) => cache.streamOpened(since),
        event: (event) => cache.onEvent(event),
        lost: () => cache.streamLost(),
        stalled: () => cache.safetyNetRelistSoon(),
        connectFailed: () => cache.connectFailed(),
        error: reportError,
      },
    );
    cache.start();
    const refreshSubscription = options.refresh$?.subscribe((value) => cache.request(value));
    events.open();
    return () => {
      cache.close();
      events.close();
      refreshSubscription?.unsubscribe();
    };
  });
}
