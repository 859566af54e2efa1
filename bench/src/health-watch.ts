/**
 * The bench's own view of Docker's `health_status: healthy` and `start` events, on a connection of
 * its own (not counted against the library): the floor's ready signal, the reference point of the
 * readiness lag of every other variant (Docker's event time, and when this process received it),
 * and each proxy's start-to-healthy time by Docker's clock.
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { withDeadline } from './common.js';

export interface HealthyEvent {
  /** Daemon clock, epoch ms (from `timeNano`). */
  daemonMs: number;
  /** This process's clock when the event arrived, epoch ms. */
  receivedMs: number;
}

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class HealthWatch {
  private readonly healthy = new Map<string, HealthyEvent>();
  private readonly started = new Map<string, HealthyEvent>();
  private readonly waiters = new Set<() => void>();
  private stream: Readable | undefined;
  private failure: Error | undefined;

  constructor(private readonly docker: Docker) {}

  async start(timeoutMs: number): Promise<void> {
    // The deadline covers connecting only: the stream itself stays open for the whole run.
    const stream = (await withDeadline(
      'subscribing to Docker events',
      timeoutMs,
      this.docker.getEvents({
        filters: JSON.stringify({ type: ['container'], event: ['health_status', 'start'] }),
      }),
    )) as unknown as Readable;
    this.stream = stream;
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      const receivedMs = nowMs();
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) this.onLine(line, receivedMs);
      }
    });
    const ended = (error?: Error): void => {
      this.failure ??= error ?? new Error('the Docker event stream ended');
      for (const wake of this.waiters) wake();
    };
    stream.on('error', ended);
    stream.on('end', () => ended());
  }

  private onLine(line: string, receivedMs: number): void {
    let event: {
      Action?: string;
      status?: string;
      timeNano?: number;
      Actor?: { Attributes?: { name?: string } };
    };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    const action = event.Action ?? event.status ?? '';
    const name = event.Actor?.Attributes?.name;
    const daemonMs = (event.timeNano ?? receivedMs * 1e6) / 1e6;
    if (name && action === 'start') {
      if (!this.started.has(name)) this.started.set(name, { daemonMs, receivedMs });
      return;
    }
    if (
      !name ||
      !action.startsWith('health_status') ||
      !action.endsWith('healthy') ||
      action.includes('unhealthy')
    )
      return;
    if (!this.healthy.has(name)) {
      this.healthy.set(name, { daemonMs, receivedMs });
      for (const wake of this.waiters) wake();
    }
  }

  /** The first healthy event of each name, once all have one. */
  async waitHealthy(names: readonly string[], timeoutMs: number): Promise<HealthyEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (names.every((n) => this.healthy.has(n))) return names.map((n) => this.healthy.get(n)!);
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) {
        const missing = names.filter((n) => !this.healthy.has(n));
        throw new Error(
          `no healthy event within ${timeoutMs} ms for ${missing.length} of ${names.length} containers`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.waiters;
        waiters.add(done);
      });
    }
  }

  /** The latest healthy event among `names` seen so far, for names that have one. */
  lastHealthy(names: readonly string[]): HealthyEvent | undefined {
    let last: HealthyEvent | undefined;
    for (const name of names) {
      const e = this.healthy.get(name);
      if (e && (!last || e.daemonMs > last.daemonMs)) last = e;
    }
    return last;
  }

  /** The first start and healthy events of a container, where seen. */
  eventsOf(name: string): { start?: HealthyEvent; healthy?: HealthyEvent } {
    return { start: this.started.get(name), healthy: this.healthy.get(name) };
  }

  /** Names whose healthy event was seen; for variants that name containers themselves. */
  namesMatching(predicate: (name: string) => boolean): string[] {
    return [...this.healthy.keys()].filter(predicate);
  }

  stop(): void {
    this.stream?.destroy();
  }
}
