/**
 * What we see in Docker, in our own types. dockerode's types are mapped into these at the edge
 * (`collect.ts`) and go no further; a known effect carries the options we sent Docker, in its own
 * shape, to be mapped the same way.
 */
import type { ContainerCreateOptions, NetworkCreateOptions } from '../docker/client.js';

/**
 * Docker's container states, and `unknown` for a status this version does not know (a newer
 * engine's): such a container is waited on, never taken for dead, which would spend its restart
 * budget or replace it.
 */
export type ContainerState =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead' | 'unknown';
export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ObservedEndpoint {
  networkId: string;
  /** Sorted, without the short container id that Docker adds on every user-defined network. */
  aliases: string[];
  ipAddress: string;
}

export interface ObservedContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** The reference it was created from. */
  image: string;
  imageId: string;
  state: ContainerState;
  exitCode: number;
  oomKilled: boolean;
  health: HealthStatus;
  /** Output of the last health probe, when there is one. */
  lastHealthOutput?: string;
  /** Keyed by network name. */
  networks: Record<string, ObservedEndpoint>;
  /** ISO timestamps; undefined when Docker reports its zero time. */
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface ObservedNetwork {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** Ids of the containers attached to it (ours or not). */
  containerIds: string[];
}

export interface ObservedImage {
  ref: string;
  id: string;
  repoDigests: string[];
  labels: Record<string, string>;
  /**
   * The image's own health check (a `HEALTHCHECK` other than `NONE`): Docker runs it in a
   * container whose create options set none. Absent: the image has none.
   */
  healthCheck?: true;
}

/** An object whose name says ours and labels do not, or the other way round: never touched. */
export interface ForeignObject {
  type: 'container' | 'network';
  id: string;
  name: string;
  reason: string;
}

export interface Snapshot {
  /** Daemon time of the observation, ISO 8601. */
  time: string;
  /**
   * The highest `RefreshRequest.token` this snapshot reflects: every object named by that request
   * and by every earlier one was looked at after the request was made (0: none yet). Absent from
   * sources that take no requests.
   */
  refreshed?: number;
  /** Owned containers: our naming and our owner label. */
  containers: ObservedContainer[];
  /** Owned networks: our naming and our owner label. */
  networks: ObservedNetwork[];
  /** Images present locally, for the references the scope asked about. */
  images: ObservedImage[];
  /** References asked about and not present locally. */
  missingImages: string[];
  foreign: ForeignObject[];
  /**
   * The networks named by the scope's `externalNetworks` that exist (not ours: never acted on).
   * Absent when the scope names none. Looked at on every relist, not on events: dockerd's
   * network events carry no labels or names to filter on, and such a network is made before
   * the task starts and outlives it.
   */
  external?: ObservedNetwork[];
}

/**
 * Asks an observer to look again: at the objects named (by Docker id), or at everything when none
 * is. The loop names what an action it ran has changed, so that it sees the action's effect in
 * one inspect instead of a relist of the task.
 */
export interface RefreshRequest {
  containers?: readonly string[];
  networks?: readonly string[];
  images?: boolean;
  /** Increasing; echoed by the first snapshot that reflects this request (`Snapshot.refreshed`). */
  token?: number;
  /**
   * Docker's own answers to actions that succeeded (`KnownEffect`): an observer that folds them
   * into what it knows needs no inspect to see them; one that cannot fold one looks at its object.
   */
  effects?: readonly KnownEffect[];
  /**
   * Objects an action now in flight is changing: an observer holds their events until the action's
   * `release`, then looks only at what its effect does not explain (its own events echo it).
   */
  hold?: HeldObjects;
  /** The hold (`HeldObjects.key`) whose action has settled, with this request's effects or none. */
  release?: number;
  /**
   * With a token and nothing named: the token comes back once the observer's view is as fresh as
   * a relist would make it. An observer whose event stream has been open since its last relist is
   * (every change since has marked its object), and echoes it without listing again.
   */
  current?: boolean;
}

/** What an action in flight is changing, by Docker id or, for what it is creating, by name. */
export interface HeldObjects {
  /** Unique to the action's attempt (a process-wide sequence). */
  key: number;
  containers?: readonly string[];
  containerNames?: readonly string[];
  networks?: readonly string[];
  networkNames?: readonly string[];
}

/**
 * The effect of an action Docker answered with success, as certain as an inspect right after it:
 * a created object is what the options sent describe (Docker applies them or refuses the call), a
 * 204 start means running as of then, a 2xx or 404 remove means gone (Docker never reuses an id).
 * Options carry no `Env`: nothing observed reads it, and a proxy's holds its credentials.
 */
export type KnownEffect =
  | { kind: 'network-created'; networkId: string; options: NetworkCreateOptions }
  | { kind: 'container-created'; containerId: string; options: Omit<ContainerCreateOptions, 'Env'> }
  | { kind: 'container-started'; containerId: string }
  | { kind: 'container-removed'; containerId: string }
  | { kind: 'network-removed'; networkId: string };

export function isTargeted(request: RefreshRequest): boolean {
  return (request.containers?.length ?? 0) + (request.networks?.length ?? 0) > 0 || request.images === true;
}

/**
 * A request that asks for nothing to be looked at: it only holds, releases or folds. A relist
 * per request (`listOnDemand`) must not take one for a bare request, which asks for a relist.
 */
export function isNoticeOnly(request: RefreshRequest): boolean {
  return (
    request.token === undefined &&
    !isTargeted(request) &&
    (request.hold !== undefined || request.release !== undefined || (request.effects?.length ?? 0) > 0)
  );
}
