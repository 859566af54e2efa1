/**
 * The observer's retry delays: reconnecting the event stream and retrying a failed batch share
 * one backoff, with jitter so that many observers of one daemon do not retry in lockstep.
 */
import { exponentialBackoffMs } from '../util/backoff.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** 800 ms doubling to 30 s, as client-go's reflector. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 800, maxMs: 30_000 };

/**
 * Delay before retry number `attempt` (0-based): the exponential step capped at `maxMs`, of which
 * the upper half is random ("equal jitter"), so that many observers do not retry in lockstep.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const step = exponentialBackoffMs(backoff.initialMs, backoff.maxMs, attempt);
  return step / 2 + (random() * step) / 2;
}
