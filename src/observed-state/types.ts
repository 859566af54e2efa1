/**
 * What we see in Docker, in our own types. dockerode's types are mapped into these at the edge
 * (`collect.ts`) and go no further; a known effect carries the options we sent Docker, in its own
 * shape, to be mapped the same way.
 */

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
