/**
 * The decision: what must happen for the observed Docker state of one task to match its desired
 * graph. Data in, data out; the executors in `src/actions` do the work and the loop re-plans on
 * the next snapshot, so a plan only ever has to be right for the snapshot it was made from.
 */
import { bindImages, resolveImage } from '../desired-state/images.js';
import { Label, LABEL_NAMESPACE } from '../desired-state/labels.js';
import type {
  ContainerNode,
  DesiredState,
  NetworkAttachment,
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

class Planner {
  private readonly actions = new Map<string, Action>();
  private readonly waiting: Waiting[] = [];
  private readonly blocked: Blocked[] = [];

  private readonly ourContainers: ObservedContainer[];
  private readonly ourNetworks: ObservedNetwork[];
  private readonly ourContainerByName: Map<string, ObservedContainer>;
  private readonly ourNetworkByName: Map<string, ObservedNetwork>;
  /** Objects with a name we may need that are not ours: `${type}:${name}` → why not ours. */
  private readonly notOurs = new Map<string, string>();
  /** Docker id → name of every container we know of, ours or not. */
  private readonly containerNames = new Map<string, string>();
  private readonly resolved = new Map<string, ResolvedImage>();
  private readonly refusedImages = new Set<string>();
  private readonly networkStatus = new Map<NodeId, NetworkStatus>();
  private readonly networkByNode: Map<NodeId, NetworkNode>;
  /** Built once: per-container lookups made the planner quadratic in the graph's size. */
  private readonly desiredNetworkNames: Set<string>;
  private readonly desiredContainerNames: Set<string>;

  constructor(
    private readonly desired: DesiredState,
    private readonly snapshot: Snapshot,
    private readonly options: PlanOptions,
  ) {
    const { ownerId, taskId, runId } = desired.owner;
    const isThisTask = (labels: Record<string, string>): boolean =>
      labels[Label.owner] === ownerId &&
      labels[Label.taskId] === taskId &&
      labels[Label.runId] === String(runId);

    const containers = [...snapshot.containers].sort(byNameThenId);
    const networks = [...snapshot.networks].sort(byNameThenId);
    this.ourContainers = containers.filter((c) => isThisTask(c.labels));
    this.ourNetworks = networks.filter((n) => isThisTask(n.labels));
    this.ourContainerByName = firstByName(this.ourContainers);
    this.ourNetworkByName = firstByName(this.ourNetworks);
    this.networkByNode = new Map(desired.networks.map((n) => [n.id, n]));
    this.desiredNetworkNames = new Set(desired.networks.map((n) => n.name));
    this.desiredContainerNames = new Set(desired.containers.map((c) => c.name));

    for (const c of containers) this.containerNames.set(c.id, c.name);
    for (const f of [...snapshot.foreign].sort(byNameThenId)) {
      if (f.type === 'container') this.containerNames.set(f.id, f.name);
      setOnce(this.notOurs, `${f.type}:${f.name}`, f.reason);
    }
    for (const c of containers.filter((x) => !isThisTask(x.labels))) {
      setOnce(this.notOurs, `container:${c.name}`, describeOwner(c.labels));
    }
    for (const n of networks.filter((x) => !isThisTask(x.labels))) {
      setOnce(this.notOurs, `network:${n.name}`, describeOwner(n.labels));
    }
  }

  run(): Plan {
    this.planImages();
    this.planNetworks();
    const bound = this.bindContainers();
    this.planContainers(bound);
    this.planOrphanContainers();
    this.planOrphanNetworks();

    const actions = [...this.actions.values()].sort(
      (a, b) => PHASES.indexOf(a.kind) - PHASES.indexOf(b.kind) || compare(a.id, b.id),
    );
    const order = new Map(actions.map((a, i) => [a.id, i]));
    for (const a of actions)
      a.dependsOn = [...new Set(a.dependsOn)].sort((x, y) => order.get(x)! - order.get(y)!);
    const waiting = this.waiting.sort((a, b) => compare(a.name, b.name) || compare(a.reason, b.reason));
    const blocked = this.blocked.sort((a, b) => compare(a.name, b.name) || compare(a.reason, b.reason));
    const allReady = [...bound.values()].every((b) => b !== undefined && this.isReady(b.node, b.observed));
    return {
      taskId: this.desired.owner.taskId,
      runId: this.desired.owner.runId,
      snapshotTime: this.snapshot.time,
      actions,
      waiting,
      blocked,
      ready: allReady && actions.length === 0 && waiting.length === 0 && blocked.length === 0,
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
    const refs = new Set(this.desired.images);
    for (const c of this.desired.containers) {
      refs.add(c.image);
      if (c.imageKeyOf !== undefined) refs.add(c.imageKeyOf);
    }
    for (const ref of [...refs].sort(compare)) {
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
    for (const network of [...this.desired.networks].sort(byNameThenId)) {
      const conflict = this.notOurs.get(`network:${network.name}`);
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
    for (const node of [...this.desired.containers].sort(byNameThenId)) {
      const b = (this.options.bind ?? bindImages)(node, resolve);
      bound.set(node.id, b && { node: b, observed: this.ourContainerByName.get(node.name) });
    }
    return bound;
  }

  private planContainers(bound: Map<NodeId, BoundContainer | undefined>): void {
    for (const node of [...this.desired.containers].sort(byNameThenId)) {
      const conflict = this.notOurs.get(`container:${node.name}`);
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
    for (const name of Object.keys(observed.networks).sort(compare)) {
      const endpoint = observed.networks[name]!;
      const ours = this.ourNetworkByName.get(name);
      const desiredHere = node.networks.some((a) => this.networkName(a.network) === name);
      // A container that never ran has no network id on its endpoints yet (dockerd reports "").
      const recreated = endpoint.networkId !== '' && ours !== undefined && ours.id !== endpoint.networkId;
      if (desiredHere && (ours === undefined || recreated)) {
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
    const [first, ...rest] = node.networks;
    if (first === undefined) {
      this.wait(node, 'has no network');
      return;
    }
    const firstName = this.networkName(first.network);
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
      network: { name: firstName, aliases: [...first.aliases].sort(compare) },
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
    for (const dep of [...node.dependsOn].sort(compare)) {
      if (!bound.has(dep)) continue; // a network, or a node outside this graph
      const b = bound.get(dep);
      const name = this.desired.containers.find((c) => c.id === dep)?.name ?? dep;
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
    const wanted = new Set(node.networks.map((a) => this.networkName(a.network)));
    for (const name of wanted) {
      const ours = this.ourNetworkByName.get(name);
      if (ours === undefined || observed.networks[name]?.networkId !== ours.id) return false;
    }
    for (const name of Object.keys(observed.networks)) {
      if (!wanted.has(name) && this.ourNetworkByName.has(name)) return false;
    }
    return true;
  }

  private connectMissing(
    node: ContainerNode,
    observed: ObservedContainer,
    after: string | undefined,
  ): string[] {
    return node.networks
      .filter((a) => observed.networks[this.networkName(a.network)] === undefined)
      .map((a) => this.connect(node, a, after === undefined ? [] : [after], 'not attached', observed.id));
  }

  private connect(
    node: ContainerNode,
    attachment: NetworkAttachment,
    after: string[],
    cause: string,
    objectId?: string,
  ): string {
    const network = this.networkName(attachment.network);
    const id = `connect-network:${node.name}:${network}`;
    this.add({
      kind: 'connect-network',
      id,
      target: { type: 'container', name: node.name, node: node.id, ...(objectId ? { objectId } : {}) },
      cause,
      dependsOn: this.existing([...after, createNetworkId(network)]),
      container: node.name,
      network,
      aliases: [...attachment.aliases].sort(compare),
    });
    return id;
  }

  /** Endpoints of a kept container on networks of this task that its node does not list. */
  private disconnectExtraNetworks(node: ContainerNode, observed: ObservedContainer): void {
    const wanted = new Set(node.networks.map((a) => this.networkName(a.network)));
    for (const name of Object.keys(observed.networks).sort(compare)) {
      const network = this.ourNetworkByName.get(name);
      // Orphan networks disconnect their endpoints themselves, before they are removed.
      if (wanted.has(name) || network === undefined || !this.desiredNetworkNames.has(name)) continue;
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
    for (const observed of this.ourContainers) {
      if (this.desiredContainerNames.has(observed.name)) continue;
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
    const ourById = new Map(this.ourContainers.map((c) => [c.id, c]));
    for (const network of this.ourNetworks) {
      if (this.desiredNetworkNames.has(network.name)) continue;
      const attached = new Set(network.containerIds);
      for (const c of this.ourContainers) {
        if (c.networks[network.name]?.networkId === network.id) attached.add(c.id);
      }
      const after: string[] = [];
      const removing: string[] = [];
      for (const containerId of [...attached].sort(compare)) {
        const ours = ourById.get(containerId);
        const removal = ours && this.actions.get(`remove-container:${ours.name}`);
        if (removal !== undefined) after.push(removal.id);
        else if (ours?.state === 'removing') removing.push(ours.name);
        else {
          const name = ours?.name ?? this.containerNames.get(containerId);
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
    return this.networkByNode.get(id)?.name ?? id;
  }
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
