/**
 * Readiness an image declares by a line of its log: a container whose image carries the label
 * `READY_LINE_LABEL` is ready once, since its last start, it printed a line that contains the
 * label's value, and as long as Docker does not call it unhealthy.
 *
 * Why: Docker 20.10 runs a health check's first probe one interval after the start and then every
 * interval for the container's whole life, so a fast first answer costs a probe (an exec: ~50 ms of
 * CPU across runc, containerd and dockerd, measured here) every second forever. Thirty proxies
 * probing every second took ~1.5 of this machine's 2 cores, and ten tasks of three services never
 * became ready. The proxy image says "listening" on its own the moment it listens; it declares that
 * line here and keeps a slow health check for liveness only.
 *
 * One `logs?follow=1` call per container start, closed once the line is seen (or the container
 * stops): no polling. The label is outside our own namespace on purpose: an image carrying
 * `org.taskcluster.docker-services.*` is refused (it could pose as ours), and this one only
 * speaks for the image's own readiness.
 */
import type { Readable } from 'node:stream';
import type { DockerApi } from '../docker/client.js';
import type { ObservedContainer, Snapshot } from './types.js';

export const READY_LINE_LABEL = 'org.taskcluster.ready-log-line';

/** The longest line kept while looking for the ready text: a longer one is searched in pieces. */
const MAX_LINE_BYTES = 64 * 1024;

/**
 * Docker's framing of a log without a TTY: an 8-byte header (stream, 3 zero bytes, big-endian
 * length) before each frame. Fed chunks as they come; hands on each frame's payload.
 */
export class LogFrames {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onPayload: (payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    while (offset + 8 <= this.pending.length) {
      const size = this.pending.readUInt32BE(offset + 4);
      if (offset + 8 + size > this.pending.length) break;
      this.onPayload(this.pending.subarray(offset + 8, offset + 8 + size));
      offset += 8 + size;
    }
    this.pending = this.pending.subarray(offset);
  }
}

/** Finds `text` in a log given as payload pieces, within a line (a piece may end mid-line). */
export class LineMatcher {
  private line = '';

  constructor(private readonly text: string) {}

  /** True once a line seen so far contains the text. */
  push(payload: Buffer): boolean {
    const lines = (this.line + payload.toString('utf8')).split('\n');
    this.line = lines.pop()!;
    if (lines.some((line) => line.includes(this.text))) return true;
    if (this.line.includes(this.text)) return true;
    if (this.line.length > MAX_LINE_BYTES) this.line = this.line.slice(-this.text.length);
    return false;
  }
}

/**
 * Docker's `startedAt` (RFC 3339, nanoseconds) as the `since` of a logs call: dockerd 20.10 takes
 * only Unix seconds there (`seconds.nanoseconds`), and answers 400 to RFC 3339.
 */
export function unixSince(iso: string): string {
  const match = /^(.*?)(?:\.(\d{1,9}))?Z$/.exec(iso);
  const seconds = match ? Date.parse(`${match[1]}Z`) / 1000 : Number.NaN;
  if (!Number.isInteger(seconds)) return '0';
  return `${seconds}.${(match![2] ?? '').padEnd(9, '0')}`;
}

/**
 * The one rule of a ready line: a running container whose image declares one is `healthy` once it
 * printed the line in this run (unless Docker says unhealthy), and `starting` until then, even
 * without a health check. Docker's health stands for every other container.
 */
function withReadiness(container: ObservedContainer, printedInRun: boolean): ObservedContainer {
  if (
    container.state !== 'running' ||
    !container.labels[READY_LINE_LABEL] ||
    container.health === 'healthy' ||
    container.health === 'unhealthy'
  )
    return container;
  if (printedInRun) return { ...container, health: 'healthy' };
  return container.health === 'none' ? { ...container, health: 'starting' } : container;
}

/** Which run of a container: its `startedAt`, or '' for a folded first start not yet inspected. */
function runOf(container: ObservedContainer): string {
  return container.startedAt ?? '';
}

interface Watch {
  startedAt: string;
  stream?: Readable;
  closed: boolean;
}

export interface ReadyLineOptions {
  /** A line was seen: the snapshot should show it. */
  changed: () => void;
  /** Must not throw. */
  reportError: (error: unknown) => void;
}

/** Watches the logs of the running containers that declare a ready line; see the module comment. */
export class ReadyLines {
  private readonly watches = new Map<string, Watch>();
  /**
   * Per container, the start (`startedAt`) in which it printed its ready line; '' for a start the
   * observer folded from its own start call, whose time no answer carried (`fold.ts`): only a
   * container that never ran is folded so, and the first time an inspect then brings is that run.
   */
  private readonly seen = new Map<string, string>();
  /**
   * Containers whose log cannot be read (a logging driver without reads, such as `none` or
   * `syslog`): their readiness is Docker's health alone.
   */
  private readonly unreadable = new Set<string>();
  private closed = false;

  constructor(
    private readonly docker: DockerApi,
    private readonly options: ReadyLineOptions,
  ) {}

  /**
   * `container` as readiness sees it: Docker's health, except that a running container whose
   * image declares a ready line is `healthy` once it printed the line in this run (unless Docker
   * says unhealthy), and `starting` until then even without a health check.
   */
  present(container: ObservedContainer): ObservedContainer {
    if (this.unreadable.has(container.id)) return container;
    return withReadiness(container, this.printedInRun(container));
  }

  /**
   * Follows the log of each running container that declares a ready line and has not printed it
   * in its current run; stops following the others. Called with everything the cache holds.
   */
  sync(cached: Iterable<ObservedContainer>): void {
    if (this.closed) return;
    // Read twice below: an iterator (the cache's `values()`) would be empty the second time.
    const containers = [...cached];
    const wanted = new Map<string, ObservedContainer>();
    for (const c of containers) {
      if (
        c.state === 'running' &&
        c.labels[READY_LINE_LABEL] &&
        !this.unreadable.has(c.id) &&
        !this.printedInRun(c)
      )
        wanted.set(c.id, c);
      // The folded start's run, its time now known.
      else if (this.seen.get(c.id) === '' && c.startedAt !== undefined) this.seen.set(c.id, c.startedAt);
    }
    for (const [id, watch] of this.watches)
      if (!wanted.has(id) || runOf(wanted.get(id)!) !== watch.startedAt) this.stop(id, watch);
    for (const [id, c] of wanted) if (!this.watches.has(id)) this.follow(c);
    // What no container of the cache is any more is forgotten (ids are never reused).
    const known = new Set(containers.map((c) => c.id));
    for (const id of this.seen.keys()) if (!known.has(id)) this.seen.delete(id);
    for (const id of this.unreadable) if (!known.has(id)) this.unreadable.delete(id);
  }

  close(): void {
    this.closed = true;
    for (const [id, watch] of this.watches) this.stop(id, watch);
  }

  private follow(container: ObservedContainer): void {
    const { id } = container;
    const startedAt = runOf(container);
    const text = container.labels[READY_LINE_LABEL]!;
    const watch: Watch = { startedAt, closed: false };
    this.watches.set(id, watch);
    const done = (): void => {
      if (this.watches.get(id) === watch) this.watches.delete(id);
    };
    // A folded first start has no time yet: its whole log is this run's.
    this.docker.followLogs(id, startedAt === '' ? '0' : unixSince(startedAt)).then(
      (stream) => {
        if (watch.closed) {
          stream.destroy();
          return;
        }
        watch.stream = stream;
        const matcher = new LineMatcher(text);
        const frames = new LogFrames((payload) => {
          if (watch.closed || !matcher.push(payload)) return;
          this.seen.set(id, startedAt);
          this.stop(id, watch);
          this.options.changed();
        });
        stream.on('data', (chunk: Buffer) => frames.push(chunk));
        // Ended without the line: the container stopped; a new start is a new watch (`sync`).
        stream.on('end', done);
        stream.on('close', done);
        stream.on('error', (error) => {
          done();
          if (!watch.closed) this.options.reportError(error);
        });
      },
      (error: unknown) => {
        done();
        if (watch.closed) return;
        // 501: the logging driver cannot be read (dockerd 20.10 for `none`, `syslog`, …): no line
        // will ever come this way.
        if ((error as { statusCode?: number }).statusCode === 501) {
          this.unreadable.add(id);
          this.options.changed();
        }
        this.options.reportError(error);
      },
    );
  }

  private printedInRun(container: ObservedContainer): boolean {
    const run = this.seen.get(container.id);
    return run !== undefined && (run === '' || run === runOf(container));
  }

  private stop(id: string, watch: Watch): void {
    watch.closed = true;
    watch.stream?.destroy();
    if (this.watches.get(id) === watch) this.watches.delete(id);
  }
}

/**
 * A one-shot snapshot (`plan`, `status`) as the live observer would show it: each running
 * container that declares a ready line, and that Docker does not already call healthy or
 * unhealthy, is healthy if its log since its start holds the line. One logs call per such
 * container; one that cannot be read is left as Docker says.
 */
export async function withReadyLines(docker: DockerApi, snapshot: Snapshot): Promise<Snapshot> {
  const printed = new Set<string>();
  const unreadable = new Set<string>();
  await Promise.all(
    snapshot.containers.map(async (c) => {
      const text = c.labels[READY_LINE_LABEL];
      if (!text || c.state !== 'running' || c.startedAt === undefined) return;
      if (c.health === 'healthy' || c.health === 'unhealthy') return;
      try {
        const log = await docker.containerLogs(c.id, { since: unixSince(c.startedAt) });
        if (new LineMatcher(text).push(Buffer.from(log, 'utf8'))) printed.add(c.id);
      } catch {
        unreadable.add(c.id);
      }
    }),
  );
  return {
    ...snapshot,
    containers: snapshot.containers.map((c) =>
      unreadable.has(c.id) ? c : withReadiness(c, printed.has(c.id)),
    ),
  };
}
