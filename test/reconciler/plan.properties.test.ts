/**
 * Property tests of the planner alone, over random desired graphs × random initial states (with
 * other tasks' objects and foreign objects). A tiny pure model applies a plan to a snapshot the
 * way Docker would, refusing what Docker refuses (a network with endpoints, a container on a
 * missing network or image, a dead or removing container started, a name taken): the planner's
 * ordering is trusted only through `dependsOn`, since actions are applied in a random order that
 * respects those edges and nothing else.
 *
 * The loop's half (executors, faults, events) is tested elsewhere; here a round is: plan → apply
 * every action → tick (health checks pass, removals finish, time moves past any backoff).
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { bindImages, resolveImage } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import type { ContainerNode, DesiredState, OwnerRef } from '../../src/desired-state/types.js';
import type {
  ContainerState,
  HealthStatus,
  ObservedContainer,
  Snapshot,
} from '../../src/observed-state/types.js';
import type { Action, Plan } from '../../src/reconciler/actions.js';
import { formatPlan } from '../../src/reconciler/format.js';
import { PlanCache, plan as realPlan, type PlanOptions } from '../../src/reconciler/plan.js';
import { recordRestart, type RestartLedger } from '../../src/reconciler/restarts.js';
import {
  BASE_NOW,
  BASE_TIME,
  baseOptions,
  boundContainers,
  buildDesired,
  clone,
  convergedSnapshot,
  names,
  objectId,
  observedImage,
  simpleBind,
  simpleResolveImage,
  type ServiceInput,
} from '../support/builders.js';
import { propertyRuns } from '../support/property-runs.js';

type Planner = (desired: DesiredState, snapshot: Snapshot, options: PlanOptions) => Plan;

const OWNER: OwnerRef = { ownerId: 'worker-7', taskId: 'fXaAmhBlTXmKjFmfd7Fh9A', runId: 1 };
const OTHER_TASK: OwnerRef = { ownerId: 'worker-7', taskId: 'Zq0vH1sVRhmDw0oJxzzXtA', runId: 1 };
const OTHER_OWNER: OwnerRef = { ownerId: 'worker-9', taskId: 'Pp3c2XRmQyC0zC8aQ9cX4w', runId: 1 };
const SERVICE_NAMES = ['db', 'redis', 'cache', 'web', 'queue'] as const;
const IMAGES = ['ds-fixtures/postgres:latest', 'ds-fixtures/redis:latest', 'ds-fixtures/busybox:latest'];
const POLICY = { mode: 'restart' as const, initialBackoffMs: 1_000, maxBackoffMs: 8_000, maxRestarts: 50 };
const MAX_ROUNDS = 8;
const RUNS = propertyRuns(Number(process.env.DS_PROPERTY_RUNS ?? 150));

// ── the model ───────────────────────────────────────────────────────────────────────────────────

class DockerRefused extends Error {}

interface World {
  snapshot: Snapshot;
  now: number;
  ledger: RestartLedger;
  /** Containers whose image or node defines a health check report `starting` after a start. */
  hasHealthCheck: Set<string>;
  /** Container name → the id of the container whose network namespace it was created in. */
  namespaceOf: Map<string, string>;
  serial: number;
}

function refuse(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DockerRefused(message);
}

function nameTaken(s: Snapshot, type: 'container' | 'network', name: string): boolean {
  const observed = type === 'container' ? s.containers : s.networks;
  return observed.some((x) => x.name === name) || s.foreign.some((f) => f.type === type && f.name === name);
}

/** Applies one action as dockerd would, mutating `w`. */
function applyAction(w: World, a: Action): void {
  const s = w.snapshot;
  switch (a.kind) {
    case 'pull-image': {
      if (!s.images.some((i) => i.ref === a.image)) s.images.push(observedImage(a.image));
      s.missingImages = s.missingImages.filter((r) => r !== a.image);
      return;
    }
    case 'create-network': {
      refuse(!nameTaken(s, 'network', a.network.name), `network name ${a.network.name} taken`);
      s.networks.push({
        id: objectId('network', `${a.network.name}#${w.serial++}`),
        name: a.network.name,
        labels: { ...a.network.labels },
        containerIds: [],
      });
      return;
    }
    case 'create-container': {
      refuse(!nameTaken(s, 'container', a.container.name), `container name ${a.container.name} taken`);
      refuse(
        s.images.some((i) => i.ref === a.container.image),
        `no such image ${a.container.image}`,
      );
      const joined = a.container.namespaceContainerId;
      const network = a.network && s.networks.find((n) => n.name === a.network!.name);
      if (joined !== undefined) {
        // dockerd: `container:<id>` needs the owner to exist at create, and to run at start.
        refuse(a.network === undefined, `create ${a.container.name}: an endpoint in a joined namespace`);
        refuse(
          s.containers.some((c) => c.id === joined),
          `create ${a.container.name}: no container ${joined}`,
        );
        w.namespaceOf.set(a.container.name, joined);
      } else {
        refuse(network, `create ${a.container.name}: no network ${a.network?.name}`);
        w.namespaceOf.delete(a.container.name);
      }
      const id = objectId('container', `${a.container.name}#${w.serial++}`);
      s.containers.push({
        id,
        name: a.container.name,
        labels: { ...a.container.labels },
        image: a.container.image,
        imageId: s.images.find((i) => i.ref === a.container.image)!.id,
        state: 'created',
        exitCode: 0,
        oomKilled: false,
        health: 'none',
        networks: network
          ? { [network.name]: { networkId: network.id, aliases: a.network!.aliases, ipAddress: '10.0.0.2' } }
          : {},
      });
      network?.containerIds.push(id);
      if (a.container.healthCheck) w.hasHealthCheck.add(a.container.name);
      else w.hasHealthCheck.delete(a.container.name);
      return;
    }
    case 'connect-network': {
      const c = s.containers.find((x) => x.name === a.container);
      const network = s.networks.find((n) => n.name === a.network);
      refuse(c, `connect: no container ${a.container}`);
      refuse(network, `connect: no network ${a.network}`);
      refuse(c.state !== 'removing' && c.state !== 'dead', `connect: ${c.name} is ${c.state}`);
      refuse(c.networks[a.network] === undefined, `connect: ${c.name} already on ${a.network}`);
      c.networks[a.network] = { networkId: network.id, aliases: a.aliases, ipAddress: '10.0.0.3' };
      network.containerIds.push(c.id);
      return;
    }
    case 'start-container': {
      const c = s.containers.find((x) => x.name === a.container);
      refuse(c, `start: no container ${a.container}`);
      refuse(c.state !== 'dead' && c.state !== 'removing', `start: ${c.name} is marked for removal`);
      for (const [name, endpoint] of Object.entries(c.networks)) {
        refuse(
          s.networks.some((n) => n.name === name && n.id === endpoint.networkId),
          `start: ${c.name}: network ${name} not found`,
        );
      }
      const joined = w.namespaceOf.get(c.name);
      if (joined !== undefined)
        refuse(
          s.containers.some((x) => x.id === joined && x.state === 'running'),
          `start: ${c.name}: cannot join network of a non running container`,
        );
      if (c.state !== 'running') {
        c.state = 'running';
        c.health = w.hasHealthCheck.has(c.name) ? 'starting' : 'none';
      }
      if (a.restart) w.ledger = recordRestart(w.ledger, a.restart.key, w.now);
      return;
    }
    case 'remove-container': {
      const c = s.containers.find((x) => x.id === a.containerId);
      refuse(c, `remove: no container ${a.containerId}`);
      refuse(c.state !== 'removing', `remove: ${c.name}: removal already in progress`);
      s.containers = s.containers.filter((x) => x !== c);
      for (const n of s.networks) n.containerIds = n.containerIds.filter((id) => id !== c.id);
      return;
    }
    case 'disconnect-network': {
      const network = s.networks.find((n) => n.id === a.networkId);
      refuse(network, `disconnect: no network ${a.networkId}`);
      refuse(
        network.containerIds.includes(a.containerId),
        `disconnect: ${a.containerId} not on ${network.name}`,
      );
      network.containerIds = network.containerIds.filter((id) => id !== a.containerId);
      const c = s.containers.find((x) => x.id === a.containerId);
      if (c) delete c.networks[network.name];
      return;
    }
    case 'remove-network': {
      const network = s.networks.find((n) => n.id === a.networkId);
      refuse(network, `remove: no network ${a.networkId}`);
      refuse(network.containerIds.length === 0, `remove ${network.name}: has active endpoints`);
      s.networks = s.networks.filter((n) => n !== network);
      return;
    }
  }
}

/** A random order of `p.actions` that respects `dependsOn` and nothing else. */
function applyPlan(w: World, p: Plan, pick: () => number): void {
  const done = new Set<string>();
  const ids = new Set(p.actions.map((a) => a.id));
  let pending = [...p.actions];
  while (pending.length > 0) {
    const ready = pending.filter((a) => a.dependsOn.every((d) => done.has(d) || !ids.has(d)));
    if (ready.length === 0) throw new Error(`dependency cycle among ${pending.map((a) => a.id).join(', ')}`);
    const next = ready[pick() % ready.length]!;
    applyAction(w, next);
    done.add(next.id);
    pending = pending.filter((a) => a !== next);
  }
}

/** What happens between two plans: probes pass, removals finish, the clock passes any backoff. */
function tick(w: World): void {
  const gone = new Set(w.snapshot.containers.filter((c) => c.state === 'removing').map((c) => c.id));
  w.snapshot.containers = w.snapshot.containers.filter((c) => !gone.has(c.id));
  for (const n of w.snapshot.networks) n.containerIds = n.containerIds.filter((id) => !gone.has(id));
  for (const c of w.snapshot.containers)
    if (c.state === 'running' && c.health !== 'none') c.health = 'healthy';
  w.now += POLICY.maxBackoffMs + 1;
  w.snapshot.time = new Date(w.now).toISOString();
}

/** `real`: the defaults of `PlanOptions` (`bindImages`, `resolveImage`) instead of the builders'. */
function optionsAt(w: World, real = false): PlanOptions {
  return real
    ? { now: w.now, restarts: w.ledger, restart: POLICY }
    : baseOptions({ now: w.now, restarts: w.ledger, restart: POLICY });
}

function lcg(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x >>> 8;
  };
}

// ── independent judgements ──────────────────────────────────────────────────────────────────────

const isThisTask = (labels: Record<string, string>, owner = OWNER): boolean =>
  labels[Label.owner] === owner.ownerId &&
  labels[Label.taskId] === owner.taskId &&
  labels[Label.runId] === String(owner.runId);

/** A container that needs nothing: running, current spec, healthy, on exactly its networks. */
function isRight(node: ContainerNode, desired: DesiredState, s: Snapshot): boolean {
  const c = s.containers.find((x) => x.name === node.name && isThisTask(x.labels));
  if (!c || c.state !== 'running' || c.labels[Label.specHash] !== node.specHash) return false;
  if (c.health !== 'healthy' && c.health !== 'none') return false;
  const wanted = node.networks.map((a) => desired.networks.find((n) => n.id === a.network)!.name).sort();
  const ours = Object.keys(c.networks)
    .filter((name) => s.networks.some((n) => n.name === name && isThisTask(n.labels)))
    .sort();
  if (JSON.stringify(wanted) !== JSON.stringify(ours)) return false;
  return wanted.every((name) => s.networks.find((n) => n.name === name)?.id === c.networks[name]?.networkId);
}

/** The snapshot's objects that are not this task's, as they must stay. */
function notOurs(s: Snapshot) {
  return clone({
    containers: s.containers.filter((c) => !isThisTask(c.labels)),
    networks: s.networks.filter((n) => !isThisTask(n.labels)),
    foreign: s.foreign,
  });
}

function converged(desired: DesiredState, s: Snapshot, real = false): string | undefined {
  const idOf = (name: string) => s.containers.find((c) => c.name === name && isThisTask(c.labels))?.id;
  const bound = real
    ? boundContainers(desired, s.images, bindImages, resolveImage, idOf)
    : boundContainers(desired, s.images, simpleBind, simpleResolveImage, idOf);
  const ourContainers = s.containers.filter((c) => isThisTask(c.labels)).map((c) => c.name);
  const ourNetworks = s.networks.filter((n) => isThisTask(n.labels)).map((n) => n.name);
  if (JSON.stringify(ourContainers.sort()) !== JSON.stringify(bound.map((b) => b.name).sort()))
    return `containers ${ourContainers} ≠ desired`;
  if (JSON.stringify(ourNetworks.sort()) !== JSON.stringify(desired.networks.map((n) => n.name).sort()))
    return `networks ${ourNetworks} ≠ desired`;
  const wrong = bound.filter((b) => !isRight(b, desired, s)).map((b) => b.name);
  return wrong.length > 0 ? `not right: ${wrong.join(', ')}` : undefined;
}

// ── checks on one plan ─────────────────────────────────────────────────────────────────────────

/** Safety: every action targets this task's objects, or creates a name nobody else holds. */
function checkSafety(p: Plan, s: Snapshot): void {
  const ourContainerIds = new Set(s.containers.filter((c) => isThisTask(c.labels)).map((c) => c.id));
  const ourContainerNames = new Set(s.containers.filter((c) => isThisTask(c.labels)).map((c) => c.name));
  const ourNetworkIds = new Set(s.networks.filter((n) => isThisTask(n.labels)).map((n) => n.id));
  const created = new Set(p.actions.filter((a) => a.kind === 'create-container').map((a) => a.target.name));
  for (const a of p.actions) {
    switch (a.kind) {
      case 'remove-container':
        expect(ourContainerIds.has(a.containerId)).toBe(true);
        break;
      case 'remove-network':
      case 'disconnect-network':
        expect(ourNetworkIds.has(a.networkId)).toBe(true);
        break;
      case 'create-network':
      case 'create-container': {
        const type = a.kind === 'create-network' ? 'network' : 'container';
        const heldByOthers =
          s.foreign.some((f) => f.type === type && f.name === a.target.name) ||
          (type === 'container' ? s.containers : s.networks).some(
            (x) => x.name === a.target.name && !isThisTask(x.labels),
          );
        expect(heldByOthers).toBe(false);
        break;
      }
      case 'connect-network':
      case 'start-container':
        expect(ourContainerNames.has(a.container) || created.has(a.container)).toBe(true);
        break;
      case 'pull-image':
        break;
    }
    if (a.target.objectId !== undefined) {
      expect(ourContainerIds.has(a.target.objectId) || ourNetworkIds.has(a.target.objectId)).toBe(true);
    }
  }
}

/** Ordering: edges exist, networks come before the containers on them, removals before the network's. */
function checkOrdering(p: Plan, desired: DesiredState, s: Snapshot): void {
  const byId = new Map(p.actions.map((a) => [a.id, a]));
  for (const a of p.actions) for (const d of a.dependsOn) expect(byId.has(d)).toBe(true);
  const networkName = (id: string) => desired.networks.find((n) => n.id === id)!.name;
  for (const a of p.actions) {
    if (a.kind === 'create-container') {
      const attachment = a.container.networks[0];
      const first = attachment && networkName(attachment.network);
      if (first === undefined) expect(a.container.namespaceContainerId).toBeDefined();
      else if (byId.has(`create-network:${first}`)) expect(a.dependsOn).toContain(`create-network:${first}`);
      if (byId.has(`pull-image:${a.container.image}`))
        expect(a.dependsOn).toContain(`pull-image:${a.container.image}`);
    }
    if (a.kind === 'connect-network') {
      if (byId.has(`create-network:${a.network}`))
        expect(a.dependsOn).toContain(`create-network:${a.network}`);
      if (byId.has(`create-container:${a.container}`))
        expect(a.dependsOn).toContain(`create-container:${a.container}`);
    }
    if (a.kind === 'start-container') {
      for (const b of p.actions) {
        if (
          (b.kind === 'connect-network' && b.container === a.container) ||
          b.id === `create-container:${a.container}`
        )
          expect(a.dependsOn).toContain(b.id);
      }
    }
    if (a.kind === 'remove-network') {
      const network = s.networks.find((n) => n.id === a.networkId)!;
      for (const containerId of network.containerIds) {
        const removal = p.actions.find(
          (b) =>
            (b.kind === 'remove-container' && b.containerId === containerId) ||
            (b.kind === 'disconnect-network' && b.containerId === containerId && b.networkId === network.id),
        );
        expect(removal && a.dependsOn.includes(removal.id)).toBe(true);
      }
    }
  }
}

// ── generators ──────────────────────────────────────────────────────────────────────────────────

const serviceArb: fc.Arbitrary<ServiceInput> = fc.record({
  name: fc.constantFrom(...SERVICE_NAMES),
  image: fc.constantFrom(...IMAGES),
  healthCheck: fc.boolean(),
  env: fc.dictionary(fc.constantFrom('A', 'B', 'MODE'), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
});
const servicesArb = fc.uniqueArray(serviceArb, { selector: (s) => s.name, maxLength: 3 });

interface ContainerVariant {
  present: boolean;
  state: ContainerState;
  health: HealthStatus;
  staleHash: boolean;
  /** Which of its endpoints survive (on networks that are present). */
  endpointMask: number;
  exitCode: number;
  oomKilled: boolean;
  finishedAgoMs: number;
}

/** True about four times in five, and the other way round. */
const often = fc.nat(4).map((x) => x > 0);
const rarely = often.map((x) => !x);

const variantArb: fc.Arbitrary<ContainerVariant> = fc.record({
  present: often,
  state: fc.constantFrom<ContainerState>(
    'running',
    'running',
    'running',
    'exited',
    'created',
    'exited',
    'dead',
    'removing',
    'paused',
  ),
  health: fc.constantFrom<HealthStatus>('healthy', 'starting', 'unhealthy', 'none'),
  staleHash: rarely,
  endpointMask: fc.nat(3),
  exitCode: fc.constantFrom(0, 1, 137),
  oomKilled: fc.boolean(),
  finishedAgoMs: fc.nat(20_000),
});

interface Scenario {
  desired: DesiredState;
  world: World;
}

/**
 * A random state of our task drawn from a universe of services (the desired ones and some that
 * are not, whose objects are orphans), plus other tasks' objects and foreign containers, some
 * with stray endpoints on our networks. `conflicts` also lets foreign objects hold desired names.
 */
function scenarioArb(opts: { conflicts: boolean; emptyDesired?: boolean }): fc.Arbitrary<Scenario> {
  return fc
    .record({
      desiredServices: opts.emptyDesired ? fc.constant<ServiceInput[]>([]) : servicesArb,
      extraServices: servicesArb,
      networkPresence: fc.array(often, { minLength: 12, maxLength: 12 }),
      variants: fc.array(variantArb, { minLength: 12, maxLength: 12 }),
      imagePresence: fc.array(often, { minLength: 4, maxLength: 4 }),
      otherTask: fc.subarray(SERVICE_NAMES as unknown as string[]),
      otherOwner: fc.boolean(),
      foreign: fc.array(fc.record({ suffix: fc.constantFrom('x', 'y', 'z'), strayOn: fc.nat(12) }), {
        maxLength: 3,
      }),
      conflict: opts.conflicts
        ? fc.option(fc.record({ type: fc.constantFrom('container', 'network'), at: fc.nat(20) }))
        : fc.constant(null),
    })
    .map((r) => {
      const desired = buildDesired(r.desiredServices, OWNER);
      const extra = r.extraServices.filter((e) => !r.desiredServices.some((d) => d.name === e.name));
      const universeGraph = buildDesired([...r.desiredServices, ...extra], OWNER);
      const universe = convergedSnapshot(universeGraph, BASE_TIME);
      const s: Snapshot = {
        time: BASE_TIME,
        containers: [],
        networks: [],
        images: [],
        missingImages: [],
        foreign: [],
      };
      const hasHealthCheck = new Set(
        universeGraph.containers.filter((c) => c.healthCheck).map((c) => c.name),
      );

      s.networks = universe.networks
        .filter((_, i) => r.networkPresence[i % 12])
        .map((n) => ({ ...n, containerIds: [] }));
      universe.containers.forEach((c, i) => {
        const v = r.variants[i % 12]!;
        if (!v.present) return;
        const running = v.state === 'running';
        const container: ObservedContainer = {
          ...clone(c),
          state: v.state,
          health: running ? v.health : 'none',
          exitCode: v.state === 'exited' || v.state === 'dead' ? v.exitCode : 0,
          oomKilled: v.oomKilled && v.exitCode === 137,
          finishedAt: new Date(BASE_NOW - v.finishedAgoMs).toISOString(),
          networks: {},
        };
        if (v.staleHash) container.labels[Label.specHash] = 'stale0000';
        Object.keys(c.networks).forEach((name, k) => {
          const network = s.networks.find((n) => n.name === name);
          if (network && (v.endpointMask >> k) & 1) {
            container.networks[name] = { ...c.networks[name]!, networkId: network.id };
            network.containerIds.push(container.id);
          }
        });
        s.containers.push(container);
      });

      const refs = [...new Set([...desired.images, ...universe.images.map((i) => i.ref)])].sort();
      refs.forEach((ref, i) => {
        if (r.imagePresence[i % 4]) s.images.push(observedImage(ref));
        else s.missingImages.push(ref);
      });

      const others = convergedSnapshot(
        buildDesired(
          r.otherTask.map((name) => ({ name, image: IMAGES[0]! })),
          OTHER_TASK,
        ),
      );
      s.containers.push(...others.containers);
      s.networks.push(...others.networks);
      if (r.otherOwner) {
        const o = convergedSnapshot(buildDesired([{ name: 'db', image: IMAGES[1]! }], OTHER_OWNER));
        s.containers.push(...o.containers);
        s.networks.push(...o.networks);
      }

      const ourNetworks = s.networks.filter((n) => isThisTask(n.labels));
      for (const f of r.foreign) {
        const name = `${names(OWNER).taskNetwork}_foreign_${f.suffix}`;
        const id = objectId('container', name);
        if (s.foreign.some((x) => x.id === id)) continue;
        s.foreign.push({ type: 'container', id, name, reason: 'no owner label' });
        const network = ourNetworks[f.strayOn];
        if (network) network.containerIds.push(id);
      }
      if (r.conflict) {
        // Docker names are unique: the intruder holds a desired name that nothing of ours holds.
        const type = r.conflict.type;
        const pool = type === 'container' ? desired.containers : desired.networks;
        const held = pool.length > 0 ? pool[r.conflict.at % pool.length] : undefined;
        const list: { name: string }[] = type === 'container' ? s.containers : s.networks;
        if (held && !list.some((x) => x.name === held.name)) {
          s.foreign.push({
            type,
            id: objectId('intruder', held.name),
            name: held.name,
            reason: 'no owner label',
          });
        }
      }
      return {
        desired,
        world: { snapshot: s, now: BASE_NOW, ledger: {}, hasHealthCheck, namespaceOf: new Map(), serial: 0 },
      };
    });
}

// ── properties ──────────────────────────────────────────────────────────────────────────────────

/** Fixpoint: ≤ MAX_ROUNDS rounds reach an empty, ready plan, the state equals desired, others untouched. */
function fixpointProperty(planner: Planner, opts: { emptyDesired?: boolean } = {}) {
  return fc.property(scenarioArb({ conflicts: false, ...opts }), fc.integer(), ({ desired, world }, seed) => {
    const pick = lcg(seed);
    const w = clone(world);
    const before = notOurs(w.snapshot);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const p = planner(desired, w.snapshot, optionsAt(w));
      expect(p.blocked).toEqual([]);
      if (p.actions.length === 0 && p.waiting.length === 0) {
        expect(p.ready).toBe(true);
        expect(converged(desired, w.snapshot)).toBeUndefined();
        expect(notOurs(w.snapshot)).toEqual(before);
        return;
      }
      checkSafety(p, w.snapshot);
      applyPlan(w, p, pick);
      tick(w);
    }
    throw new Error(
      `no fixpoint after ${MAX_ROUNDS} rounds: ${formatPlan(planner(desired, w.snapshot, optionsAt(w)), 'text')}`,
    );
  });
}

/** Ordering: on random states (foreign name conflicts included), edges are complete and consistent. */
function orderingProperty(planner: Planner) {
  return fc.property(scenarioArb({ conflicts: true }), ({ desired, world }) => {
    const p = planner(desired, world.snapshot, optionsAt(world));
    checkOrdering(p, desired, world.snapshot);
  });
}

function shuffled<T>(xs: T[], pick: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = pick() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function shuffledRecord<V>(r: Record<string, V>, pick: () => number): Record<string, V> {
  return Object.fromEntries(shuffled(Object.entries(r), pick));
}

/** The same snapshot with every list and every label/endpoint map in another order. */
function permuted(s: Snapshot, seed: number): Snapshot {
  const pick = lcg(seed);
  return {
    time: s.time,
    containers: shuffled(s.containers, pick).map((c) => ({
      ...c,
      labels: shuffledRecord(c.labels, pick),
      networks: shuffledRecord(c.networks, pick),
    })),
    networks: shuffled(s.networks, pick).map((n) => ({
      ...n,
      labels: shuffledRecord(n.labels, pick),
      containerIds: shuffled(n.containerIds, pick),
    })),
    images: shuffled(s.images, pick).map((i) => ({ ...i, labels: shuffledRecord(i.labels, pick) })),
    missingImages: shuffled(s.missingImages, pick),
    foreign: shuffled(s.foreign, pick),
  };
}

/** compile()'s graph of `payload` (with the default bindImages to come) and an empty engine. */
function compiledOnEmptyEngine(payload: unknown): { desired: DesiredState; w: World } {
  const config = defaultWorkerConfig({
    ownerId: OWNER.ownerId,
    // Fixture images are built here, never in a registry: nothing to pull.
    images: { pullPolicy: 'if-not-present' },
    provisionerId: 'proj-ci',
    workerType: 'linux',
    rootUrl: 'https://tc.example.com',
    proxy: { image: 'ds-fixtures/proxy:latest' },
  });
  const desired = compile(payload, { config, taskId: OWNER.taskId, runId: OWNER.runId, scopes: [] });
  const w: World = {
    snapshot: { time: BASE_TIME, containers: [], networks: [], images: [], missingImages: [], foreign: [] },
    now: BASE_NOW,
    ledger: {},
    hasHealthCheck: new Set(desired.containers.filter((c) => c.healthCheck).map((c) => c.name)),
    namespaceOf: new Map(),
    serial: 0,
  };
  return { desired, w };
}

describe('plan properties', () => {
  test('fixpoint: repeated plan → apply reaches an empty plan and the desired state, touching nothing else', () => {
    fc.assert(fixpointProperty(realPlan), { numRuns: RUNS });
  });

  test('fixpoint of the empty graph: exactly this task’s objects are removed', () => {
    fc.assert(fixpointProperty(realPlan, { emptyDesired: true }), { numRuns: RUNS });
  });

  test('fixpoint for a graph made by compile() and bound by the default bindImages', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(serviceArb, { selector: (s) => s.name, minLength: 1, maxLength: 3 }),
        fc.integer(),
        (services, seed) => {
          const payload = {
            services: services.map((s) => ({
              name: s.name,
              image: s.image,
              ...(s.env ? { env: s.env } : {}),
            })),
          };
          const { desired, w } = compiledOnEmptyEngine(payload);
          const pick = lcg(seed);
          for (let round = 0; round < MAX_ROUNDS; round++) {
            const p = realPlan(desired, w.snapshot, optionsAt(w, true));
            if (p.actions.length === 0 && p.waiting.length === 0) {
              expect(p.ready).toBe(true);
              expect(converged(desired, w.snapshot, true)).toBeUndefined();
              return;
            }
            checkOrdering(p, desired, w.snapshot);
            applyPlan(w, p, pick);
            tick(w);
          }
          throw new Error('no fixpoint');
        },
      ),
      { numRuns: propertyRuns(30) },
    );
  });

  test('a plan cache kept across a run changes no plan, tags moving under it included', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(serviceArb, { selector: (s) => s.name, minLength: 1, maxLength: 3 }),
        fc.integer(),
        (services, seed) => {
          const payload = { services: services.map((s) => ({ name: s.name, image: s.image })) };
          const { desired, w } = compiledOnEmptyEngine(payload);
          const cache = new PlanCache();
          const pick = lcg(seed);
          for (let round = 0; round < MAX_ROUNDS; round++) {
            const fresh = realPlan(desired, w.snapshot, optionsAt(w, true));
            const cached = realPlan(desired, w.snapshot, { ...optionsAt(w, true), cache });
            expect(formatPlan(cached, 'json')).toBe(formatPlan(fresh, 'json'));
            applyPlan(w, fresh, pick);
            tick(w);
            // A tag moved (pulled again, rebuilt): the image of that name has another id now.
            const moved = w.snapshot.images[pick() % (w.snapshot.images.length + 1)];
            if (moved) moved.id = `sha256:${String(round).padStart(64, 'f')}`;
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('idempotence: a converged state plans nothing, again and again (no flapping)', () => {
    fc.assert(
      fc.property(scenarioArb({ conflicts: false }), fc.integer(), ({ desired, world }, seed) => {
        const w = clone(world);
        for (let round = 0; round < MAX_ROUNDS; round++) {
          const p = realPlan(desired, w.snapshot, optionsAt(w));
          if (p.actions.length === 0 && p.waiting.length === 0) break;
          applyPlan(w, p, lcg(seed));
          tick(w);
        }
        const first = formatPlan(realPlan(desired, w.snapshot, optionsAt(w)), 'text');
        for (let i = 0; i < 3; i++) {
          const before = clone(w.snapshot);
          const p = realPlan(desired, w.snapshot, optionsAt(w));
          expect(p.actions).toEqual([]);
          expect(p.ready).toBe(true);
          applyPlan(w, p, lcg(seed));
          expect(w.snapshot).toEqual(before);
          tick(w);
          w.snapshot.time = before.time;
          expect(formatPlan(realPlan(desired, w.snapshot, optionsAt(w)), 'text')).toBe(first);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('determinism: permuted lists and label key order give byte-identical text and JSON', () => {
    fc.assert(
      fc.property(scenarioArb({ conflicts: true }), fc.integer(), ({ desired, world }, seed) => {
        const options = optionsAt(world);
        const a = realPlan(desired, world.snapshot, options);
        const b = realPlan(
          {
            ...desired,
            networks: shuffled(desired.networks, lcg(seed)),
            containers: shuffled(desired.containers, lcg(seed + 1)),
          },
          permuted(world.snapshot, seed),
          options,
        );
        expect(formatPlan(b, 'text')).toBe(formatPlan(a, 'text'));
        expect(formatPlan(b, 'json')).toBe(formatPlan(a, 'json'));
      }),
      { numRuns: RUNS },
    );
  });

  test('minimality: nothing is planned for containers and networks that are already right', () => {
    fc.assert(
      fc.property(scenarioArb({ conflicts: true }), ({ desired, world }) => {
        const s = world.snapshot;
        const p = realPlan(desired, s, optionsAt(world));
        const bound = boundContainers(
          desired,
          desired.images.map((ref) => observedImage(ref)),
        );
        const right = new Set(bound.filter((b) => isRight(b, desired, s)).map((b) => b.name));
        for (const a of p.actions) {
          const container =
            a.kind === 'connect-network' || a.kind === 'start-container'
              ? a.container
              : a.kind === 'disconnect-network'
                ? a.container
                : a.target.type === 'container'
                  ? a.target.name
                  : undefined;
          expect(container !== undefined && right.has(container)).toBe(false);
          if (a.kind === 'create-network' || a.kind === 'remove-network') {
            const present = s.networks.some((n) => n.name === a.target.name && isThisTask(n.labels));
            const wanted = desired.networks.some((n) => n.name === a.target.name);
            expect(present && wanted).toBe(false);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('safety: no action targets an object that is not this task’s, name conflicts block', () => {
    fc.assert(
      fc.property(scenarioArb({ conflicts: true }), ({ desired, world }) => {
        const s = world.snapshot;
        const p = realPlan(desired, s, optionsAt(world));
        checkSafety(p, s);
        for (const f of s.foreign.filter((x) => x.name.includes('_foreign_') === false)) {
          expect(p.blocked.some((b) => b.code === 'name-conflict' && b.name === f.name)).toBe(true);
          expect(p.ready).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('safety of the empty graph: it removes exactly this task’s objects', () => {
    fc.assert(
      fc.property(scenarioArb({ conflicts: false, emptyDesired: true }), ({ desired, world }) => {
        const s = world.snapshot;
        const p = realPlan(desired, s, optionsAt(world));
        const ours = s.containers.filter((c) => isThisTask(c.labels));
        const removed = p.actions.filter((a) => a.kind === 'remove-container').map((a) => a.containerId);
        expect(removed.sort()).toEqual(
          ours
            .filter((c) => c.state !== 'removing')
            .map((c) => c.id)
            .sort(),
        );
        const removedNetworks = p.actions
          .filter((a) => a.kind === 'remove-network')
          .map((a) => a.target.name);
        const waitingNetworks = p.waiting
          .filter((x) => x.reason.startsWith('orphan network'))
          .map((x) => x.name);
        expect([...removedNetworks, ...waitingNetworks].sort()).toEqual(
          s.networks
            .filter((n) => isThisTask(n.labels))
            .map((n) => n.name)
            .sort(),
        );
        expect(
          p.actions.every((a) =>
            ['remove-container', 'remove-network', 'disconnect-network'].includes(a.kind),
          ),
        ).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  test('ordering: every edge exists; networks before their containers, containers before their network’s removal', () => {
    fc.assert(orderingProperty(realPlan), { numRuns: RUNS });
  });
});

// ── mutants: the properties must catch a planner that is wrong ─────────────────────────────────

/** Forgets orphans: drops every removal whose cause is "orphan", and edges to them. */
const forgetsOrphans: Planner = (d, s, o) => {
  const p = realPlan(d, s, o);
  const actions = p.actions.filter((a) => !a.cause.startsWith('orphan'));
  const kept = new Set(actions.map((a) => a.id));
  return {
    ...p,
    actions: actions.map((a) => ({ ...a, dependsOn: a.dependsOn.filter((x) => kept.has(x)) })),
    // A consistent liar: with nothing left to do it claims to be done.
    ready: actions.length === 0 && p.waiting.length === 0 && p.blocked.length === 0,
  };
};

/** Forgets edges: every action may run at once. */
const dropsDependsOn: Planner = (d, s, o) => {
  const p = realPlan(d, s, o);
  return { ...p, actions: p.actions.map((a) => ({ ...a, dependsOn: [] })) };
};

/** Trespasses: also removes every container of another task it can see. */
const trespasses: Planner = (d, s, o) => {
  const p = realPlan(d, s, o);
  const others = s.containers.filter((c) => !isThisTask(c.labels));
  const extra: Action[] = others.map((c) => ({
    kind: 'remove-container',
    id: `remove-container:${c.name}`,
    target: { type: 'container', name: c.name, objectId: c.id },
    cause: 'orphan: not in desired graph',
    dependsOn: [],
    containerId: c.id,
  }));
  return { ...p, actions: [...p.actions, ...extra] };
};

describe('mutated planners are caught', () => {
  test('a planner that forgets orphans fails the empty-graph fixpoint', () => {
    const result = fc.check(fixpointProperty(forgetsOrphans, { emptyDesired: true }), { numRuns: RUNS });
    expect(result.failed).toBe(true);
  });

  test('a planner that drops dependsOn fails the fixpoint (Docker refuses an out-of-order step)', () => {
    const result = fc.check(fixpointProperty(dropsDependsOn), { numRuns: RUNS });
    expect(result.failed).toBe(true);
  });

  test('a planner that removes another task’s containers fails safety and the fixpoint', () => {
    const safety = fc.property(scenarioArb({ conflicts: true }), ({ desired, world }) =>
      checkSafety(trespasses(desired, world.snapshot, optionsAt(world)), world.snapshot),
    );
    expect(fc.check(safety, { numRuns: RUNS }).failed).toBe(true);
    expect(fc.check(fixpointProperty(trespasses), { numRuns: RUNS }).failed).toBe(true);
  });

  test('a planner that drops dependsOn fails the ordering property', () => {
    const result = fc.check(orderingProperty(dropsDependsOn), { numRuns: RUNS });
    expect(result.failed).toBe(true);
  });
});
