/**
 * What the planner derives from the desired graph alone, and the cache that keeps it between
 * plans. The loop plans every snapshot of a run against the same graph: indexing it, and binding
 * and hashing every container node, once per graph instead of once per plan was most of a plan's
 * time at 10,000 nodes. The cache is the caller's (`PlanOptions.cache`): without one, `plan()`
 * indexes the graph afresh, so it stays a function of its arguments.
 */
import { imagesOf } from '../desired-state/images.js';
import type { ContainerNode, DesiredState, NetworkNode, ResolvedImage } from '../desired-state/types.js';

/** A network a container is attached to, as the planner needs it. */
export interface Attachment {
  /** The network's Docker name. */
  network: string;
  /** The graph's entry for it; undefined for a network the graph does not have. */
  entry: NetworkEntry | undefined;
  aliases: readonly string[];
  /** `connect-network:<container>:<network>`. */
  connectId: string;
}

export interface NetworkEntry {
  node: NetworkNode;
  /** Position in `GraphIndex.networks`: a plan keeps each network's state in an array by it. */
  index: number;
  createId: string;
}

export interface ContainerEntry {
  node: ContainerNode;
  /** Position in `GraphIndex.containers`: a plan keeps each container's state in an array by it. */
  index: number;
  /** In the node's order, aliases sorted. */
  attachments: readonly Attachment[];
  /** How many different networks it is attached to. */
  attachedCount: number;
  /** The containers of the graph it depends on, by node id. */
  dependencies: readonly ContainerEntry[];
  /** The container whose network namespace it joins (one of `dependencies`), if any. */
  namespaceOwner: ContainerEntry | undefined;
  /** Another container of the graph joins its network namespace. */
  ownsNamespace: boolean;
  createId: string;
  startId: string;
}

export interface GraphIndex {
  /** By name, then id: every pass walks the graph in this order, so actions come out nearly sorted. */
  containers: readonly ContainerEntry[];
  networks: readonly NetworkEntry[];
  networkNames: ReadonlySet<string>;
  containerNames: ReadonlySet<string>;
  /** No two containers and no two networks share a name (as `compile()` makes graphs). */
  namesUnique: boolean;
  /** Every image reference the graph needs, sorted. */
  imageRefs: readonly string[];
}

/**
 * A binder (`bindImages` or a test's), as `PlanOptions.bind` takes it: `namespaceContainerId` is the
 * Docker id of the container whose network namespace the node joins, when it joins one and that
 * container exists.
 */
export type Binder = (
  node: ContainerNode,
  resolve: (ref: string) => ResolvedImage | undefined,
  namespaceContainerId?: string,
) => ContainerNode | undefined;

function indexGraph(desired: DesiredState): GraphIndex {
  const networkNodes = [...desired.networks].sort(byNameThenId);
  const containerNodes = [...desired.containers].sort(byNameThenId);
  const networks = networkNodes.map((node, index): NetworkEntry => ({
    node,
    index,
    createId: createNetworkId(node.name),
  }));
  const networkById = new Map(networks.map((n) => [n.node.id, n]));
  // Filled in once every entry exists: a dependency is another entry.
  const dependencies = containerNodes.map((): ContainerEntry[] => []);
  const containers = containerNodes.map((node, index): ContainerEntry => {
    const attachments = node.networks.map((a): Attachment => {
      const entry = networkById.get(a.network);
      const network = entry?.node.name ?? a.network;
      return {
        network,
        entry,
        aliases: [...a.aliases].sort(compare),
        connectId: `connect-network:${node.name}:${network}`,
      };
    });
    return {
      node,
      index,
      attachments,
      // Stryker disable next-line ArrowFunction: the count only feeds readyAs's shortcut, which a wrong count skips (every wanted network is checked before it)
      attachedCount: new Set(attachments.map((a) => a.network)).size,
      dependencies: dependencies[index]!,
      namespaceOwner: undefined,
      ownsNamespace: false,
      createId: `create-container:${node.name}`,
      startId: `start-container:${node.name}`,
    };
  });
  const containerById = new Map(containers.map((c) => [c.node.id, c]));
  for (const entry of containers) {
    for (const dep of entry.node.dependsOn.filter((d) => containerById.has(d)).sort(compare))
      dependencies[entry.index]!.push(containerById.get(dep)!);
    const ownerId = entry.node.networkNamespaceOf;
    // Stryker disable next-line ConditionalExpression: a lookup of undefined finds nothing either
    const owner = ownerId === undefined ? undefined : containerById.get(ownerId);
    if (owner !== undefined) {
      entry.namespaceOwner = owner;
      owner.ownsNamespace = true;
    }
  }
  const networkNames = new Set(networkNodes.map((n) => n.name));
  const containerNames = new Set(containerNodes.map((c) => c.name));
  return {
    containers,
    networks,
    networkNames,
    containerNames,
    // Stryker disable next-line ConditionalExpression,EqualityOperator,LogicalOperator: it only lets the orphan passes stop early (false costs time; true differs only for a graph with two nodes of one name, which compile() never makes)
    namesUnique: networkNames.size === networks.length && containerNames.size === containers.length,
    imageRefs: imagesOf(desired),
  };
}

/**
 * The graph index of the last graph planned, and each container's last binding with the image id
 * and served key it was made with (a node bound to the same images binds the same way). One
 * cache per run of the loop; a new graph object replaces what it holds.
 */
export class PlanCache {
  private desired: DesiredState | undefined;
  private index: GraphIndex | undefined;
  // Stryker disable next-line ArrayDeclaration: an entry that is no binding never matches (a miss binds again)
  private bindings: (LastBinding | undefined)[] = [];

  graph(desired: DesiredState): GraphIndex {
    if (this.desired !== desired || this.index === undefined) {
      this.desired = desired;
      this.index = indexGraph(desired);
      // Stryker disable next-line ArrayDeclaration: an entry that is no binding never matches (a miss binds again)
      this.bindings = [];
    }
    return this.index;
  }

  /** The binding of `entry` made with the same binder, image id and served key, if any. */
  // Stryker disable BlockStatement: a miss binds again, the same
  lastBinding(
    entry: ContainerEntry,
    bind: Binder,
    imageId: string,
    servedKey: string | undefined,
    namespaceId: string | undefined,
  ): ContainerNode | undefined {
    const last = this.bindings[entry.index];
    return last?.bind === bind &&
      last.imageId === imageId &&
      last.servedKey === servedKey &&
      last.namespaceId === namespaceId
      ? last.node
      : undefined;
  }
  // Stryker restore BlockStatement

  // Stryker disable next-line BlockStatement: a binding not remembered is made again, the same
  remember(entry: ContainerEntry, binding: LastBinding | undefined): void {
    this.bindings[entry.index] = binding;
  }
}

interface LastBinding {
  bind: Binder;
  imageId: string;
  servedKey: string | undefined;
  namespaceId: string | undefined;
  node: ContainerNode;
}

function createNetworkId(name: string): string {
  return `create-network:${name}`;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byNameThenId<T extends { name: string; id: string }>(a: T, b: T): number {
  return compare(a.name, b.name) || compare(a.id, b.id);
}
