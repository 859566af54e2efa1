/**
 * Shared by the observer's engine tests: a recorder of what an observer emits, and names and
 * labels of "product" objects made by hand (outside the library), owned by a test owner id so the
 * leftover check sees them.
 */
import type { Observable, Subscription } from 'rxjs';
import { Label } from '../../src/desired-state/labels.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { testOwnerId, testRunId } from '../support/docker.js';

export interface Recorder {
  snapshots: Snapshot[];
  errors: unknown[];
  latest(): Snapshot | undefined;
  /**
   * Resolves with the first snapshot that satisfies `check`, looking from `from` on (default: just
   * after the snapshot the previous `waitFor` resolved with, so a snapshot emitted while the test
   * was still awaiting its own action is not missed).
   */
  waitFor(
    check: (s: Snapshot) => boolean,
    what: string,
    options?: { timeoutMs?: number; from?: number },
  ): Promise<Snapshot>;
  stop(): void;
}

export function record(source: (onError: (e: unknown) => void) => Observable<Snapshot>): Recorder {
  const snapshots: Snapshot[] = [];
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  let cursor = 0;
  const subscription: Subscription = source((e) => errors.push(e)).subscribe({
    next: (s) => {
      snapshots.push(s);
      for (const wake of [...waiters]) wake();
    },
    error: (e) => errors.push(e),
  });
  return {
    snapshots,
    errors,
    latest: () => snapshots.at(-1),
    waitFor: (check, what, options = {}) =>
      new Promise<Snapshot>((resolve, reject) => {
        let index = options.from ?? cursor;
        const wake = () => {
          for (; index < snapshots.length; index++) {
            if (check(snapshots[index]!)) {
              cleanup();
              cursor = index + 1;
              resolve(snapshots[index]!);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          const last = snapshots.at(-1);
          reject(
            new Error(
              `timed out waiting for a snapshot where ${what}; last: ${JSON.stringify(summarize(last))}; errors: ${errors.map(String).join('; ')}`,
            ),
          );
        }, options.timeoutMs ?? 30_000);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        waiters.add(wake);
        wake();
      }),
    stop: () => subscription.unsubscribe(),
  };
}

/** Names, states and networks: what a failing assertion should print. */
export function summarize(s: Snapshot | undefined): unknown {
  if (!s) return undefined;
  return {
    containers: s.containers.map(
      (c) => `${c.name} ${c.state}/${c.health} ${Object.keys(c.networks).join(',')}`,
    ),
    networks: s.networks.map((n) => `${n.name} [${n.containerIds.length}]`),
    foreign: s.foreign.map((f) => `${f.type} ${f.name}`),
    missingImages: s.missingImages,
  };
}

/** A fake task id, unique to this run and suite: `ds-<taskId>-<runId>` names stay out of others' way. */
export function fakeTaskId(suite: string): string {
  return `T${testRunId()}${suite}${process.pid}`;
}

export function productLabels(
  owner: string,
  taskId: string,
  runId: number,
  extra: Record<string, string> = {},
): string[] {
  const labels = {
    [Label.owner]: testOwnerId(owner),
    [Label.taskId]: taskId,
    [Label.runId]: String(runId),
    [Label.hashVersion]: '1',
    ...extra,
  };
  return Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
}

export const container = (s: Snapshot | undefined, name: string) =>
  s?.containers.find((c) => c.name === name);
export const network = (s: Snapshot | undefined, name: string) => s?.networks.find((n) => n.name === name);

/** A snapshot without its time, for comparing two observations of the same state. */
export function content(s: Snapshot): Omit<Snapshot, 'time'> {
  const { time: _time, ...rest } = s;
  return rest;
}
