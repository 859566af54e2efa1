/**
 * One-shot timers owned by something that ends: each runs only while `live()` says so, and
 * `clear()` cancels every one still pending, so that nothing fires after its owner is done.
 */
export class Timers {
  private readonly handles = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly live: () => boolean) {}

  /** Runs `run` once after `ms` (at once for a past time), if the owner is still live then. */
  after(ms: number, run: () => void): void {
    const handle = setTimeout(
      () => {
        this.handles.delete(handle);
        if (this.live()) run();
      },
      Math.max(0, ms),
    );
    this.handles.add(handle);
  }

  clear(): void {
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }
}
