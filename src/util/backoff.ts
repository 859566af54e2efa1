/**
 * The one exponential backoff: `initialMs · 2^step`, capped at `maxMs` (step 0 is the first
 * retry). Every retry in the project (executor, restarts, lists on demand, the observer's
 * reconnects, credential pushes) measures its delay with it.
 */
export function exponentialBackoffMs(initialMs: number, maxMs: number, step: number): number {
  // 2^31 is already past any cap; bounding the exponent keeps the product finite.
  return Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(0, step), 31));
}
