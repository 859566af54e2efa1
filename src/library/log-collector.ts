/**
 * A session's log collector: what its services and their proxies printed, bounded and redacted,
 * for `stop()`, for `logs()` on demand and for the tail in a `ServiceStartError`.
 *
 * Docker forgets a container's log when the container is removed, and the reconciler removes a
 * dead container to replace it: a death is read at once, and everything still there is read
 * before teardown. A proxy's log is kept under `<service>/proxy`, apart from its service's.
 */
import type { DockerApi } from '../docker/client.js';
import type { OwnerRef } from '../desired-state/types.js';
import type { ObservedContainer, Snapshot } from '../observed-state/types.js';
import { DEFAULT_TAIL_BYTES, DEFAULT_TAIL_LINES, ServiceLogs, readContainerLog, tailLines } from './logs.js';
import { parseTrackerKey, taskContainers, trackerKey, type ServiceRole } from './phases.js';
import type { StartFailure } from './startup.js';

export interface LogCollectorInit {
  docker: DockerApi;
  owner: OwnerRef;
  /** Bound of each service's (and each proxy's) collected log. */
  maxLogBytes: number;
  /** Redacts every known secret value; applied before a log leaves the collector. */
  scrub: (text: string) => string;
  /** The session's latest snapshot, where the task's current containers are found. */
  latest: () => Snapshot | undefined;
}

/** Where a container's log is kept: a proxy's apart from its service's. */
function logKey(role: ServiceRole, service: string): string {
  return role === 'service' ? service : `${service}/proxy`;
}

export class LogCollector {
  private readonly logs: ServiceLogs;
  /** Reads in flight: what `readAll()` returns after must include a death read just before. */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly init: LogCollectorInit) {
    this.logs = new ServiceLogs(init.maxLogBytes);
  }

  /** Reads a container of the task now (a death: the reconciler may remove it to replace it). */
  read(role: ServiceRole, service: string, containerId: string): Promise<void> {
    const read = readContainerLog(this.init.docker, containerId, this.init.maxLogBytes).then((text) => {
      this.logs.record(logKey(role, service), containerId, text);
    });
    this.pending.add(read);
    void read.finally(() => this.pending.delete(read));
    return read;
  }

  /** Reads the service's current container again, so that `text()` includes what it printed since. */
  async readCurrent(service: string): Promise<void> {
    const container = this.current().get(trackerKey('service', service));
    if (container) await this.read('service', service, container.id);
  }

  /** Reads every container of the task still there, and waits for the reads in flight. */
  async readAll(): Promise<void> {
    const reads: Promise<void>[] = [...this.pending];
    for (const [key, container] of this.current()) {
      const { role, service } = parseTrackerKey(key);
      reads.push(this.read(role, service, container.id));
    }
    await Promise.all(reads);
  }

  /** The service's log so far (every container it had), bounded and redacted. */
  text(service: string): string {
    return this.logs.text(service, this.init.scrub);
  }

  /** Every named service's log (or its proxy's), as `stop()` returns them. */
  texts(services: readonly string[], role: ServiceRole = 'service'): Record<string, string> {
    const logs: Record<string, string> = {};
    for (const service of services) logs[service] = this.logs.text(logKey(role, service), this.init.scrub);
    return logs;
  }

  /**
   * The last lines of the failed container's log, redacted, for a `ServiceStartError`; every other
   * container's log is read too, for the `stop()` that follows. '' when no container is known.
   */
  async tailOf(failure: StartFailure): Promise<string> {
    const containerId =
      failure.containerId ??
      (failure.service !== undefined
        ? this.current().get(trackerKey(failure.role, failure.service))?.id
        : undefined);
    await this.readAll();
    if (!containerId || failure.service === undefined) return '';
    const key = logKey(failure.role, failure.service);
    // By id: the latest snapshot may no longer list it (replaced or removed since the failure was
    // seen). A container already gone reads as '', which must not add an empty capture.
    const text = await readContainerLog(this.init.docker, containerId, this.init.maxLogBytes);
    if (text) this.logs.record(key, containerId, text);
    return tailLines(this.logs.text(key, this.init.scrub), DEFAULT_TAIL_LINES, DEFAULT_TAIL_BYTES);
  }

  /** The task's containers in the latest snapshot, by `trackerKey`. */
  private current(): Map<string, ObservedContainer> {
    const latest = this.init.latest();
    return latest ? taskContainers(latest, this.init.owner) : new Map();
  }
}
