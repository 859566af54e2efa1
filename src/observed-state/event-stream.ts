/**
 * Docker's `/events` stream, kept open: subscribed since a daemon time at or before each connection
 * (`daemon-clock.ts`), framed into events (`frames.ts`), reconnected with backoff when it ends or
 * fails, and watched for stalls of this process, during which dockerd may skip events meant for
 * us. It says what happened to the stream and nothing more: what an event, a loss or a stall
 * means for what the observer knows is `snapshot-cache.ts`'s to decide.
 */
import type { Readable } from 'node:stream';
import type { DockerApi } from '../docker/client.js';
import type { ClockReading, DaemonClock, DaemonClockSource } from './daemon-clock.js';
import { FrameParser, toDockerEvent, type DockerEvent } from './frames.js';
import { backoffDelay, type Backoff } from './retry-delay.js';

/** Network events carry no labels, so the stream is filtered by type only, never by label. */
const EVENT_TYPES = ['container', 'network', 'image'];
const STALL_TICK_MS = 100;

/**
 * `/events?since=` takes Unix time (`seconds[.nanoseconds]`), not RFC 3339; the daemon's clock
 * gives RFC 3339 with nanoseconds, which a JS Date would round to milliseconds.
 */
export function toDockerSince(daemonTime: string): string | undefined {
  const millis = Date.parse(daemonTime);
  if (Number.isNaN(millis)) return undefined;
  const seconds = Math.floor(millis / 1000);
  const fraction = /T\d\d:\d\d:\d\d\.(\d+)/.exec(daemonTime)?.[1] ?? '';
  return `${seconds}.${fraction.padEnd(9, '0').slice(0, 9)}`;
}

export interface EventStreamOptions {
  /** Reconnect backoff. */
  backoff: Backoff;
  /** Source of jitter, in [0, 1). */
  random: () => number;
  /** A stall of this process longer than this, while a stream is open, is reported. */
  stallMs: number;
  /** Where each stream's `since` comes from. */
  clock: DaemonClockSource;
  /** How long after a stream opens its estimated `since` is checked (`DaemonClockSource.read`). */
  clockCheckDelayMs: number;
}

/**
 * What the stream tells its owner. Each is called synchronously from a stream or timer callback,
 * so none may wait on Docker: a subscriber that does not take an event within ~100 ms is skipped.
 */
export interface EventStreamHandlers {
  /** A stream is open; it replays events from `since`, a daemon time no later than when it was asked for. */
  opened(since: DaemonClock): void;
  event(event: DockerEvent): void;
  /** The open stream ended or failed, after its last events were handed over; a reconnect follows. */
  lost(): void;
  /** This process stalled while a stream was open: dockerd may have skipped events meanwhile. */
  stalled(): void;
  /** A failed connection attempt, or why a stream was lost. */
  error(error: unknown): void;
  /** An attempt to open a stream failed (after `error`); another follows with backoff. */
  connectFailed(): void;
}

export class EventStream {
  private stream: Readable | undefined;
  /** Connection attempts so far: an attempt overtaken by a later one (or a close) drops its result. */
  private connection = 0;
  private connectedAt: number | undefined;
  private reconnectAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly docker: DockerApi,
    private readonly options: EventStreamOptions,
    private readonly handlers: EventStreamHandlers,
  ) {}

  open(): void {
    this.watchForStalls();
    void this.connect();
  }

  /** Closes the stream and every timer; nothing is reported after this. */
  close(): void {
    this.closed = true;
    this.connection += 1;
    const open = this.stream;
    this.stream = undefined;
    open?.destroy();
    clearTimeout(this.reconnectTimer);
    clearInterval(this.stallTimer);
    clearTimeout(this.checkTimer);
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    const attempt = ++this.connection;
    const overtaken = () => this.closed || attempt !== this.connection;
    let events: Readable | undefined;
    let reading: ClockReading;
    try {
      reading = await this.options.clock.read();
      if (overtaken()) return;
      const { clock } = reading;
      const since = toDockerSince(clock.time);
      events = await this.docker.events({ ...(since ? { since } : {}), filters: { type: EVENT_TYPES } });
    } catch (error) {
      if (overtaken()) return;
      this.handlers.error(error);
      this.handlers.connectFailed();
      this.scheduleReconnect();
      return;
    }
    if (overtaken()) {
      events.destroy();
      return;
    }
    this.read(events, reading.clock);
    const opened = events;
    const check = reading.check;
    if (!check) return;
    // Later, not at once: `/info` is dockerd's heaviest light call, and at once it ran beside the
    // task's first creates and slowed them (a one-service start by ~10 ms of ~700); 2 s later it
    // still landed in a short task's teardown. A clock that went back is as rare as before and is
    // caught all the same, only later; the reopen relists.
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => {
      this.checkTimer = undefined;
      if (this.stream !== opened) return;
      void check().then((right) => {
        // The stream's `since` may have been ahead of the daemon: events before it were dropped.
        if (!right && this.stream === opened)
          opened.destroy(
            new Error("Docker's clock is behind what its event stream was opened with; reopening it"),
          );
      });
    }, this.options.clockCheckDelayMs);
  }

  /** Hands over the stream's events until it ends or fails, then reports the loss once. */
  private read(current: Readable, clock: DaemonClock): void {
    this.stream = current;
    this.connectedAt = Date.now();
    const parser = new FrameParser();
    const take = (values: unknown[]) => {
      for (const value of values) {
        const event = toDockerEvent(value);
        if (event) this.handlers.event(event);
      }
    };
    current.on('data', (chunk: Buffer | string) => take(parser.push(chunk)));
    const lost = (error?: unknown) => {
      if (this.stream !== current) return;
      this.stream = undefined;
      take(parser.end());
      current.destroy();
      if (this.closed) return;
      this.handlers.lost();
      this.handlers.error(error ?? new Error('Docker event stream ended'));
      this.scheduleReconnect();
    };
    current.on('error', (error) => lost(error));
    current.on('end', () => lost());
    current.on('close', () => lost());
    this.handlers.opened(clock);
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const { backoff, random } = this.options;
    // A connection that stayed up for twice the longest delay earns a fresh backoff, as client-go's
    // reflector resets its backoff after a connection that lasted.
    if (this.connectedAt !== undefined && Date.now() - this.connectedAt >= 2 * backoff.maxMs)
      this.reconnectAttempts = 0;
    this.connectedAt = undefined;
    const delay = backoffDelay(this.reconnectAttempts++, backoff, random);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  /**
   * While this process is blocked it does not read the stream, and dockerd, after buffering a
   * while, silently skips events: a tick that comes late by more than `stallMs` says so.
   */
  private watchForStalls(): void {
    let lastTick = Date.now();
    this.stallTimer = setInterval(() => {
      const now = Date.now();
      if (this.stream !== undefined && now - lastTick > STALL_TICK_MS + this.options.stallMs)
        this.handlers.stalled();
      lastTick = now;
    }, STALL_TICK_MS);
  }
}
