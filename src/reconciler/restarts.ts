/**
 * Restart backoff for services that exited while their task still wants them. Pure arithmetic:
 * the clock and the ledger of past restarts are arguments, so the planner stays a function of its
 * inputs and the loop owns the only mutable copy of the ledger.
 *
 * A container never gets a Docker restart policy (dockerd would revive a dead task's proxy after a
 * daemon restart), so every restart is planned here. The key includes the spec hash, as the
 * kubelet's does: a changed spec is a new container and starts with a fresh budget.
 */
import type { NodeId } from '../desired-state/types.js';
import { exponentialBackoffMs } from '../util/backoff.js';

export interface RestartPolicy {
  /** `fail`: the first exit of a service is terminal for the task. */
  mode: 'restart' | 'fail';
  /** Delay before the first restart, measured from the exit; it doubles for each further one. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Restarts allowed per node and spec hash; one more exit past them is a crash loop. */
  maxRestarts: number;
  /**
   * A run that lasted this long (from its start to its exit, or to now for a running container
   * gone unhealthy) was healthy service, not a crash loop: the budget starts afresh (the
   * kubelet's back-off resets after 10 minutes the same way). Absent: never.
   */
  resetAfterMs?: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  mode: 'restart',
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  maxRestarts: 5,
  resetAfterMs: 600_000,
};

/** Restarts done so far, keyed by `restartKey()`. `lastAt`: epoch ms of the last restart. */
export type RestartLedger = Record<string, { count: number; lastAt: number }>;

export function restartKey(node: NodeId, specHash: string): string {
  return `${node}@${specHash}`;
}

/** Delay before restart number `restartsSoFar + 1`: initial · 2^restartsSoFar, capped at the maximum. */
export function backoffDelayMs(policy: RestartPolicy, restartsSoFar: number): number {
  return exponentialBackoffMs(policy.initialBackoffMs, policy.maxBackoffMs, restartsSoFar);
}

export type RestartDecision =
  /** Restart now; `attempt` is 1-based. */
  | { kind: 'due'; attempt: number }
  /** Restart `attempt` becomes due at `until` (epoch ms). */
  | { kind: 'backoff'; attempt: number; until: number }
  /** The budget is spent (or the mode forbids restarts): a crash loop. */
  | { kind: 'exhausted'; used: number };

/**
 * Whether an exited container may be restarted at `now`. The delay is measured from the last
 * restart the ledger knows of, else from the container's exit (`finishedAt`); with neither known
 * the restart is due at once. `ranMs`, how long the run that ended lasted, resets the budget
 * when it reaches `policy.resetAfterMs`.
 */
export function decideRestart(
  policy: RestartPolicy,
  ledgerEntry: { count: number; lastAt: number } | undefined,
  finishedAt: number | undefined,
  now: number,
  ranMs?: number,
): RestartDecision {
  // A run of unknown length, or a policy without resetAfterMs, never resets the budget.
  const reset = (ranMs ?? -Infinity) >= (policy.resetAfterMs ?? Infinity);
  const entry = reset ? undefined : ledgerEntry;
  const used = entry?.count ?? 0;
  if (policy.mode === 'fail' || used >= policy.maxRestarts) return { kind: 'exhausted', used };
  const attempt = used + 1;
  const since = entry?.lastAt ?? finishedAt;
  if (since === undefined || Number.isNaN(since)) return { kind: 'due', attempt };
  const until = since + backoffDelayMs(policy, used);
  return now >= until ? { kind: 'due', attempt } : { kind: 'backoff', attempt, until };
}

/**
 * The ledger after a restart of `key` at `at` (a new object; the argument is not changed):
 * `attempt`, the restart's number as the planner decided it (1 after a budget reset), else one
 * more than the ledger had.
 */
export function recordRestart(
  ledger: RestartLedger,
  key: string,
  at: number,
  attempt?: number,
): RestartLedger {
  const count = attempt ?? (ledger[key]?.count ?? 0) + 1;
  return { ...ledger, [key]: { count, lastAt: at } };
}
