/**
 * Idle cost: the Docker API calls the library makes while a task's services are converged and
 * nothing happens, counted through a DockerApi wrapper. Calls come in bursts; a burst that reads
 * the daemon time or lists containers is a relist (the observer's periodic safety net), anything
 * else is work the library should not be doing while nothing changes.
 */
import type { CallRecord } from './stats.js';

export interface IdleResult {
  seconds: number;
  services: number;
  calls: number;
  callsPerMinute: number;
  relists: number;
  relistsPerMinute: number;
  /** Calls outside relist bursts, per minute (the target is zero). */
  otherCallsPerMinute: number;
  byMethod: Record<string, number>;
  otherByMethod: Record<string, number>;
}

/** Calls closer than this belong to one burst. */
const BURST_GAP_MS = 250;

export function idleReport(calls: readonly CallRecord[], seconds: number, services: number): IdleResult {
  const bursts: CallRecord[][] = [];
  for (const call of calls) {
    const last = bursts[bursts.length - 1];
    if (last && call.at - last[last.length - 1]!.at <= BURST_GAP_MS) last.push(call);
    else bursts.push([call]);
  }
  const isRelist = (burst: CallRecord[]): boolean =>
    burst.some((c) => c.method === 'systemTime' || c.method === 'listContainers');
  const byMethod: Record<string, number> = {};
  const otherByMethod: Record<string, number> = {};
  let relists = 0;
  let other = 0;
  for (const burst of bursts) {
    const relist = isRelist(burst);
    if (relist) relists++;
    for (const call of burst) {
      byMethod[call.method] = (byMethod[call.method] ?? 0) + 1;
      if (!relist) {
        other++;
        otherByMethod[call.method] = (otherByMethod[call.method] ?? 0) + 1;
      }
    }
  }
  const perMinute = (count: number): number => (count * 60) / seconds;
  return {
    seconds,
    services,
    calls: calls.length,
    callsPerMinute: perMinute(calls.length),
    relists,
    relistsPerMinute: perMinute(relists),
    otherCallsPerMinute: perMinute(other),
    byMethod,
    otherByMethod,
  };
}
