/**
 * What we see in Docker, in our own types. dockerode's types are mapped into these at the edge
 * (`collect.ts`) and go no further.
 */

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
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
  /** Owned containers: our naming and our owner label. */
  containers: ObservedContainer[];
  /** Owned networks: our naming and our owner label. */
  networks: ObservedNetwork[];
  /** Images present locally, for the references the scope asked about. */
  images: ObservedImage[];
  /** References asked about and not present locally. */
  missingImages: string[];
  foreign: ForeignObject[];
}
