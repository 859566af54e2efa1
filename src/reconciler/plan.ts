/**
 * The decision: what must happen for the observed Docker state of one task to match its desired
 * graph. Data in, data out; the executors in `src/actions` do the work and the loop re-plans on
 * the next snapshot, so a plan only ever has to be right for the snapshot it was made from.
 */
import { bindImages, imagesOf, resolveImage } from '../desired-state/images.js';
import { Label, LABEL_NAMESPACE } from '../desired-state/labels.js';
import type {
  ContainerNode,
  DesiredState,
  NetworkNode,
  NodeId,
  ResolvedImage,
} from '../desired-state/types.js';
import type { ObservedContainer, ObservedImage, ObservedNetwork, Snapshot } from '../observed-state/types.js';
import type { Action, ActionKind, Blocked, Plan, Waiting } from './actions.js';
import { decideRestart, restartKey, type RestartLedger, type RestartPolicy } from './restarts.js';

export type ImageResolver = (ref: string) => ResolvedImage | undefined;

export interface PlanOptions {
  /** Epoch ms the restart backoff is measured against. */
  now: number;
  restarts: RestartLedger;
  restart: RestartPolicy;
  /**
   * Final form of a container node once the images it depends on are known (a proxy's `cmd` and
   * spec hash name the key of the image it serves); undefined while one of them is not resolved.
   * Default: `bindImages` of `src/desired-state/images.ts`.
   */
  bind?: (node: ContainerNode, resolve: ImageResolver) => ContainerNode | undefined;
  /** Default: `resolveImage` of `src/desired-state/images.ts` (repo digest, else image id). */
  resolveImage?: (ref: string, observed: ObservedImage) => ResolvedImage;
}

/**
 * Actions appear in this order (then by id). It is a topological order of every edge the planner
 * draws, so reading the text top to bottom is a valid way to run the plan.
 */
const PHASES: readonly ActionKind[] = [
  'pull-image',
  'remove-container',
  'disconnect-network',
  'remove-network',
  'create-network',
  'create-container',
  'connect-network',
  'start-container',
];

const PHASE_RANK = Object.fromEntries(PHASES.map((kind, i) => [kind, i])) as Record<ActionKind, number>;

const ORPHAN = 'orphan: not in desired graph';

/**
 * Plan the actions that move `snapshot` toward `desired`.
 *
 * Pure: no I/O, clock, logger, environment or randomness. Every input is an argument (the time
 * and the restart ledger come in `options`), and the output is sorted, so the same inputs in any
 * list or key order give the same plan.
 *
 * Only objects labelled with this task's owner, task id and run id are ever targets. Another
 * task's objects are left alone; an object that is not ours and holds a name the graph needs
 * blocks the plan (`name-conflict`) and is never acted on.
 */
export function plan(desired: DesiredState, snapshot: Snapshot, options: PlanOptions): Plan {
  return new Planner(desired, snapshot, options).run();
}

type NetworkStatus = 'present' | 'planned' | 'blocked';

interface BoundContainer {
  node: ContainerNode;
  observed: ObservedContainer | undefined;
}

/**
 * What the planner derives from the graph alone. The loop plans every snapshot against the same
 * graph; rebuilding this each time was a fifth of a plan at 10,000 nodes, so it is kept per graph
 * object (a graph is never changed in place: see `DesiredState`).
 */
interface GraphIndex {
  /** By name, then id: every pass walks the graph in this order, so the actions come out nearly sorted. */
  containers: readonly ContainerNode[];
  networks: readonly NetworkNode[];
  networkByNode: ReadonlyMap<NodeId, NetworkNode>;
  networkNames: ReadonlySet<string>;
  containerNames: ReadonlySet<string>;
  containerNameByNode: ReadonlyMap<NodeId, string>;
  /** Names of the networks each container node is attached to. */
  attachedTo: ReadonlyMap<NodeId, ReadonlySet<string>>;
  /** Each container node's attachments in order, by network name, aliases sorted. */
  attachments: ReadonlyMap<NodeId, readonly Attachment[]>;
  /** Each container node's dependencies that are containers of the graph, sorted. */
  containerDeps: ReadonlyMap<NodeId, readonly NodeId[]>;
  /** Every image reference the graph needs, sorted. */
  imageRefs: readonly string[];
  /**
   * The last binding of each node (`containers[i]` → `bindings[i]`) and the image id and served
   * key it was made with: hashing every node on every plan was most of a plan's time at 10,000
   * nodes, and a node bound to the same images binds the same way.
   */
  bindings: (
    { bind: Binder; imageId: string; servedKey: string | undefined; node: ContainerNode } | undefined
  )[];
}

type Binder = NonNullable<PlanOptions['bind']>;

interface Attachment {
  network: string;
  aliases: readonly string[];
}

const indexes = new WeakMap<DesiredState, GraphIndex>();

function graphIndex(desired: DesiredState): GraphIndex {
  const known = indexes.get(desired);
  if (known !== undefined) return known;
  const networkByNode = new Map(desired.networks.map((n) => [n.id, n]));
  const networkName = (id: NodeId): string => networkByNode.get(id)?.name ?? id;
  const containerIds = new Set(desired.containers.map((c) => c.id));
  const index: GraphIndex = {
    containers: [...desired.containers].sort(byNameThenId),
    networks: [...desired.networks].sort(byNameThenId),
    networkByNode,
    networkNames: new Set(desired.networks.map((n) => n.name)),
    containerNames: new Set(desired.containers.map((c) => c.name)),
    containerNameByNode: new Map(desired.containers.map((c) => [c.id, c.name])),
    attachedTo: new Map(
      desired.containers.map((c) => [c.id, new Set(c.networks.map((a) => networkName(a.network)))]),
    ),
    attachments: new Map(desired.containers.map((c) => [c.id, attachmentsOf(c, networkName)])),
    containerDeps: new Map(
      desired.containers.map((c) => [c.id, c.dependsOn.filter((dep) => containerIds.has(dep)).sort(compare)]),
    ),
    imageRefs: imagesOf(desired),
    bindings: [],
  };
  indexes.set(desired, index);
  return index;
}

class Planner {
  private readonly actions = new Map<string, Action>();
  private readonly waiting: Waiting[] = [];
  private readonly blocked: Blocked[] = [];

  private readonly graph: GraphIndex;
  private readonly ourContainers: ObservedContainer[];
  private readonly ourNetworks: ObservedNetwork[];
  private readonly ourContainerByName: Map<string, ObservedContainer>;
  private readonly ourNetworkByName: Map<string, ObservedNetwork>;
  /** Containers and networks with a name we may need that are not ours: name → why not ours. */
  private readonly notOurs = { container: new Map<string, string>(), network: new Map<string, string>() };
  private readonly resolved = new Map<string, ResolvedImage>();
  private readonly refusedImages = new Set<string>();
  private readonly networkStatus = new Map<NodeId, NetworkStatus>();
  private namesById: Map<string, string> | undefined;
  /** How many desired containers have a container of ours under their name. */
  private matched = 0;
  /** How many desired containers were found ready, with nothing to do (the steady state). */
  private settled = 0;

  constructor(
    private readonly desired: DesiredState,
    private readonly snapshot: Snapshot,
    private readonly options: PlanOptions,
  ) {
    this.graph = graphIndex(desired);
    const { ownerId, taskId, runId } = desired.owner;
    const run = String(runId);
    const isThisTask = (labels: Record<string, string>): boolean =>
      labels[Label.owner] === ownerId && labels[Label.taskId] === taskId && labels[Label.runId] === run;

    // Sorted so that a name held twice (networks; containers only in made-up snapshots) resolves
    // the same way whatever order the snapshot lists them in.
    const containers = sorted(snapshot.containers);
    const networks = sorted(snapshot.networks);
    this.ourContainers = containers.filter((c) => isThisTask(c.labels));
    this.ourNetworks = networks.filter((n) => isThisTask(n.labels));
    this.ourContainerByName = firstByName(this.ourContainers);
    this.ourNetworkByName = firstByName(this.ourNetworks);

    for (const f of sorted(snapshot.foreign)) setOnce(this.notOurs[f.type], f.name, f.reason);
    for (const c of containers) {
      if (!isThisTask(c.labels)) setOnce(this.notOurs.container, c.name, describeOwner(c.labels));
    }
    for (const n of networks) {
      if (!isThisTask(n.labels)) setOnce(this.notOurs.network, n.name, describeOwner(n.labels));
    }
  }

  run(): Plan {
    this.planImages();
    this.planNetworks();
    const bound = this.bindContainers();
    this.planContainers(bound);
    this.planOrphanContainers();
    this.planOrphanNetworks();

    // Grouped by phase, then sorted by id: the passes add actions nearly in id order, so each
    // group's sort is close to one pass (a single sort by phase and id was a quarter of a 10,000-node plan).
    const byPhase = new Map<ActionKind, Action[]>(PHASES.map((kind) => [kind, []]));
    for (const action of this.actions.values()) byPhase.get(action.kind)!.push(action);
    const actions = [...byPhase.values()].flatMap((group) => group.sort((a, b) => compare(a.id, b.id)));
    for (const a of actions) {
      const deps = a.dependsOn;
      if (deps.length === 2) {
        const order = this.planOrder(deps[0]!, deps[1]!);
        if (order === 0) deps.pop();
        else if (order > 0) deps.reverse();
      } else if (deps.length > 2) a.dependsOn = [...new Set(deps)].sort(this.planOrder);
    }
    const waiting = this.waiting.sort((a, b) => compare(a.name, b.name) || compare(a.reason, b.reason));
    const blocked = this.blocked.sort((a, b) => compare(a.name, b.name) || compare(a.reason, b.reason));
    const ready =
      actions.length === 0 &&
      waiting.length === 0 &&
      blocked.length === 0 &&
      (this.settled === this.graph.containers.length ||
        [...bound.values()].every((b) => b !== undefined && this.isReady(b.node, b.observed)));
    return {
      taskId: this.desired.owner.taskId,
      runId: this.desired.owner.runId,
      snapshotTime: this.snapshot.time,
      actions,
      waiting,
      blocked,
      ready,
    };
  }

  /** Position in the plan's order of the actions named by two ids (both of this plan). */
  private readonly planOrder = (x: string, y: string): number => {
    const a = this.actions.get(x)!;
    const b = this.actions.get(y)!;
    return PHASE_RANK[a.kind] - PHASE_RANK[b.kind] || compare(a.id, b.id);
  };

  // ── images ────────────────────────────────────────────────────────────────────────────────────

  private planImages(): void {
    const observed = new Map<string, ObservedImage>();
    for (const image of [...this.snapshot.images].sort(
      (a, b) => compare(a.ref, b.ref) || compare(a.id, b.id),
    )) {
      if (!observed.has(image.ref)) observed.set(image.ref, image);
    }
    for (const ref of this.graph.imageRefs) {
      const image = observed.get(ref);
      if (image === undefined) {
        this.add({
          kind: 'pull-image',
          id: `pull-image:${ref}`,
          target: { type: 'image', name: ref },
          cause: 'not present locally',
          dependsOn: [],
          image: ref,
        });
        continue;
      }
      const resolved = (this.options.resolveImage ?? resolveImage)(ref, image);
      const ours = Object.keys(resolved.labels)
        .filter((k) => k.startsWith(LABEL_NAMESPACE))
        .sort(compare);
      if (ours.length > 0) {
        // Containers inherit their image's labels: such an image could make a container pose as ours.
        this.refusedImages.add(ref);
        this.blocked.push({
          name: ref,
          code: 'image-not-ours',
          reason: `image carries docker-services labels (${ours.join(', ')}); refused`,
        });
        continue;
      }
      this.resolved.set(ref, resolved);
    }
  }

  // ── networks ──────────────────────────────────────────────────────────────────────────────────

  /**
   * A network of ours is kept whatever its spec-hash label says: its spec is its name and role (a
   * bridge without options), and recreating it would mean removing every container on it.
   */
  private planNetworks(): void {
    for (const network of this.graph.networks) {
      const conflict = this.notOurs.network.get(network.name);
      if (conflict !== undefined) {
        this.networkStatus.set(network.id, 'blocked');
        this.blocked.push({
          node: network.id,
          name: network.name,
          code: 'name-conflict',
          reason: `a network that is not ours holds this name (${conflict})`,
        });
      } else if (this.ourNetworkByName.has(network.name)) {
        this.networkStatus.set(network.id, 'present');
      } else {
        this.networkStatus.set(network.id, 'planned');
        this.add({
          kind: 'create-network',
          id: createNetworkId(network.name),
          target: { type: 'network', name: network.name, node: network.id },
          cause: 'not found',
          dependsOn: [],
          network,
        });
      }
    }
  }

  // ── containers ────────────────────────────────────────────────────────────────────────────────

  /** Desired containers by node id, bound to their images; undefined where that is not possible yet. */
  private bindContainers(): Map<NodeId, BoundContainer | undefined> {
    const bound = new Map<NodeId, BoundContainer | undefined>();
    const resolve: ImageResolver = (ref) => this.resolved.get(ref);
    const bind = this.options.bind ?? bindImages;
    const { containers, bindings } = this.graph;
    for (let i = 0; i < containers.length; i++) {
      const node = containers[i]!;
      const image = this.resolved.get(node.image);
      const servedKey = node.imageKeyOf === undefined ? undefined : this.resolved.get(node.imageKeyOf)?.key;
      const last = bindings[i];
      let b: ContainerNode | undefined;
      if (
        last?.bind === bind &&
        image !== undefined &&
        last.imageId === image.id &&
        last.servedKey === servedKey
      ) {
        b = last.node;
      } else {
        b = bind(node, resolve);
        bindings[i] = b && image && { bind, imageId: image.id, servedKey, node: b };
      }
      const observed = this.ourContainerByName.get(node.name);
      if (observed !== undefined) this.matched++;
      bound.set(node.id, b && { node: b, observed });
    }
    return bound;
  }

  private planContainers(bound: Map<NodeId, BoundContainer | undefined>): void {
    for (const node of this.graph.containers) {
      const conflict = this.notOurs.container.size > 0 ? this.notOurs.container.get(node.name) : undefined;
      if (conflict !== undefined) {
        this.blocked.push({
          node: node.id,
          name: node.name,
          code: 'name-conflict',
          reason: `a container that is not ours holds this name (${conflict})`,
        });
        continue;
      }
      const b = bound.get(node.id);
      if (b === undefined) {
        const unresolved = [node.image, node.imageKeyOf]
          .filter((r): r is string => r !== undefined && !this.resolved.has(r))
          .filter((r) => !this.refusedImages.has(r));
        // A refused image is reported once, as blocked; the containers that need it add nothing.
        if (unresolved.length > 0) {
          this.wait(node, `image ${unresolved.join(', ')} not present locally`);
        } else if (![node.image, node.imageKeyOf].some((r) => r !== undefined && this.refusedImages.has(r))) {
          this.wait(node, 'images not bound');
        }
        continue;
      }
      this.planContainer(b.node, b.observed, bound);
    }
  }

  private planContainer(
    node: ContainerNode,
    observed: ObservedContainer | undefined,
    bound: Map<NodeId, BoundContainer | undefined>,
  ): void {
    // The steady state in one pass: a ready container needs nothing (no replacement, connect,
    // disconnect or wait) unless a network it is on is blocked, which only a network that is not
    // ours can make it. At 10,000 nodes the passes below cost a plan ~40% more.
    if (observed !== undefined && this.notOurs.network.size === 0 && this.isReady(node, observed)) {
      this.settled++;
      return;
    }
    if (observed?.state === 'removing') {
      this.wait(node, 'being removed');
      return;
    }
    const blockedNetwork = node.networks.find((a) => this.networkStatus.get(a.network) === 'blocked');
    if (blockedNetwork !== undefined) {
      this.wait(node, `network ${this.networkName(blockedNetwork.network)} is blocked`);
      return;
    }

    const replaceCause = observed && this.replaceCause(node, observed);
    if (observed === undefined || replaceCause !== undefined) {
      const removeId = observed && this.removeContainer(observed, node.id, replaceCause ?? '');
      this.createAndStart(node, replaceCause ?? 'not found', removeId, bound);
      return;
    }

    this.disconnectExtraNetworks(node, observed);
    switch (observed.state) {
      case 'running': {
        this.connectMissing(node, observed, undefined);
        if (observed.health !== 'healthy' && observed.health !== 'none')
          this.wait(node, `health ${observed.health}`);
        return;
      }
      case 'created': {
        this.startWhenReady(node, observed, 'created, not started', undefined, bound);
        return;
      }
      case 'exited':
      case 'dead': {
        this.restart(node, observed, bound);
        return;
      }
      default:
        // 'paused' and 'restarting' are replaced by `replaceCause`; 'removing' waited above.
        return;
    }
  }

  /** Why `observed` cannot be kept for `node`, or undefined when it can. */
  private replaceCause(node: ContainerNode, observed: ObservedContainer): string | undefined {
    const observedHash = observed.labels[Label.specHash] ?? '';
    if (observedHash !== node.specHash) return `spec hash ${shortHashes(observedHash, node.specHash)}`;
    // We never pause or set a restart policy: either state means someone else changed the container.
    if (observed.state === 'paused' || observed.state === 'restarting') return `state ${observed.state}`;
    // An endpoint on a network that has since been removed (or recreated under the same name)
    // makes the container unstartable and cannot be disconnected any more.
    for (const { network: name } of this.attachmentsOf(node)) {
      const endpoint = observed.networks[name];
      if (endpoint === undefined) continue;
      const ours = this.ourNetworkByName.get(name);
      // A container that never ran has no network id on its endpoints yet (dockerd reports "").
      const recreated = endpoint.networkId !== '' && ours !== undefined && ours.id !== endpoint.networkId;
      if (ours === undefined || recreated) {
        return `endpoint on ${name} is stale (network ${ours === undefined ? 'gone' : 'recreated'})`;
      }
    }
    return undefined;
  }

  private createAndStart(
    node: ContainerNode,
    cause: string,
    removeId: string | undefined,
    bound: Map<NodeId, BoundContainer | undefined>,
    restart?: { key: string; attempt: number },
  ): void {
    const [first, ...rest] = this.attachmentsOf(node);
    if (first === undefined) {
      this.wait(node, 'has no network');
      return;
    }
    const firstName = first.network;
    const createId = `create-container:${node.name}`;
    const pulls = [node.image, node.imageKeyOf]
      .filter((r): r is string => r !== undefined)
      .map((r) => `pull-image:${r}`);
    this.add({
      kind: 'create-container',
      id: createId,
      target: { type: 'container', name: node.name, node: node.id },
      cause,
      dependsOn: this.existing([removeId, createNetworkId(firstName), ...pulls]),
      container: node,
      network: { name: firstName, aliases: [...first.aliases] },
    });
    const connects = rest.map((a) => this.connect(node, a, [createId], 'attach before start'));
    this.startWhenReadyAfter(node, [createId, ...connects], cause, restart, bound);
  }

  private startWhenReady(
    node: ContainerNode,
    observed: ObservedContainer,
    cause: string,
    restart: { key: string; attempt: number } | undefined,
    bound: Map<NodeId, BoundContainer | undefined>,
  ): void {
    if (this.waitsForDependencies(node, bound)) return;
    const connects = this.connectMissing(node, observed, undefined);
    this.startAfter(node, connects, cause, restart, observed.id);
  }

  private startWhenReadyAfter(
    node: ContainerNode,
    after: string[],
    cause: string,
    restart: { key: string; attempt: number } | undefined,
    bound: Map<NodeId, BoundContainer | undefined>,
  ): void {
    if (this.waitsForDependencies(node, bound)) return;
    this.startAfter(node, after, cause, restart, undefined);
  }

  /** Records why `node` cannot start yet, if a container it depends on is not ready. */
  private waitsForDependencies(node: ContainerNode, bound: Map<NodeId, BoundContainer | undefined>): boolean {
    const waitFor = this.unreadyDependencies(node, bound);
    if (waitFor === undefined) return false;
    this.wait(node, waitFor);
    return true;
  }

  private startAfter(
    node: ContainerNode,
    after: string[],
    cause: string,
    restart: { key: string; attempt: number } | undefined,
    objectId: string | undefined,
  ): void {
    this.add({
      kind: 'start-container',
      id: `start-container:${node.name}`,
      target: { type: 'container', name: node.name, node: node.id, ...(objectId ? { objectId } : {}) },
      cause,
      dependsOn: after,
      container: node.name,
      ...(restart ? { restart } : {}),
    });
  }

  private restart(
    node: ContainerNode,
    observed: ObservedContainer,
    bound: Map<NodeId, BoundContainer | undefined>,
  ): void {
    const exit = `${observed.state}(${observed.exitCode}${observed.oomKilled ? ', oom' : ''})`;
    const { restart: policy, restarts, now } = this.options;
    const key = restartKey(node.id, node.specHash);
    const finishedAt = observed.finishedAt === undefined ? undefined : Date.parse(observed.finishedAt);
    const decision = decideRestart(policy, restarts[key], finishedAt, now);
    switch (decision.kind) {
      case 'exhausted':
        this.blocked.push({
          node: node.id,
          name: node.name,
          code: 'crash-loop',
          reason:
            policy.mode === 'fail'
              ? `${exit}; restart mode is fail`
              : `${exit} after ${decision.used} of ${policy.maxRestarts} restarts`,
        });
        return;
      case 'backoff':
        this.wait(
          node,
          `${exit} — restart ${decision.attempt} of ${policy.maxRestarts} in ${seconds(decision.until - now)}`,
          decision.until,
        );
        return;
      case 'due': {
        const cause = `${exit} — restart ${decision.attempt} of ${policy.maxRestarts}`;
        const restart = { key, attempt: decision.attempt };
        if (observed.state === 'dead') {
          // dockerd refuses to start a dead container ("marked for removal"): the restart is a
          // fresh container under the same key and budget.
          if (this.unreadyDependencies(node, bound) !== undefined) {
            this.startWhenReady(node, observed, cause, restart, bound);
            return;
          }
          const removeId = this.removeContainer(observed, node.id, cause);
          this.createAndStart(node, cause, removeId, bound, restart);
          return;
        }
        this.startWhenReady(node, observed, cause, restart, bound);
        return;
      }
    }
  }

  /** Why `node` may not start yet (a proxy it depends on is not ready), or undefined. */
  private unreadyDependencies(
    node: ContainerNode,
    bound: Map<NodeId, BoundContainer | undefined>,
  ): string | undefined {
    const reasons: string[] = [];
    for (const dep of this.graph.containerDeps.get(node.id) ?? [...node.dependsOn].sort(compare)) {
      if (!bound.has(dep)) continue; // a network, or a node outside this graph
      const b = bound.get(dep);
      const name = this.graph.containerNameByNode.get(dep) ?? dep;
      if (b === undefined) reasons.push(`${name} not bound yet`);
      else if (!this.isReady(b.node, b.observed))
        reasons.push(`${name} not ready (${this.describe(b.node, b.observed)})`);
    }
    return reasons.length > 0 ? `waits for ${reasons.join(', ')}` : undefined;
  }

  private describe(node: ContainerNode, observed: ObservedContainer | undefined): string {
    if (observed === undefined) return 'not created yet';
    if (observed.labels[Label.specHash] !== node.specHash) return 'spec changed';
    if (observed.state !== 'running') return observed.state;
    if (observed.health !== 'healthy' && observed.health !== 'none') return `health ${observed.health}`;
    return 'networks not attached';
  }

  /** Running with the bound spec, on exactly its networks, and healthy where it has a health check. */
  private isReady(node: ContainerNode, observed: ObservedContainer | undefined): boolean {
    if (observed === undefined || observed.state !== 'running') return false;
    if (observed.labels[Label.specHash] !== node.specHash) return false;
    if (observed.health !== 'healthy' && observed.health !== 'none') return false;
    const wanted = this.attachedTo(node);
    for (const name of wanted) {
      const ours = this.ourNetworkByName.get(name);
      if (ours === undefined || observed.networks[name]?.networkId !== ours.id) return false;
    }
    for (const name in observed.networks) {
      if (!wanted.has(name) && this.ourNetworkByName.has(name)) return false;
    }
    return true;
  }

  private connectMissing(
    node: ContainerNode,
    observed: ObservedContainer,
    after: string | undefined,
  ): string[] {
    return this.attachmentsOf(node)
      .filter((a) => observed.networks[a.network] === undefined)
      .map((a) => this.connect(node, a, after === undefined ? [] : [after], 'not attached', observed.id));
  }

  private connect(
    node: ContainerNode,
    attachment: Attachment,
    after: string[],
    cause: string,
    objectId?: string,
  ): string {
    const network = attachment.network;
    const id = `connect-network:${node.name}:${network}`;
    this.add({
      kind: 'connect-network',
      id,
      target: { type: 'container', name: node.name, node: node.id, ...(objectId ? { objectId } : {}) },
      cause,
      dependsOn: this.existing([...after, createNetworkId(network)]),
      container: node.name,
      network,
      aliases: [...attachment.aliases],
    });
    return id;
  }

  /** Endpoints of a kept container on networks of this task that its node does not list. */
  private disconnectExtraNetworks(node: ContainerNode, observed: ObservedContainer): void {
    const wanted = this.attachedTo(node);
    // Any order: the plan's actions are sorted at the end.
    for (const name in observed.networks) {
      const network = this.ourNetworkByName.get(name);
      // Orphan networks disconnect their endpoints themselves, before they are removed.
      if (wanted.has(name) || network === undefined || !this.graph.networkNames.has(name)) continue;
      this.disconnect(network, observed.id, node.name, 'not in desired graph');
    }
  }

  private disconnect(
    network: ObservedNetwork,
    containerId: string,
    containerName: string | undefined,
    cause: string,
  ): string {
    const id = `disconnect-network:${containerName ?? containerId}:${network.name}`;
    this.add({
      kind: 'disconnect-network',
      id,
      target: { type: 'network', name: network.name, node: network.labels[Label.node], objectId: network.id },
      cause,
      dependsOn: [],
      networkId: network.id,
      containerId,
      ...(containerName === undefined ? {} : { container: containerName }),
    });
    return id;
  }

  private removeContainer(observed: ObservedContainer, node: NodeId | undefined, cause: string): string {
    const id = `remove-container:${observed.name}`;
    this.add({
      kind: 'remove-container',
      id,
      target: { type: 'container', name: observed.name, ...(node ? { node } : {}), objectId: observed.id },
      cause,
      dependsOn: [],
      containerId: observed.id,
    });
    return id;
  }

  // ── orphans ───────────────────────────────────────────────────────────────────────────────────

  private planOrphanContainers(): void {
    // Every container of ours was found under a desired name: no orphan to look for.
    if (this.matched === this.ourContainers.length) return;
    for (const observed of this.ourContainers) {
      if (this.graph.containerNames.has(observed.name)) continue;
      if (observed.state === 'removing') {
        this.waiting.push({
          node: observed.labels[Label.node] ?? '',
          name: observed.name,
          reason: 'being removed',
        });
        continue;
      }
      this.removeContainer(observed, observed.labels[Label.node], ORPHAN);
    }
  }

  /**
   * dockerd refuses to remove a network with endpoints: every container on it is removed or
   * disconnected first, whoever owns it (a disconnect acts on our network, not on their container).
   */
  private planOrphanNetworks(): void {
    const ourById = new Map<string, ObservedContainer>();
    // Endpoints as the containers report them, by network id: one pass, not one per network.
    const endpoints = new Map<string, string[]>();
    for (const network of this.ourNetworks) {
      if (this.graph.networkNames.has(network.name)) continue;
      if (ourById.size === 0) {
        for (const c of this.ourContainers) {
          ourById.set(c.id, c);
          for (const endpoint of Object.values(c.networks)) {
            const ids = endpoints.get(endpoint.networkId);
            if (ids === undefined) endpoints.set(endpoint.networkId, [c.id]);
            else ids.push(c.id);
          }
        }
      }
      const attached = new Set(network.containerIds);
      for (const id of endpoints.get(network.id) ?? []) {
        if (ourById.get(id)!.networks[network.name]?.networkId === network.id) attached.add(id);
      }
      const after: string[] = [];
      const removing: string[] = [];
      for (const containerId of [...attached].sort(compare)) {
        const ours = ourById.get(containerId);
        const removal = ours && this.actions.get(`remove-container:${ours.name}`);
        if (removal !== undefined) after.push(removal.id);
        else if (ours?.state === 'removing') removing.push(ours.name);
        else {
          const name = ours?.name ?? this.containerName(containerId);
          const cause = ours ? 'orphan network' : 'stray endpoint of a container that is not ours';
          after.push(this.disconnect(network, containerId, name, cause));
        }
      }
      if (removing.length > 0) {
        this.waiting.push({
          node: network.labels[Label.node] ?? '',
          name: network.name,
          reason: `orphan network; waits for container ${removing.join(', ')} being removed`,
        });
        continue;
      }
      this.add({
        kind: 'remove-network',
        id: `remove-network:${network.name}`,
        target: {
          type: 'network',
          name: network.name,
          node: network.labels[Label.node],
          objectId: network.id,
        },
        cause: ORPHAN,
        dependsOn: after,
        networkId: network.id,
      });
    }
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────────

  private add(action: Action): void {
    if (action.target.node === undefined) delete action.target.node;
    this.actions.set(action.id, action);
  }

  /** The ids among `ids` that name actions of this plan. */
  private existing(ids: (string | undefined)[]): string[] {
    return ids.filter((id): id is string => id !== undefined && this.actions.has(id));
  }

  private wait(node: ContainerNode, reason: string, until?: number): void {
    this.waiting.push({ node: node.id, name: node.name, reason, ...(until === undefined ? {} : { until }) });
  }

  private networkName(id: NodeId): string {
    return this.graph.networkByNode.get(id)?.name ?? id;
  }

  /** The name of any container in the snapshot, ours or not, by Docker id. */
  private containerName(id: string): string | undefined {
    if (this.namesById === undefined) {
      // Only orphan networks with stray endpoints need this: built on first use.
      this.namesById = new Map();
      for (const c of sorted(this.snapshot.containers)) setOnce(this.namesById, c.id, c.name);
      for (const f of sorted(this.snapshot.foreign))
        if (f.type === 'container') this.namesById.set(f.id, f.name);
    }
    return this.namesById.get(id);
  }

  /** `node`'s attachments by network name (a bound node shares its id and networks with its graph node). */
  private attachmentsOf(node: ContainerNode): readonly Attachment[] {
    return this.graph.attachments.get(node.id) ?? attachmentsOf(node, (id) => this.networkName(id));
  }

  /** Names of the networks `node` is attached to (a bound node shares its id with its graph node). */
  private attachedTo(node: ContainerNode): ReadonlySet<string> {
    return (
      this.graph.attachedTo.get(node.id) ?? new Set(node.networks.map((a) => this.networkName(a.network)))
    );
  }
}

function attachmentsOf(node: ContainerNode, networkName: (id: NodeId) => string): Attachment[] {
  return node.networks.map((a) => ({
    network: networkName(a.network),
    aliases: [...a.aliases].sort(compare),
  }));
}

function createNetworkId(name: string): string {
  return `create-network:${name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byNameThenId<T extends { name: string; id: string }>(a: T, b: T): number {
  return compare(a.name, b.name) || compare(a.id, b.id);
}

/** By name then id; the input is left alone, and one already in order costs a single pass. */
function sorted<T extends { name: string; id: string }>(xs: readonly T[]): T[] {
  const copy = [...xs];
  for (let i = 1; i < copy.length; i++)
    if (byNameThenId(copy[i - 1]!, copy[i]!) > 0) return copy.sort(byNameThenId);
  return copy;
}

function firstByName<T extends { name: string }>(xs: T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const x of xs) if (!map.has(x.name)) map.set(x.name, x);
  return map;
}

function setOnce<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (!map.has(key)) map.set(key, value);
}

function describeOwner(labels: Record<string, string>): string {
  return `owner ${labels[Label.owner] ?? '?'}, task ${labels[Label.taskId] ?? '?'} run ${labels[Label.runId] ?? '?'}`;
}

/** The two hashes cut to the shortest prefix (at least 4) that tells them apart. */
function shortHashes(from: string, to: string): string {
  let n = 4;
  while (n < Math.max(from.length, to.length) && from.slice(0, n) === to.slice(0, n)) n++;
  return `${from.slice(0, n) || '(none)'}→${to.slice(0, n)}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
