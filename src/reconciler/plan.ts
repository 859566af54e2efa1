/**
 * The decision: what must happen for the observed Docker state of one task to match its desired
 * graph. Data in, data out; the executors in `src/actions` do the work and the loop re-plans on
 * the next snapshot, so a plan only ever has to be right for the snapshot it was made from.
 */
import { describeSource } from '../desired-state/image-source.js';
import { bindImages, resolveImage } from '../desired-state/images.js';
import { Label, LABEL_NAMESPACE } from '../desired-state/labels.js';
import type { ContainerNode, DesiredState, NodeId, ResolvedImage } from '../desired-state/types.js';
import type { ObservedContainer, ObservedImage, ObservedNetwork, Snapshot } from '../observed-state/types.js';
import type { Action, ActionKind, Blocked, Plan, Waiting } from './actions.js';
import {
  PlanCache,
  byNameThenId,
  compare,
  type Attachment,
  type Binder,
  type ContainerEntry,
  type GraphIndex,
  type NetworkEntry,
} from './graph-index.js';
import { ofRun } from './ownership.js';
import { readyAs } from './readiness.js';
import { decideRestart, restartKey, type RestartLedger, type RestartPolicy } from './restarts.js';

export { PlanCache } from './graph-index.js';

export type ImageResolver = (ref: string) => ResolvedImage | undefined;

export interface PlanOptions {
  /** Epoch ms the restart backoff is measured against. */
  now: number;
  restarts: RestartLedger;
  restart: RestartPolicy;
  /**
   * Final form of a container node once the images it depends on are known (a proxy's `cmd` and
   * spec hash name the key of the image it serves) and the container whose network namespace it
   * joins exists; undefined until then.
   * Default: `bindImages` of `src/desired-state/images.ts`.
   */
  bind?: Binder;
  /** Default: `resolveImage` of `src/desired-state/images.ts` (repo digest, else image id). */
  resolveImage?: (ref: string, observed: ObservedImage) => ResolvedImage;
  /**
   * What earlier plans of the same graph derived from it (its index, each node's binding). The
   * loop keeps one per run; without it every plan derives them afresh. The plan is the same
   * either way: the cache only holds what is a function of the graph and the images.
   */
  cache?: PlanCache;
  /**
   * Images fetched (pulled or loaded) during this task run: an image whose policy is `always` is
   * fetched once per run, so a present one not in this set is fetched again before it is used.
   * Absent: none yet (a dry run shows the fetches a start would make).
   */
  fetched?: ReadonlySet<string>;
}

/**
 * Actions appear in this order (then by id). It is a topological order of every edge the planner
 * draws, so reading the text top to bottom is a valid way to run the plan.
 */
const PHASES: readonly ActionKind[] = [
  'pull-image',
  'load-image',
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
 * blocks the plan (`name-conflict`) and is never acted on. A network the graph joins without
 * owning it (`external`: the worker's task network) is only ever connected to; a missing one
 * blocks the plan (`network-missing`).
 */
export function plan(desired: DesiredState, snapshot: Snapshot, options: PlanOptions): Plan {
  return new Planner(desired, snapshot, options, options.cache ?? new PlanCache()).run();
}

/** A graph network's state in this plan. */
const enum NetworkStatus {
  Present = 1,
  Planned = 2,
  Blocked = 3,
  /** Ours, but made from another spec: removed (its endpoints first), then made again. */
  Replacing = 4,
}

/** Readiness of a graph container in this plan, computed once: unknown, ready, not ready. */
const enum Readiness {
  Unknown = 0,
  Ready = 1,
  NotReady = 2,
}

/** A graph network and what this plan found and decided for it. */
interface NetworkSlot {
  entry: NetworkEntry;
  /** Our network of that name in the snapshot (the first, by id, if it has several). */
  observed: ObservedNetwork | undefined;
  status: NetworkStatus;
}

/** A graph container and what this plan found for it. */
interface ContainerSlot {
  entry: ContainerEntry;
  /** The node bound to its images; undefined until they are resolved. */
  bound: ContainerNode | undefined;
  /** Our container of that name in the snapshot (the first, by id, if it has several). */
  observed: ObservedContainer | undefined;
  readiness: Readiness;
}

class Planner {
  /** The actions by phase (`PHASES` order), each list sorted by id at the end. */
  private readonly byPhase: Action[][] = PHASES.map(() => []);
  private readonly waiting: Waiting[] = [];
  private readonly blocked: Blocked[] = [];

  private readonly graph: GraphIndex;
  private readonly ourContainers: ObservedContainer[] = [];
  private readonly ourNetworks: ObservedNetwork[] = [];
  private ourNetworkIndex: Map<string, ObservedNetwork> | undefined;
  /** Containers and networks with a name we may need that are not ours: name → why not ours. */
  private readonly notOurs = { container: new Map<string, string>(), network: new Map<string, string>() };
  private readonly resolved = new Map<string, ResolvedImage>();
  private readonly refusedImages = new Set<string>();
  /** Containers with a removal in this plan: name → the removal's id. */
  private readonly removed = new Map<string, string>();
  private networkSlotByName: Map<string, NetworkSlot> | undefined;
  /** Made once per plan: readiness asks it of every container. */
  private readonly ourNetworkView = {
    of: (attachment: Attachment) => this.ourNetworkOf(attachment),
    has: (name: string) => this.ourNetworkByName().has(name),
  };
  /** Desired network names that two or more networks of ours hold. */
  private readonly duplicatedNames = new Set<string>();
  /** Our networks under a desired name whose spec hash differs: network id → the cause. */
  private readonly replacing = new Map<string, string>();
  private namesById: Map<string, string> | undefined;

  /** The graph's networks and containers, in the index's order, with what this plan found for each. */
  private readonly networks: NetworkSlot[];
  private readonly containers: ContainerSlot[];

  /** How many desired containers, and networks, have one of ours under their name. */
  private matched = 0;
  private networksMatched = 0;
  /** How many desired containers were found ready, with nothing to do (the steady state). */
  private settled = 0;

  constructor(
    private readonly desired: DesiredState,
    private readonly snapshot: Snapshot,
    private readonly options: PlanOptions,
    private readonly cache: PlanCache,
  ) {
    this.graph = cache.graph(desired);
    const isThisTask = (labels: Record<string, string>): boolean => ofRun(desired.owner, labels);

    // Sorted so that a name held twice (networks; containers only in made-up snapshots) resolves
    // the same way whatever order the snapshot lists them in.
    for (const f of sorted(snapshot.foreign)) setOnce(this.notOurs[f.type], f.name, f.reason);
    for (const c of sorted(snapshot.containers)) {
      if (isThisTask(c.labels)) this.ourContainers.push(c);
      else setOnce(this.notOurs.container, c.name, describeOwner(c.labels));
    }
    for (const n of sorted(snapshot.networks)) {
      if (isThisTask(n.labels)) this.ourNetworks.push(n);
      else setOnce(this.notOurs.network, n.name, describeOwner(n.labels));
    }
    // Both sides are sorted by name: one merge pass pairs each graph node with ours of its name.
    const networkAt = pairByName(this.graph.networks, (n) => n.node.name, this.ourNetworks);
    this.networks = this.graph.networks.map((entry, i) => ({
      entry,
      observed: entry.node.external ? this.externalNetwork(entry.node.name) : networkAt[i],
      status: NetworkStatus.Present,
    }));
    const containerAt = pairByName(this.graph.containers, (c) => c.node.name, this.ourContainers);
    this.containers = this.graph.containers.map((entry, i) => ({
      entry,
      bound: undefined,
      observed: containerAt[i],
      readiness: Readiness.Unknown,
    }));
  }

  run(): Plan {
    this.planImages();
    this.planNetworks();
    this.bindContainers();
    this.planContainers();
    this.planOrphanContainers();
    this.planOrphanNetworks();

    // Each phase's actions were added nearly in id order (the passes walk the graph sorted by
    // name): a check is one pass, and a sort is rarely needed.
    const actions: Action[] = [];
    for (const group of this.byPhase) {
      // Stryker disable next-line ConditionalExpression: sorting a sorted list changes nothing (the check only saves the sort)
      if (!isSortedById(group)) group.sort((a, b) => compare(a.id, b.id));
      // An id added twice (two orphan networks of one name, say) is one action: the last one.
      for (let i = 0; i < group.length; i++) {
        if (i + 1 < group.length && group[i + 1]!.id === group[i]!.id) continue;
        actions.push(group[i]!);
      }
    }
    const waiting = this.waiting.sort((a, b) => compare(a.name, b.name) || compare(a.reason, b.reason));
    const blocked = this.blocked.sort((a, b) => compare(a.name, b.name) || compare(a.reason, b.reason));
    const ready =
      actions.length === 0 &&
      waiting.length === 0 &&
      // Stryker disable next-line ConditionalExpression: every blocked entry leaves a container not ready (its image, network or name is refused), which the clause below sees
      blocked.length === 0 &&
      // Stryker disable next-line ConditionalExpression,EqualityOperator,MethodExpression: a container that is not ready always gets an action, a wait or a block, so with none of them every container is ready: this clause is a guard (and the settled count its shortcut)
      (this.settled === this.containers.length || this.containers.every((c) => this.isReady(c)));
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

  // ── images ────────────────────────────────────────────────────────────────────────────────────

  private planImages(): void {
    const observed = new Map<string, ObservedImage>();
    for (const image of [...this.snapshot.images].sort(
      (a, b) => compare(a.ref, b.ref) || compare(a.id, b.id),
    )) {
      if (!observed.has(image.ref)) observed.set(image.ref, image);
    }
    // Stryker disable next-line ArrayDeclaration: an entry under an undefined ref is never looked up (refs are strings)
    const sources = new Map((this.desired.imageSources ?? []).map((source) => [source.ref, source]));
    for (const ref of this.graph.imageRefs) {
      const image = observed.get(ref);
      // Stryker disable next-line StringLiteral: only "always" and "never" are acted on; the default is neither, whatever its text
      const source = sources.get(ref) ?? { from: 'registry', ref, policy: 'if-not-present' };
      const refresh = source.policy === 'always' && this.options.fetched?.has(ref) !== true;
      if (image === undefined || refresh) {
        if (source.policy === 'never') {
          this.refusedImages.add(ref);
          this.blocked.push({
            name: ref,
            code: 'image-missing',
            reason: `not present locally and the pull policy is "never" (fix: ${describeSource(source)} on the worker beforehand, or set images.pullPolicy)`,
          });
          continue;
        }
        // Until it is fetched, a present image is not the one to use: containers wait for it.
        const cause =
          image === undefined ? 'not present locally' : 'pull policy "always": fetched on every start';
        if (source.from === 'registry')
          this.add({
            kind: 'pull-image',
            id: fetchId(ref),
            target: { type: 'image', name: ref },
            cause,
            dependsOn: [],
            image: ref,
            ...(image === undefined ? {} : { refresh: true }),
          });
        else
          this.add({
            kind: 'load-image',
            id: loadId(ref),
            target: { type: 'image', name: ref },
            cause,
            dependsOn: [],
            image: ref,
            source,
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
   * A network of ours whose spec hash differs from the graph's is replaced: removed once its
   * endpoints are detached (by the orphan pass), made again on a later plan, and its containers
   * attached again; the containers are kept.
   */
  private planNetworks(): void {
    // Ours are sorted by name: two of one name stand side by side.
    for (let i = 1; i < this.ourNetworks.length; i++) {
      const name = this.ourNetworks[i]!.name;
      if (name === this.ourNetworks[i - 1]!.name && this.graph.networkNames.has(name))
        this.duplicatedNames.add(name);
    }
    for (const slot of this.networks) {
      const network = slot.entry.node;
      if (network.external) {
        // Someone else's to make and to remove: all a plan can do is wait for it, and it will not come.
        if (slot.observed === undefined) {
          slot.status = NetworkStatus.Blocked;
          this.blocked.push({
            node: network.id,
            name: network.name,
            code: 'network-missing',
            reason:
              'the network to join is not ours and does not exist; whoever made it for the task must create it first',
          });
        }
        continue;
      }
      const conflict = this.notOurs.network.get(network.name);
      if (conflict !== undefined) {
        slot.status = NetworkStatus.Blocked;
        this.blocked.push({
          node: network.id,
          name: network.name,
          code: 'name-conflict',
          reason: `a network that is not ours holds this name (${conflict})`,
        });
      } else if (slot.observed !== undefined) {
        const observedHash = slot.observed.labels[Label.specHash] ?? '';
        if (observedHash !== network.specHash) {
          slot.status = NetworkStatus.Replacing;
          this.replacing.set(slot.observed.id, `spec hash ${shortHashes(observedHash, network.specHash)}`);
        } else {
          slot.status = NetworkStatus.Present;
          // Stryker disable next-line UpdateOperator: the count only lets the orphan pass stop early (its slow path finds nothing)
          this.networksMatched++;
        }
      } else {
        slot.status = NetworkStatus.Planned;
        this.add({
          kind: 'create-network',
          id: slot.entry.createId,
          target: { type: 'network', name: network.name, node: network.id },
          cause: 'not found',
          dependsOn: [],
          network,
        });
      }
    }
  }

  // ── containers ────────────────────────────────────────────────────────────────────────────────

  /** Binds each desired container to its images; `bound` stays undefined where that is not possible yet. */
  private bindContainers(): void {
    const resolve: ImageResolver = (ref) => this.resolved.get(ref);
    const bind: Binder = this.options.bind ?? bindImages;
    for (const slot of this.containers) {
      const { node } = slot.entry;
      const image = this.resolved.get(node.image);
      // Stryker disable next-line ConditionalExpression: resolved.get(undefined) is undefined too
      const servedKey = node.imageKeyOf === undefined ? undefined : this.resolved.get(node.imageKeyOf)?.key;
      const namespaceId = this.namespaceOwnerId(slot);
      const last = image && this.cache.lastBinding(slot.entry, bind, image.id, servedKey, namespaceId);
      // Stryker disable next-line ConditionalExpression: the cache only saves the bind; binding afresh gives the same node
      if (last !== undefined) {
        slot.bound = last;
      } else {
        const b = bind(node, resolve, namespaceId);
        this.cache.remember(
          slot.entry,
          // Stryker disable next-line all: what is remembered is checked against bind, image, key and namespace before use; anything else is never used
          b && image && { bind, imageId: image.id, servedKey, namespaceId, node: b },
        );
        slot.bound = b;
      }
      // Stryker disable next-line all: the count only lets the orphan pass stop early (its slow path finds nothing)
      if (slot.observed !== undefined) this.matched++;
    }
  }

  private planContainers(): void {
    // Namespace owners first: whether one is removed in this plan decides whether a container
    // that joins its namespace may start (see `unreadyDependencies`).
    for (const slot of this.containers) if (slot.entry.ownsNamespace) this.planSlot(slot);
    for (const slot of this.containers) if (!slot.entry.ownsNamespace) this.planSlot(slot);
  }

  private planSlot(slot: ContainerSlot): void {
    const { node } = slot.entry;
    const conflict = this.notOurs.container.get(node.name);
    if (conflict !== undefined) {
      this.blocked.push({
        node: node.id,
        name: node.name,
        code: 'name-conflict',
        reason: `a container that is not ours holds this name (${conflict})`,
      });
      return;
    }
    if (slot.bound === undefined) {
      const unresolved = [node.image, node.imageKeyOf]
        .filter((r): r is string => r !== undefined && !this.resolved.has(r))
        .filter((r) => !this.refusedImages.has(r));
      // A refused image is reported once, as blocked: no container that needs it adds anything.
      const owner = slot.entry.namespaceOwner;
      if (unresolved.length > 0) {
        this.wait(node, `image ${unresolved.join(', ')} not present locally`);
      } else if (owner !== undefined && this.namespaceOwnerId(slot) === undefined) {
        // Docker joins a namespace by the owner's id: there is none to name before it exists.
        this.wait(node, `joins the network namespace of ${owner.node.name}, which is not created yet`);
      } else if (![node.image, node.imageKeyOf].some((r) => r !== undefined && this.refusedImages.has(r))) {
        this.wait(node, 'images not bound');
      }
      return;
    }
    this.planContainer(slot, slot.bound, slot.observed);
  }

  private planContainer(
    slot: ContainerSlot,
    node: ContainerNode,
    observed: ObservedContainer | undefined,
  ): void {
    // The steady state in one pass: a ready container needs nothing (no replacement, connect,
    // disconnect or wait) unless a network it is on is blocked, which only a network that is not
    // ours can make it. At 10,000 nodes the passes below cost a plan ~40% more.
    // Stryker disable next-line LogicalOperator: a container not observed is not ready either
    if (observed !== undefined && this.notOurs.network.size === 0 && this.isReady(slot)) {
      // Stryker disable next-line UpdateOperator: the count is only a shortcut of the ready clause, itself a guard (see run)
      this.settled++;
      return;
    }
    if (observed?.state === 'removing') {
      this.wait(node, 'being removed');
      return;
    }
    if (observed?.state === 'unknown') {
      this.wait(node, 'in a state Docker reports and docker-services does not know');
      return;
    }
    const unusable = slot.entry.attachments.find((a) => {
      const status = a.entry === undefined ? undefined : this.networks[a.entry.index]!.status;
      return (
        status === NetworkStatus.Blocked ||
        status === NetworkStatus.Replacing ||
        this.duplicatedNames.has(a.network)
      );
    });
    if (unusable !== undefined) {
      const status = this.networks[unusable.entry!.index]!.status;
      // Docker resolves a network by name: with two of one name, a create or connect fails.
      const why =
        status === NetworkStatus.Blocked
          ? 'is blocked'
          : status === NetworkStatus.Replacing
            ? 'is being replaced'
            : 'has a duplicate being removed';
      this.wait(node, `network ${unusable.network} ${why}`);
      return;
    }

    const replaceCause = observed && this.replaceCause(slot, node, observed);
    if (observed === undefined || replaceCause !== undefined) {
      // Stryker disable next-line StringLiteral: observed is defined here only with a replace cause
      const removeId = observed && this.removeContainer(observed, node.id, replaceCause ?? '');
      this.createAndStart(slot, node, replaceCause ?? 'not found', removeId);
      return;
    }

    this.disconnectExtraNetworks(slot, node, observed);
    switch (observed.state) {
      case 'running': {
        // Docker says unhealthy after the health check's own retries: a service that stopped
        // serving, restarted (or failed) by the restart policy like one that exited.
        if (observed.health === 'unhealthy') {
          this.restart(slot, node, observed);
          return;
        }
        this.connectMissing(slot, node, observed);
        if (observed.health === 'starting') this.wait(node, `health ${observed.health}`);
        return;
      }
      case 'created': {
        this.startWhenReady(slot, node, observed, 'created, not started', undefined);
        return;
      }
      case 'exited':
      case 'dead': {
        this.restart(slot, node, observed);
        return;
      }
      // Stryker disable next-line ConditionalExpression: unreachable, every other state returned above
      default:
        // 'paused' and 'restarting' are replaced by `replaceCause`; 'removing' waited above.
        return;
    }
  }

  /** Why `observed` cannot be kept for `node`, or undefined when it can. */
  private replaceCause(
    slot: ContainerSlot,
    node: ContainerNode,
    observed: ObservedContainer,
  ): string | undefined {
    const observedHash = observed.labels[Label.specHash] ?? '';
    if (observedHash !== node.specHash) return `spec hash ${shortHashes(observedHash, node.specHash)}`;
    // We never pause or set a restart policy: either state means someone else changed the container.
    if (observed.state === 'paused' || observed.state === 'restarting') return `state ${observed.state}`;
    // An endpoint on a network that has since been removed (or recreated under the same name)
    // makes the container unstartable and cannot be disconnected any more.
    for (const attachment of slot.entry.attachments) {
      const name = attachment.network;
      const endpoint = observed.networks[name];
      if (endpoint === undefined) continue;
      const ours = this.ourNetworkOf(attachment);
      // A container that never ran has no network id on its endpoints yet (dockerd reports "").
      const recreated = endpoint.networkId !== '' && ours !== undefined && ours.id !== endpoint.networkId;
      if (ours === undefined || recreated) {
        return `endpoint on ${name} is stale (network ${ours === undefined ? 'gone' : 'recreated'})`;
      }
    }
    return undefined;
  }

  private createAndStart(
    slot: ContainerSlot,
    node: ContainerNode,
    cause: string,
    removeId: string | undefined,
    restart?: { key: string; attempt: number },
  ): void {
    const { attachments, createId, namespaceOwner } = slot.entry;
    if (namespaceOwner !== undefined && this.removed.has(namespaceOwner.node.name)) {
      // It would be created in the namespace of the container this plan removes.
      this.wait(node, `joins the network namespace of ${namespaceOwner.node.name}, which is being replaced`);
      return;
    }
    const first = attachments[0];
    if (first === undefined && node.namespaceContainerId === undefined) {
      this.wait(node, 'has no network');
      return;
    }
    // In plan order: the removal it replaces, the network it is created on. Never a fetch: a node
    // is bound only once its images are present and fetched for this run (see PlanOptions.bind).
    // A container that joins another's namespace is created on none: Docker needs only that the
    // owner exists.
    const dependsOn: string[] = [];
    if (removeId !== undefined) dependsOn.push(removeId);
    if (first !== undefined && this.isPlanned(first)) dependsOn.push(first.entry!.createId);
    this.add({
      kind: 'create-container',
      id: createId,
      target: { type: 'container', name: node.name, node: node.id },
      cause,
      dependsOn,
      container: node,
      ...(first === undefined ? {} : { network: { name: first.network, aliases: [...first.aliases] } }),
    });
    const after = [createId];
    for (let k = 1; k < attachments.length; k++)
      after.push(this.connect(node, attachments[k]!, createId, 'attach before start'));
    if (this.waitsForDependencies(slot, node)) return;
    this.startAfter(slot, node, inOrder(after, 1), cause, restart, undefined);
  }

  private startWhenReady(
    slot: ContainerSlot,
    node: ContainerNode,
    observed: ObservedContainer,
    cause: string,
    restart: { key: string; attempt: number } | undefined,
  ): void {
    if (this.waitsForDependencies(slot, node)) return;
    const connects = this.connectMissing(slot, node, observed);
    this.startAfter(slot, node, inOrder(connects, 0), cause, restart, observed.id);
  }

  /** Records why `node` cannot start yet, if a container it depends on is not ready. */
  private waitsForDependencies(slot: ContainerSlot, node: ContainerNode): boolean {
    const waitFor = this.unreadyDependencies(slot);
    if (waitFor === undefined) return false;
    this.wait(node, waitFor);
    return true;
  }

  private startAfter(
    slot: ContainerSlot,
    node: ContainerNode,
    dependsOn: string[],
    cause: string,
    restart: { key: string; attempt: number } | undefined,
    objectId: string | undefined,
  ): void {
    this.add({
      kind: 'start-container',
      id: slot.entry.startId,
      target: objectId
        ? { type: 'container', name: node.name, node: node.id, objectId }
        : { type: 'container', name: node.name, node: node.id },
      cause,
      dependsOn,
      container: node.name,
      ...(restart ? { restart } : {}),
    });
  }

  /** Restarts an exited, dead or unhealthy container by the restart policy. */
  private restart(slot: ContainerSlot, node: ContainerNode, observed: ObservedContainer): void {
    const unhealthy = observed.state === 'running';
    const exit = unhealthy
      ? 'unhealthy'
      : `${observed.state}(${observed.exitCode}${observed.oomKilled ? ', oom' : ''})`;
    const { restart: policy, restarts, now } = this.options;
    const key = restartKey(node.id, node.specHash);
    // NaN (Date.parse of undefined) and undefined are alike to decideRestart: no time known.
    // Stryker disable next-line ConditionalExpression: NaN and undefined alike
    const finishedAt = observed.finishedAt === undefined ? undefined : Date.parse(observed.finishedAt);
    // Stryker disable next-line ConditionalExpression: NaN and undefined alike
    const startedAt = observed.startedAt === undefined ? undefined : Date.parse(observed.startedAt);
    // Stryker disable next-line ConditionalExpression: NaN and undefined alike
    const ranMs = startedAt === undefined ? undefined : (unhealthy ? now : (finishedAt ?? now)) - startedAt;
    const decision = decideRestart(policy, restarts[key], unhealthy ? undefined : finishedAt, now, ranMs);
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
        if (observed.state !== 'exited' || slot.entry.ownsNamespace) {
          // dockerd refuses to start a dead container ("marked for removal"), and a start of a
          // running one does nothing: the restart is a fresh container under the same key and budget.
          // A namespace owner restarted in place would keep its id yet have a new namespace, which
          // the containers that joined the old one never see: a fresh one has a new id, and their
          // specs, bound to the id, drift and are made again in the new namespace.
          if (this.unreadyDependencies(slot) !== undefined) {
            this.startWhenReady(slot, node, observed, cause, restart);
            return;
          }
          const removeId = this.removeContainer(observed, node.id, cause, restart);
          this.createAndStart(slot, node, cause, removeId, undefined);
          return;
        }
        this.startWhenReady(slot, node, observed, cause, restart);
        return;
      }
    }
  }

  /**
   * Why the container may not start yet, or undefined. The owner of the network namespace it joins
   * must run (dockerd refuses to start a container in the namespace of one that does not), as the
   * container it was bound to, and not be removed by this plan; it need not be healthy: a proxy that is not listening yet refuses
   * a connection to its loopback port at once, which a client can retry, and the name
   * `taskcluster` resolves from the first instant (the owner's /etc/hosts). Any other container it
   * depends on must be ready.
   */
  private unreadyDependencies(slot: ContainerSlot): string | undefined {
    let reasons: string[] | undefined;
    for (const dependency of slot.entry.dependencies) {
      const dep = this.containers[dependency.index]!;
      const name = dependency.node.name;
      if (dependency === slot.entry.namespaceOwner) {
        const owner = dep.observed;
        if (
          // Stryker disable next-line OptionalChaining: a bound container's namespace owner is observed (the binding names its id)
          owner?.state === 'running' &&
          // Stryker disable next-line ConditionalExpression,OptionalChaining: the node was bound with the id of this owner (bindImages, and the cache checks it), so only a binder that ignores it differs
          owner.id === slot.bound?.namespaceContainerId &&
          !this.removed.has(owner.name)
        )
          continue;
        (reasons ??= []).push(`${name} to run (its network namespace is joined)`);
        continue;
      }
      if (this.isReady(dep)) continue;
      (reasons ??= []).push(
        dep.bound === undefined
          ? `${name} not bound yet`
          : `${name} not ready (${this.describe(dep.bound, dep.observed)})`,
      );
    }
    return reasons ? `waits for ${reasons.join(', ')}` : undefined;
  }

  private describe(node: ContainerNode, observed: ObservedContainer | undefined): string {
    if (observed === undefined) return 'not created yet';
    if (observed.labels[Label.specHash] !== node.specHash) return 'spec changed';
    if (observed.state !== 'running') return observed.state;
    if (observed.health !== 'healthy' && observed.health !== 'none') return `health ${observed.health}`;
    return 'networks not attached';
  }

  /**
   * The container runs with its bound spec, on exactly its networks, and healthy where it has a
   * health check. Computed once per plan: services ask it of their proxies too.
   */
  private isReady(slot: ContainerSlot): boolean {
    // Stryker disable next-line ConditionalExpression: the readiness is only kept to save computing it again
    if (slot.readiness === Readiness.Unknown) {
      slot.readiness =
        slot.bound !== undefined && this.runsAsBound(slot, slot.bound) ? Readiness.Ready : Readiness.NotReady;
    }
    return slot.readiness === Readiness.Ready;
  }

  private runsAsBound(slot: ContainerSlot, node: ContainerNode): boolean {
    const { observed, entry } = slot;
    return (
      observed !== undefined &&
      readyAs(node, observed, entry.attachments, entry.attachedCount, this.ourNetworkView)
    );
  }

  private connectMissing(slot: ContainerSlot, node: ContainerNode, observed: ObservedContainer): string[] {
    const ids: string[] = [];
    for (const attachment of slot.entry.attachments) {
      if (observed.networks[attachment.network] === undefined)
        ids.push(this.connect(node, attachment, undefined, 'not attached', observed.id));
    }
    return ids;
  }

  private connect(
    node: ContainerNode,
    attachment: Attachment,
    after: string | undefined,
    cause: string,
    objectId?: string,
  ): string {
    const network = attachment.network;
    const id = attachment.connectId;
    // In plan order: the network's creation, then the container's.
    const dependsOn = this.isPlanned(attachment) ? [attachment.entry!.createId] : [];
    if (after !== undefined) dependsOn.push(after);
    this.add({
      kind: 'connect-network',
      id,
      target: objectId
        ? { type: 'container', name: node.name, node: node.id, objectId }
        : { type: 'container', name: node.name, node: node.id },
      cause,
      dependsOn,
      container: node.name,
      network,
      aliases: [...attachment.aliases],
    });
    return id;
  }

  /** Endpoints of a kept container on networks of this task that its node does not list. */
  private disconnectExtraNetworks(
    slot: ContainerSlot,
    node: ContainerNode,
    observed: ObservedContainer,
  ): void {
    const { attachments } = slot.entry;
    // Any order: the plan's actions are sorted at the end.
    for (const name in observed.networks) {
      if (attachments.some((a) => a.network === name)) continue;
      const network = this.ourNetworkByName().get(name);
      // Orphan networks disconnect their endpoints themselves, before they are removed.
      // A network of ours outside the graph is an orphan: its pass makes the same disconnect (one id), later.
      // Stryker disable next-line LogicalOperator: see above
      if (network === undefined || !this.graph.networkNames.has(name)) continue;
      this.disconnect(network, observed.id, node.name, 'not in desired graph');
    }
  }

  private disconnect(
    network: ObservedNetwork,
    containerId: string,
    containerName: string | undefined,
    cause: string,
    foreign = false,
  ): string {
    const id = `disconnect-network:${containerName ?? containerId}:${network.name}`;
    const node = network.labels[Label.node];
    this.add({
      kind: 'disconnect-network',
      id,
      target:
        // Stryker disable next-line ConditionalExpression: a node of undefined is no node in every rendering and comparison
        node === undefined
          ? { type: 'network', name: network.name, objectId: network.id }
          : { type: 'network', name: network.name, node, objectId: network.id },
      cause,
      dependsOn: [],
      networkId: network.id,
      containerId,
      // Stryker disable next-line ConditionalExpression: a container of undefined is none in every rendering and comparison
      ...(containerName === undefined ? {} : { container: containerName }),
      ...(foreign ? { foreign } : {}),
    });
    return id;
  }

  private removeContainer(
    observed: ObservedContainer,
    node: NodeId | undefined,
    cause: string,
    restart?: { key: string; attempt: number },
  ): string {
    const id = `remove-container:${observed.name}`;
    this.removed.set(observed.name, id);
    this.add({
      kind: 'remove-container',
      id,
      target:
        // Stryker disable next-line ConditionalExpression: a node of undefined is no node in every rendering and comparison
        node === undefined
          ? { type: 'container', name: observed.name, objectId: observed.id }
          : { type: 'container', name: observed.name, node, objectId: observed.id },
      cause,
      dependsOn: [],
      containerId: observed.id,
      ...(restart ? { restart } : {}),
    });
    return id;
  }

  // ── orphans ───────────────────────────────────────────────────────────────────────────────────

  private planOrphanContainers(): void {
    // Every container of ours was found under a desired name: no orphan to look for.
    // Stryker disable next-line ConditionalExpression: a shortcut; the loop below finds nothing then
    if (this.graph.namesUnique && this.matched === this.ourContainers.length) return;
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
    // Every network of ours was found under a desired name (a network not ours holding one is
    // blocked, and not counted): no orphan to look for.
    // Stryker disable next-line ConditionalExpression: a shortcut; the loop below finds nothing then
    if (this.graph.namesUnique && this.networksMatched === this.ourNetworks.length) return;
    const ourById = new Map<string, ObservedContainer>();
    // Endpoints as the containers report them, by network id: one pass, not one per network.
    const endpoints = new Map<string, string[]>();
    for (const network of this.ourNetworks) {
      const replacing = this.replacing.get(network.id) ?? this.duplicate(network);
      if (replacing === undefined && this.graph.networkNames.has(network.name)) continue;
      // Stryker disable next-line ConditionalExpression: built once; built again it is the same (the ids go into a set)
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
        // The endpoint was found by this network's id, so it is keyed by this network's name.
        // Stryker disable next-line OptionalChaining: see above
        if (ourById.get(id)!.networks[network.name]?.networkId === network.id) attached.add(id);
      }
      const after: string[] = [];
      const removing: string[] = [];
      for (const containerId of [...attached].sort(compare)) {
        const ours = ourById.get(containerId);
        const removal = ours && this.removed.get(ours.name);
        if (removal !== undefined) after.push(removal);
        else if (ours?.state === 'removing') removing.push(ours.name);
        else {
          const name = ours?.name ?? this.containerName(containerId);
          const cause = !ours
            ? 'stray endpoint of a container that is not ours'
            : replacing === undefined
              ? 'orphan network'
              : 'network being removed';
          after.push(this.disconnect(network, containerId, name, cause, !ours));
        }
      }
      if (removing.length > 0) {
        this.waiting.push({
          node: network.labels[Label.node] ?? '',
          name: network.name,
          reason: `${replacing === undefined ? 'orphan network' : 'network being removed'}; waits for container ${removing.join(', ')} being removed`,
        });
        continue;
      }
      const node = network.labels[Label.node];
      this.add({
        kind: 'remove-network',
        id: `remove-network:${network.name}`,
        target:
          // Stryker disable next-line ConditionalExpression: a node of undefined is no node in every rendering and comparison
          node === undefined
            ? { type: 'network', name: network.name, objectId: network.id }
            : { type: 'network', name: network.name, node, objectId: network.id },
        cause: replacing ?? ORPHAN,
        dependsOn: inPlanOrder(after),
        networkId: network.id,
      });
    }
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────────

  private add(action: Action): void {
    this.byPhase[PHASE_RANK[action.kind]]!.push(action);
  }

  /**
   * Why `network` is removed though the graph wants its name: dockerd's duplicate-name check is
   * best effort, and a create retried while the first one was still under way can leave two of
   * ours with one name (containers then fail on the ambiguous name). The one the plan pairs with
   * the graph (the first by id) stays.
   */
  private duplicate(network: ObservedNetwork): string | undefined {
    // Without a slot of that name, `kept` below is undefined too.
    // Stryker disable next-line ConditionalExpression: see above
    if (!this.graph.networkNames.has(network.name)) return undefined;
    this.networkSlotByName ??= new Map(this.networks.map((slot) => [slot.entry.node.name, slot]));
    // The slot of an observed network's name holds the first of ours of that name: never undefined.
    // Stryker disable next-line OptionalChaining: see above
    const kept = this.networkSlotByName.get(network.name)?.observed;
    // Stryker disable next-line ConditionalExpression: see above
    return kept !== undefined && kept.id !== network.id
      ? `duplicate of network ${kept.id.slice(0, 12)}`
      : undefined;
  }

  /** The network of that name that the graph joins and does not own (the first by id), if it exists. */
  private externalNetwork(name: string): ObservedNetwork | undefined {
    let found: ObservedNetwork | undefined;
    // Stryker disable next-line ArrayDeclaration: an entry without a name matches none
    for (const n of this.snapshot.external ?? [])
      if (n.name === name && (found === undefined || compare(n.id, found.id) < 0)) found = n;
    return found;
  }

  /** The Docker id of the container whose network namespace `slot`'s node joins, when it exists. */
  private namespaceOwnerId(slot: ContainerSlot): string | undefined {
    const owner = slot.entry.namespaceOwner;
    return owner === undefined ? undefined : this.containers[owner.index]!.observed?.id;
  }

  /** Whether this plan creates the network of `attachment`. */
  private isPlanned(attachment: Attachment): boolean {
    return (
      attachment.entry !== undefined &&
      this.networks[attachment.entry.index]!.status === NetworkStatus.Planned
    );
  }

  /** Our network of the attachment's name. */
  private ourNetworkOf(attachment: Attachment): ObservedNetwork | undefined {
    return attachment.entry !== undefined
      ? this.networks[attachment.entry.index]!.observed
      : this.ourNetworkByName().get(attachment.network);
  }

  /** Our networks by name (the first of a name, by id): only off the steady state's path. */
  private ourNetworkByName(): Map<string, ObservedNetwork> {
    // Stryker disable next-line ConditionalExpression: built once; built again it is the same
    if (this.ourNetworkIndex === undefined) {
      this.ourNetworkIndex = new Map();
      for (const n of this.ourNetworks) setOnce(this.ourNetworkIndex, n.name, n);
    }
    return this.ourNetworkIndex;
  }

  private wait(node: ContainerNode, reason: string, until?: number): void {
    // Stryker disable next-line ConditionalExpression: an until of undefined is none in every rendering and comparison
    this.waiting.push({ node: node.id, name: node.name, reason, ...(until === undefined ? {} : { until }) });
  }

  /** The name of any container in the snapshot, ours or not, by Docker id. */
  private containerName(id: string): string | undefined {
    // Stryker disable next-line ConditionalExpression: built once; built again it is the same
    if (this.namesById === undefined) {
      // Only orphan networks with stray endpoints need this: built on first use.
      this.namesById = new Map();
      for (const c of sorted(this.snapshot.containers)) setOnce(this.namesById, c.id, c.name);
      for (const f of sorted(this.snapshot.foreign))
        // Stryker disable next-line ConditionalExpression: Docker's ids of networks and of containers do not meet
        if (f.type === 'container') this.namesById.set(f.id, f.name);
    }
    return this.namesById.get(id);
  }
}

function fetchId(ref: string): string {
  return `pull-image:${ref}`;
}

function loadId(ref: string): string {
  return `load-image:${ref}`;
}

/** By name then id; the input is left alone, and one already in order (as observers give it) costs a pass. */
function sorted<T extends { name: string; id: string }>(xs: readonly T[]): readonly T[] {
  for (let i = 1; i < xs.length; i++)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: sorting a sorted list changes nothing (the check only saves the copy)
    if (byNameThenId(xs[i - 1]!, xs[i]!) > 0) return [...xs].sort(byNameThenId);
  return xs;
}

/** For each of `graph` (sorted by name), the first of `ours` (sorted by name) with its name. */
function pairByName<G, O extends { name: string }>(
  graph: readonly G[],
  nameOf: (g: G) => string,
  ours: readonly O[],
): (O | undefined)[] {
  // Stryker disable next-line ArrayDeclaration: the length is only a hint; every index is set below
  const paired = new Array<O | undefined>(graph.length);
  let j = 0;
  for (let i = 0; i < graph.length; i++) {
    const name = nameOf(graph[i]!);
    while (j < ours.length && ours[j]!.name < name) j++;
    paired[i] = j < ours.length && ours[j]!.name === name ? ours[j] : undefined;
  }
  return paired;
}

// Stryker disable all: only saves a sort; a wrong answer makes run() sort a sorted list
function isSortedById(actions: readonly Action[]): boolean {
  for (let i = 1; i < actions.length; i++) if (compare(actions[i - 1]!.id, actions[i]!.id) > 0) return false;
  return true;
}
// Stryker restore all

/** `ids` with the ids from `from` on (of one phase) sorted, without repeats. */
function inOrder(ids: string[], from: number): string[] {
  // Stryker disable next-line ArithmeticOperator: with a sum the early return is only rarer; a sort of one id changes nothing
  if (ids.length - from < 2) return ids;
  return [...ids.slice(0, from), ...[...new Set(ids.slice(from))].sort(compare)];
}

/** Action ids in the plan's order (phase, then id), without repeats. */
function inPlanOrder(ids: string[]): string[] {
  // Stryker disable next-line ConditionalExpression: sorting fewer than two changes nothing
  if (ids.length < 2) return ids;
  const rank = (id: string) => PHASE_RANK[id.slice(0, id.indexOf(':')) as ActionKind];
  return [...new Set(ids)].sort((a, b) => rank(a) - rank(b) || compare(a, b));
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
