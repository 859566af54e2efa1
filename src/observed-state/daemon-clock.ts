/**
 * The daemon's clock as an event stream needs it: a daemon time no later than the moment the
 * stream is asked for (its `since`: dockerd drops live events older than `since`, so a late one
 * loses events silently), and a bound on the daemon's clock against ours.
 *
 * `/info` is the one call that tells the daemon's time, and the slowest of the light ones (30–50 ms
 * on an idle dockerd, much more under load): on the path to a task's first create, it was a tenth
 * of a one-service task's whole start. So one `DaemonClockSource`, shared by a worker's observers,
 * measures the offset between the daemon's clock and ours once and bounds it on both sides; a later
 * stream takes its time from those bounds at once and measures again once it is open (the
 * stream's owner says when: `event-stream.ts` waits until the task's first creates are out of
 * the way, as an `/info` beside them slowed them). Should that measure show the daemon's clock
 * behind the time the stream was given (the clock was stepped back), the stream may have missed
 * events: it is dropped and opened again, which relists.
 */
import type { DockerApi } from '../docker/client.js';

/**
 * A daemon time and a moment of ours: the stream replays every event from `time`, so a relist that
 * starts after the stream was asked for may take `time` as its own; and the daemon's clock read at
 * most `time` at our `localAt`, so `time - localAt` is at least the daemon's offset from us.
 */
export interface DaemonClock {
  /** RFC 3339, as `/info` gives it. */
  time: string;
  /** Our clock (`Date.now()`) at a moment when the daemon's had not passed `time`. */
  localAt: number;
}

/**
 * A clock for a stream, and when it was estimated, the measure that checks it (false: wrong), to
 * be made once the stream is open: until then it would only hold up the stream's request.
 */
export interface ClockReading {
  clock: DaemonClock;
  check?: () => Promise<boolean>;
}

/** What one `/info` showed: the daemon's clock minus ours lies in [lowMs, highMs]. */
interface OffsetBounds {
  lowMs: number;
  highMs: number;
  /** Our clock when the answer came. */
  at: number;
}

/**
 * Bounds older than this are measured again before a stream is asked for: the two clocks may drift
 * apart (tens of ms an hour on NTP-disciplined hosts; nothing when dockerd shares our kernel).
 */
const MAX_AGE_MS = 15 * 60_000;
/** Bounds wider than this (an `/info` that took long) are not used: the estimate would be early. */
const MAX_SPREAD_MS = 500;
/** Taken off the lower bound, for drift between the measure and its use. */
const MARGIN_MS = 50;

export interface DaemonClockOptions {
  /** Whether a stream may take its time from earlier measures (default true); false: always ask. */
  estimate?: boolean;
  now?: () => number;
}

export class DaemonClockSource {
  private bounds: OffsetBounds | undefined;
  private readonly estimate: boolean;
  private readonly now: () => number;

  constructor(
    private readonly docker: DockerApi,
    options: DaemonClockOptions = {},
  ) {
    this.estimate = options.estimate ?? true;
    this.now = options.now ?? Date.now;
  }

  async read(): Promise<ClockReading> {
    const bounds = this.bounds;
    const now = this.now();
    if (
      this.estimate &&
      bounds &&
      now - bounds.at <= MAX_AGE_MS &&
      bounds.highMs - bounds.lowMs <= MAX_SPREAD_MS
    ) {
      const assumedOffset = bounds.lowMs - MARGIN_MS;
      const timeMs = now + assumedOffset;
      return {
        clock: { time: new Date(timeMs).toISOString(), localAt: timeMs - bounds.highMs },
        check: () =>
          this.measure().then(
            // Wrong only if the daemon's clock, at its latest, is behind what the stream was given.
            // (An answer without a time checks nothing, and the next stream asks.)
            ({ bounds: fresh }) => fresh === undefined || fresh.highMs >= assumedOffset,
            () => {
              // Unchecked: the next stream measures before it is asked for.
              this.bounds = undefined;
              return true;
            },
          ),
      };
    }
    return { clock: (await this.measure()).clock };
  }

  private async measure(): Promise<{ clock: DaemonClock; bounds: OffsetBounds | undefined }> {
    const askedAt = this.now();
    const time = await this.docker.systemTime();
    const answeredAt = this.now();
    const daemonMs = Date.parse(time);
    this.bounds = Number.isNaN(daemonMs)
      ? undefined
      : { lowMs: daemonMs - answeredAt, highMs: daemonMs - askedAt, at: answeredAt };
    return { clock: { time, localAt: askedAt }, bounds: this.bounds };
  }
}
