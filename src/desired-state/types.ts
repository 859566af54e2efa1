/**
 * The desired-state graph: plain data, compiled from a task's `payload.services` by `compile()`.
 * Nothing here talks to Docker; the reconciler diffs this against a `Snapshot`.
 */

import type { ImageSource } from './image-source.js';

/** Stable id of a node in the graph, e.g. `network/task`, `container/service/db`. */
export type NodeId = string;

/** Who owns a graph: every object of it carries these as labels. */
export interface OwnerRef {
  /** The worker's id; garbage collection never looks past it. */
  ownerId: string;
  taskId: string;
  runId: number;
}

/**
 * `service-network` is no longer compiled (a service shares its proxy's network namespace); it stays
 * a known role so that a network an earlier version made is still recognised as ours and removed.
 */
export type NetworkRole = 'task-network' | 'service-network';
export type ContainerRole = 'service' | 'proxy';

export interface NetworkNode {
  kind: 'network';
  id: NodeId;
  /** Docker name, deterministic: `ds-<taskId>-<runId>` or `ds-<taskId>-<runId>_<service>`. */
  name: string;
  role: NetworkRole;
  /** The service a private network belongs to. */
  service?: string;
  /**
   * Not ours: a network someone else made (the worker's per-task network) that the graph joins.
   * The planner never creates, relabels or removes it; its `labels` are empty. A missing one
   * blocks the plan (`network-missing`).
   */
  external?: true;
  labels: Record<string, string>;
  specHash: string;
}

/** Docker's Healthcheck, in Docker's units (nanoseconds). */
export interface HealthCheck {
  /** Docker's `Test`, e.g. `['CMD', 'pg_isready']` or `['CMD-SHELL', '…']`. */
  test: string[];
  intervalNs: number;
  timeoutNs: number;
  retries: number;
  startPeriodNs: number;
}

export interface ContainerLimits {
  memoryBytes: number;
  pidsLimit: number;
  /** json-file log driver `max-size` in bytes (one file). */
  logMaxBytes: number;
}

export interface NetworkAttachment {
  network: NodeId;
  aliases: string[];
}

export interface ContainerNode {
  kind: 'container';
  id: NodeId;
  /** Docker name: `ds-<taskId>-<runId>_<service>` or `…_<service>_proxy`. */
  name: string;
  role: ContainerRole;
  service: string;
  /** Image reference as written (the payload's, or the configured proxy image). */
  image: string;
  /** Docker `Cmd`; undefined keeps the image's. May hold `IMAGE_KEY_PLACEHOLDER` (proxies). */
  cmd?: string[];
  /** Environment that is not secret: the payload's and the injected variables. */
  env: Record<string, string>;
  healthCheck?: HealthCheck;
  limits: ContainerLimits;
  /**
   * First entry: the network the container is created on; the rest are connected before start.
   * Empty for a container that joins another's network namespace (`networkNamespaceOf`).
   */
  networks: NetworkAttachment[];
  /**
   * The container whose network namespace this one joins (Docker `NetworkMode:
   * container:<id>`): a service joins its proxy's, so that the proxy, listening on loopback only,
   * is reachable from that service and from nothing else. The owner's endpoints, aliases and
   * `/etc/hosts` are this container's. Docker names the owner by id, known only once it exists:
   * `bindImages()` puts it in `namespaceContainerId`, and a replaced owner is a changed spec.
   */
  networkNamespaceOf?: NodeId;
  /** The Docker id of the `networkNamespaceOf` container; set by binding only. */
  namespaceContainerId?: string;
  /** `/etc/hosts` entries (`name:address`), which containers in this one's namespace share. */
  extraHosts?: string[];
  /**
   * Nodes that must exist (networks), run (the owner of the network namespace it joins) or be
   * ready (any other container) before this one starts.
   */
  dependsOn: NodeId[];
  /**
   * For a proxy: the image whose key its scope names (the service's image reference). The proxy's
   * `cmd` and spec hash are final only after `bindImages()` has put that image's key in.
   */
  imageKeyOf?: string;
  /** Credentials are injected by the executor at create time; they never enter this graph. */
  needsCredentials: boolean;
  labels: Record<string, string>;
  /** Spec hash over the canonical rendering; see `bindImages()` for what it covers. */
  specHash: string;
}

/**
 * A graph is a value: nothing changes one in place once it is built (a changed task is a new
 * graph). The planner keeps what it derives from a graph and from each node by object identity.
 */
export interface DesiredState {
  owner: OwnerRef;
  networks: NetworkNode[];
  containers: ContainerNode[];
  /** Every image reference a container of this graph runs. */
  images: string[];
  /**
   * Where each of `images` comes from, sorted by `ref`. An image without a source is a registry
   * reference fetched only when missing (graphs built by hand, the empty graph).
   */
  imageSources?: ImageSource[];
}

/** Stands in a proxy's `cmd` for the key of the image it serves until `bindImages()` resolves it. */
export const IMAGE_KEY_PLACEHOLDER = '${imageKey}';

/** What the observed state knows about an image that is present locally. */
export interface ResolvedImage {
  ref: string;
  /** Local image id, `sha256:<64 hex>`. */
  id: string;
  /** Repo digest `sha256:<64 hex>` when the image has one, else the local image id. */
  key: string;
  labels: Record<string, string>;
}
