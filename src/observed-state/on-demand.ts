/**
 * Snapshots listed on demand, for a run that needs no event stream (teardown and garbage
 * collection of a task that is not running, `plan` against the live engine): one list at
 * subscription, then one per `refresh()`.
 */
import { Observable } from 'rxjs';
import type { DockerApi } from '../docker/client.js';
import { exponentialBackoffMs } from '../util/backoff.js';
import { collectSnapshot } from './collect.js';
import type { ObserveScope } from './scope.js';
import { type Snapshot } from './types.js';
import { isNoticeOnly, type RefreshRequest } from './requests.js';

/**
 * A list at subscription, then a full list per `refresh()` whatever the request names; its token
 * comes back on the list that began after it. Requests made while a list runs are folded into one
 * more list after it. A failed list is retried with backoff; the stream fails after 20 failures in
 * a row. One subscriber at a time.
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
            setTimeout(resolve, exponentialBackoffMs(backoff.initialMs, backoff.maxMs, failures - 1)),
          );
        }
      }
      running = false;
    };
    trigger = (request) => {
      // A hold or a release asks for no look; an effect is seen by the next list.
      if (request !== undefined && isNoticeOnly(request)) return;
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
