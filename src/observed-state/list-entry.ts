/**
 * Whether a container's list entry (`GET /containers/json`) agrees with what the cache holds of it,
 * so that a safety-net relist can keep the cached value instead of inspecting the container. Pure.
 *
 * The list carries the state, the id of the image, the labels, the name, each network's id and
 * address, and a `Status` text that dockerd 20.10 renders from the container's state (moby's
 * `State.String()`):
 *
 *   `Up 3 seconds`, `Up 3 seconds (healthy)`, `Up 3 seconds (health: starting)`,
 *   `Up 3 seconds (Paused)`, `Restarting (1) 3 seconds ago`, `Exited (137) 3 seconds ago`,
 *   `Created`, `Removal In Progress`, `Dead`
 *
 * with durations in go-units' `HumanDuration` wording. It does not carry the aliases, the OOM
 * flag or the health probe's output: those are learnt at the container's next inspect, which a
 * change of its state, health or networks brings, and at the next full relist.
 *
 * Every comparison errs towards an inspect: a text this code cannot read, a state it does not
 * read from the list (paused, restarting, unknown), a run or an exit it cannot place in time.
 */
import type { ContainerSummary } from '../docker/client.js';
import { containerName } from './map.js';
import type { HealthStatus, ObservedContainer, ObservedEndpoint } from './types.js';

/** A duration as `HumanDuration` rendered it: it was at least `minMs` and less than `maxMs`. */
export interface Span {
  minMs: number;
  maxMs: number;
}

/** What a `Status` text says, for the states whose text this code reads. */
export type ListedStatus =
  | { state: 'running'; up: Span; health: HealthStatus }
  | { state: 'exited'; exitCode: number; ago: Span }
  | { state: 'created' | 'removing' | 'dead' };

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The span a `HumanDuration` text stands for, or undefined for one it never renders. go-units
 * rounds hours to the nearest (v0.4) or down (v0.3), and moved the weeks/months boundary between
 * versions: from hours on, each span is the union of both readings. A negative duration (a start
 * time ahead of the clock that renders it) reads `Less than a second`.
 */
export function parseHumanDuration(text: string): Span | undefined {
  if (text === 'Less than a second') return { minMs: -Infinity, maxMs: SECOND };
  if (text === 'About a minute') return { minMs: MINUTE, maxMs: 2 * MINUTE };
  if (text === 'About an hour') return { minMs: HOUR, maxMs: 2 * HOUR };
  const match = /^(\d+) (second|minute|hour|day|week|month|year)s?$/.exec(text);
  if (!match) return undefined;
  const n = Number(match[1]);
  switch (match[2]) {
    case 'second':
      return n < 60 ? { minMs: n * SECOND, maxMs: (n + 1) * SECOND } : undefined;
    case 'minute':
      return n < 60 ? { minMs: n * MINUTE, maxMs: (n + 1) * MINUTE } : undefined;
    case 'hour':
      return { minMs: (n - 0.5) * HOUR, maxMs: (n + 1) * HOUR };
    case 'day':
      return { minMs: n * DAY - 0.5 * HOUR, maxMs: (n + 1) * DAY };
    case 'week':
      return { minMs: 7 * n * DAY - 0.5 * HOUR, maxMs: 7 * (n + 1) * DAY };
    case 'month':
      return { minMs: 30 * n * DAY - 0.5 * HOUR, maxMs: 30 * (n + 1) * DAY };
    default:
      return { minMs: 365 * n * DAY, maxMs: 365 * (n + 1) * DAY };
  }
}

/** Reads a list entry's `Status`; undefined for a text (or a state) this code does not read. */
export function parseListStatus(status: string): ListedStatus | undefined {
  if (status === 'Created') return { state: 'created' };
  if (status === 'Removal In Progress') return { state: 'removing' };
  if (status === 'Dead') return { state: 'dead' };
  const up = /^Up (.+?)(?: \((healthy|unhealthy|health: starting)\))?$/.exec(status);
  if (up) {
    // `Up 3 seconds (Paused)` does not parse as a duration and ends here, as it should.
    const span = parseHumanDuration(up[1]!);
    if (!span) return undefined;
    const health: HealthStatus =
      up[2] === undefined ? 'none' : up[2] === 'health: starting' ? 'starting' : (up[2] as HealthStatus);
    return { state: 'running', up: span, health };
  }
  const exited = /^Exited \((-?\d+)\) (.+) ago$/.exec(status);
  if (exited) {
    const ago = parseHumanDuration(exited[2]!);
    return ago ? { state: 'exited', exitCode: Number(exited[1]), ago } : undefined;
  }
  return undefined;
}

export interface ListContext {
  /** Daemon time (ms) taken before the list was asked for: the list was rendered at or after it. */
  listedAfterMs: number;
  /**
   * For a cached running container without a start time (a start folded from Docker's answer):
   * a daemon time (ms) at which that run had already begun.
   */
  runningByMs?: number;
}

export type ListVerdict =
  /** The cached value stands; `container` is it, or it with what the list adds (an address). */
  { kind: 'agrees'; container: ObservedContainer } | { kind: 'inspect'; reason: string };

/**
 * Compares a list entry with the cached container of the same id. Agreement is what the list can
 * show of a container that changed in none of its ways since the cache learnt it; any difference
 * asks for an inspect, with the reason.
 */
export function compareListed(
  summary: ContainerSummary,
  cached: ObservedContainer,
  context: ListContext,
): ListVerdict {
  const inspect = (reason: string): ListVerdict => ({ kind: 'inspect', reason });
  const listedState = summary.State as string | undefined;
  if (listedState !== cached.state) return inspect(`state ${cached.state}→${String(listedState)}`);
  const listed = parseListStatus(summary.Status ?? '');
  if (!listed || listed.state !== listedState) return inspect(`status ${JSON.stringify(summary.Status)}`);
  if (summary.ImageID !== cached.imageId) return inspect('image id');
  if (listedName(summary) !== cached.name) return inspect('name');
  if (!sameRecord(summary.Labels ?? {}, cached.labels)) return inspect('labels');

  if (Number.isNaN(context.listedAfterMs)) return inspect('no daemon time');
  const networks = compareNetworks(summary, cached.networks);
  if (networks === undefined) return inspect('networks');

  if (listed.state === 'running') {
    if (listed.health !== cached.health) return inspect(`health ${cached.health}→${listed.health}`);
    // The run the cache holds began by `runStart`: had it gone on, the list would show it up at
    // least `listedAfterMs - runStart`. Shorter means it ended and a new run began since.
    const runStart = cached.startedAt !== undefined ? Date.parse(cached.startedAt) : context.runningByMs;
    if (runStart === undefined || Number.isNaN(runStart)) return inspect('start time unknown');
    if (listed.up.maxMs <= context.listedAfterMs - runStart) return inspect('restarted');
  } else if (listed.state === 'exited') {
    if (listed.exitCode !== cached.exitCode)
      return inspect(`exit code ${cached.exitCode}→${listed.exitCode}`);
    const finished = cached.finishedAt !== undefined ? Date.parse(cached.finishedAt) : Number.NaN;
    if (Number.isNaN(finished)) return inspect('finish time unknown');
    if (listed.ago.maxMs <= context.listedAfterMs - finished) return inspect('exited again');
  }
  return {
    kind: 'agrees',
    container: networks === cached.networks ? cached : { ...cached, networks },
  };
}

/**
 * The cached endpoints if the list shows the same networks (by name, id and address), else
 * undefined. A started container folded from Docker's answer has no address yet: the list's is
 * taken (the inspect would show the same), in a copy.
 */
function compareNetworks(
  summary: ContainerSummary,
  cached: Record<string, ObservedEndpoint>,
): Record<string, ObservedEndpoint> | undefined {
  const listed = (summary.NetworkSettings?.Networks ?? {}) as Record<
    string,
    { NetworkID?: string; IPAddress?: string } | undefined
  >;
  const names = Object.keys(listed).sort();
  if (names.join('\0') !== Object.keys(cached).sort().join('\0')) return undefined;
  let merged: Record<string, ObservedEndpoint> | undefined;
  for (const name of names) {
    const endpoint = cached[name]!;
    const networkId = listed[name]?.NetworkID ?? '';
    const ipAddress = listed[name]?.IPAddress ?? '';
    if (networkId !== endpoint.networkId) return undefined;
    if (ipAddress === endpoint.ipAddress) continue;
    if (endpoint.ipAddress !== '') return undefined;
    merged ??= { ...cached };
    merged[name] = { ...endpoint, ipAddress };
  }
  return merged ?? cached;
}

/** A container's own name; other entries of `Names` are legacy link aliases (`/other/alias`). */
export function listedName(summary: ContainerSummary): string {
  const names = summary.Names ?? [];
  const own = names.find((n) => n.lastIndexOf('/') === 0) ?? names[0] ?? '';
  return containerName(own);
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
