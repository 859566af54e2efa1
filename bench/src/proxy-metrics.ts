/**
 * What each real proxy costs, sampled after an up (outside its timing) through the bench's own
 * Docker connection, never the counted one:
 *   start → healthy    Docker's `start` and first `health_status: healthy` events (daemon clock),
 *                      only for an image without a ready line (its health check is its readiness)
 *   start → listening  the daemon's timestamp on the proxy's "listening" log line (daemon clock);
 *                      dockerd sends `start` once containerd says the process runs, and under load
 *                      the proxy may have printed before that, so a sample can be negative
 *   VmRSS, Pss         of the proxy's main process (node), from the host's /proc/<pid>/status and
 *                      /proc/<pid>/smaps_rollup; the health check's short-lived execs are not
 *                      counted. Pss shares each page among the processes mapping it (the node
 *                      binary and libraries of the one image), so it is what one more proxy costs;
 *                      VmRSS counts every shared page in full.
 *   Private            the pages only this process maps (Private_Clean + Private_Dirty, the USS):
 *                      what its exit frees, and the part of Pss that no proxy shares.
 */
import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { withDeadline } from './common.js';
import type { DockerApi } from '../../src/docker/client.js';
import type { HealthWatch } from './health-watch.js';
import { waitReadyLines } from './ready-lines.js';

export interface ProxySample {
  startToHealthyMs?: number;
  startToListeningMs?: number;
  vmRssKiB?: number;
  pssKiB?: number;
  privateKiB?: number;
}

function procKiB(path: string, field: string): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(path, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The memory of a host process: VmRSS, Pss and its private pages, in KiB. */
export function memoryOf(pid: number): { vmRssKiB?: number; pssKiB?: number; privateKiB?: number } {
  const rollup = `/proc/${pid}/smaps_rollup`;
  const clean = procKiB(rollup, 'Private_Clean');
  const dirty = procKiB(rollup, 'Private_Dirty');
  return {
    vmRssKiB: procKiB(`/proc/${pid}/status`, 'VmRSS'),
    pssKiB: procKiB(rollup, 'Pss'),
    ...(clean === undefined || dirty === undefined ? {} : { privateKiB: clean + dirty }),
  };
}

/** The daemon's time (epoch ms) of the first log line that says the proxy listens. */
async function listeningAt(container: Docker.Container): Promise<number | undefined> {
  const logs = (await container.logs({ stdout: true, stderr: true, timestamps: true, tail: 50 })) as Buffer;
  // Multiplexed frames: an 8-byte header, then "<RFC 3339 nano> <line>".
  const match = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z taskcluster-proxy listening/.exec(
    logs.toString('latin1'),
  );
  if (!match) return undefined;
  return Date.parse(`${match[1]}${(match[2] ?? '').slice(0, 4)}Z`);
}

/**
 * Waits (up to `timeoutMs`) until every proxy is ready (printed its ready line, or else healthy),
 * then samples each.
 */
export async function sampleProxies(
  plain: DockerApi,
  docker: Docker,
  watch: HealthWatch,
  names: readonly string[],
  readyLine: string | undefined,
  timeoutMs: number,
): Promise<ProxySample[]> {
  if (readyLine) await waitReadyLines(plain, names, readyLine, timeoutMs);
  else await watch.waitHealthy(names, timeoutMs);
  return Promise.all(
    names.map(async (name) => {
      const container = docker.getContainer(name);
      const info = await withDeadline(`inspect ${name}`, timeoutMs, container.inspect());
      const { start, healthy } = watch.eventsOf(name);
      const listening = await withDeadline(`logs of ${name}`, timeoutMs, listeningAt(container));
      return {
        ...(start && healthy && !readyLine ? { startToHealthyMs: healthy.daemonMs - start.daemonMs } : {}),
        ...(start && listening !== undefined ? { startToListeningMs: listening - start.daemonMs } : {}),
        ...(info.State.Pid > 0 ? memoryOf(info.State.Pid) : {}),
      };
    }),
  );
}
