/**
 * Actions are data: the planner returns them, the executors in `src/actions` carry them out, one
 * Docker call each. Each names its target, says why (`cause`) and what must finish first
 * (`dependsOn`, ids of other actions in the same plan).
 */
import type { ArtifactSource } from '../desired-state/image-source.js';
import type { ContainerNode, NetworkNode, NodeId } from '../desired-state/types.js';

export interface ActionTarget {
  type: 'image' | 'network' | 'container';
  /** Docker name (image reference for images). */
  name: string;
  /** Graph node, when the target is (or was) one. */
  node?: NodeId;
  /** Docker id of an existing object. */
  objectId?: string;
}

interface ActionBase {
  /** Unique within a plan and stable across plans for the same intent, e.g. `create-container:<name>`. */
  id: string;
  target: ActionTarget;
  cause: string;
  dependsOn: string[];
}

/**
 * Make a registry image present locally, or fetch a newer one for its tag (there may be no
 * registry: then it fails terminally). The registry's login is the executor's, never the plan's.
 */
export interface PullImage extends ActionBase {
  kind: 'pull-image';
  image: string;
  /** The image is present: pull what its tag names now (pull policy `always`). */
  refresh?: boolean;
}
/** Download a task's image artifact and `docker load` it, tagged `image` (the graph's local reference). */
export interface LoadImage extends ActionBase {
  kind: 'load-image';
  image: string;
  source: ArtifactSource;
}
export interface CreateNetwork extends ActionBase {
  kind: 'create-network';
  network: NetworkNode;
}
/** Create (not start) a container on the first of its networks; `cmd` and `specHash` are final. */
export interface CreateContainer extends ActionBase {
  kind: 'create-container';
  container: ContainerNode;
  /**
   * Docker name of the network to create it on, with its aliases there; absent for a container
   * created in another's network namespace (`container.namespaceContainerId`), which has none.
   */
  network?: { name: string; aliases: string[] };
}
/** Attach a created container to a further network before it starts (API 1.41 has no multi-network create). */
export interface ConnectNetwork extends ActionBase {
  kind: 'connect-network';
  container: string;
  network: string;
  aliases: string[];
}
export interface StartContainer extends ActionBase {
  kind: 'start-container';
  container: string;
  /**
   * Set when this start restarts an exited service: once it succeeded, the loop records it with
   * `recordRestart(ledger, restart.key, now)` so the next backoff and the budget see it.
   */
  restart?: { key: string; attempt: number };
}
/** Force-remove: kill at once, anonymous volumes too. A missing container counts as removed. */
export interface RemoveContainer extends ActionBase {
  kind: 'remove-container';
  containerId: string;
  /**
   * Set when the removal is the first step of a restart by replacement (of a dead or unhealthy
   * service): the loop records the restart once the removal is done, for the fresh container's
   * start may come from a later plan that no longer knows it is a restart.
   */
  restart?: { key: string; attempt: number };
}
/** Detach an endpoint from one of our networks so that the network can be removed. */
export interface DisconnectNetwork extends ActionBase {
  kind: 'disconnect-network';
  networkId: string;
  containerId: string;
  /** Docker name of the container (its id when it is not one we know), for people to read. */
  container?: string;
  /** The container is not ours: it is detached from our network, never touched otherwise. */
  foreign?: boolean;
}
export interface RemoveNetwork extends ActionBase {
  kind: 'remove-network';
  networkId: string;
}

export type Action =
  | PullImage
  | LoadImage
  | CreateNetwork
  | CreateContainer
  | ConnectNetwork
  | StartContainer
  | RemoveContainer
  | DisconnectNetwork
  | RemoveNetwork;

export type ActionKind = Action['kind'];

/** Something the plan deliberately does not do yet, and why (backoff, health, a dependency). */
export interface Waiting {
  node: NodeId;
  name: string;
  reason: string;
  /** Epoch ms at which waiting ends by itself (backoff), if known. */
  until?: number;
}

/** A condition the planner cannot get past by acting: the loop fails with it. */
export interface Blocked {
  node?: NodeId;
  name: string;
  reason: string;
  code: 'name-conflict' | 'image-not-ours' | 'crash-loop' | 'image-missing' | 'network-missing';
}

export interface Plan {
  taskId: string;
  runId: number;
  /** Daemon time of the snapshot this plan is valid for. */
  snapshotTime: string;
  actions: Action[];
  waiting: Waiting[];
  blocked: Blocked[];
  /** True when every desired service is ready (running, and healthy where a health check exists). */
  ready: boolean;
}
