/**
 * Table tests of `plan`: each case is (name, change to desired, change to observed, expected plan
 * text), over one base fixture: a task with three services (db with a health check and a secret
 * env value, redis with a health check, tools without), each with its proxy and private network.
 * The expected text lives in `fixtures/plans/<name>.txt` (and `.json` for some); run with
 * UPDATE_GOLDEN=1 to rewrite them, then read the diff.
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Label } from '../../src/desired-state/labels.js';
import type { DesiredState } from '../../src/desired-state/types.js';
import type { ObservedContainer, ObservedNetwork, Snapshot } from '../../src/observed-state/types.js';
import { formatPlan } from '../../src/reconciler/format.js';
import { plan, type PlanOptions } from '../../src/reconciler/plan.js';
import type { Plan } from '../../src/reconciler/actions.js';
import { restartKey } from '../../src/reconciler/restarts.js';
import {
  BASE_NOW,
  BASE_OWNER,
  boundContainers,
  buildDesired,
  clone,
  convergedSnapshot,
  imageId,
  names,
  objectId,
  observedContainer,
  observedImage,
  observedNetwork,
  ownerLabels,
  baseOptions,
} from '../support/builders.js';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/plans');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const SECRET = 'hunter2-do-not-print';
const IMAGES = {
  postgres: 'ds-fixtures/postgres:latest',
  redis: 'ds-fixtures/redis:latest',
  busybox: 'ds-fixtures/busybox:latest',
};
const SERVICES = [
  { name: 'db', image: IMAGES.postgres, env: { POSTGRES_PASSWORD: SECRET }, healthCheck: true },
  { name: 'redis', image: IMAGES.redis, healthCheck: true },
  { name: 'tools', image: IMAGES.busybox, cmd: ['sleep', '3600'] },
];
const N = names(BASE_OWNER);
const OTHER_TASK = { ownerId: BASE_OWNER.ownerId, taskId: 'Zq0vH1sVRhmDw0oJxzzXtA', runId: 2 };
const OTHER_OWNER = { ownerId: 'worker-9', taskId: 'Pp3c2XRmQyC0zC8aQ9cX4w', runId: 0 };

const baseDesired = (): DesiredState => buildDesired(SERVICES);

interface Case {
  name: string;
  desired?: (d: DesiredState) => DesiredState;
  /** Changes a copy of the converged snapshot of the base graph. */
  observed?: (s: Snapshot) => Snapshot | void;
  options?: (o: PlanOptions) => Partial<PlanOptions>;
  json?: boolean;
  /** Extra checks beyond the golden text. */
  check?: (p: Plan) => void;
}

function c(s: Snapshot, name: string): ObservedContainer {
  const found = s.containers.find((x) => x.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}
function n(s: Snapshot, name: string): ObservedNetwork {
  const found = s.networks.find((x) => x.name === name);
  if (!found) throw new Error(`no network ${name}`);
  return found;
}
function dropContainer(s: Snapshot, name: string): void {
  const gone = c(s, name);
  s.containers = s.containers.filter((x) => x !== gone);
  for (const net of s.networks) net.containerIds = net.containerIds.filter((id) => id !== gone.id);
}
function dropNetwork(s: Snapshot, name: string): void {
  s.networks = s.networks.filter((x) => x.name !== name);
}
function nothingThere(s: Snapshot): void {
  s.containers = [];
  s.networks = [];
}
function detach(s: Snapshot, container: string, network: string): void {
  const ct = c(s, container);
  const net = n(s, network);
  delete ct.networks[network];
  net.containerIds = net.containerIds.filter((id) => id !== ct.id);
}
function attach(s: Snapshot, container: string, network: string): void {
  const ct = c(s, container);
  const net = n(s, network);
  ct.networks[network] = { networkId: net.id, aliases: [], ipAddress: '172.20.0.99' };
  net.containerIds.push(ct.id);
}
/** `container` also has an endpoint on Docker's default bridge, a network that is not ours. */
function onDockerBridge(s: Snapshot, container: string): void {
  c(s, container).networks.bridge = {
    networkId: objectId('network', 'bridge'),
    aliases: [],
    ipAddress: '172.17.0.2',
  };
}
/** db depends on `more` besides its proxy (compile makes no such graph; the planner takes any). */
function dbDependsOn(d: DesiredState, more: string[]): DesiredState {
  return {
    ...d,
    containers: d.containers.map((ct) =>
      ct.name === N.service('db') ? { ...ct, dependsOn: [...ct.dependsOn, ...more] } : ct,
    ),
  };
}
/** Every other pod of the base fixture, as dependencies of db. */
const DB_DEPENDENCIES = [
  'container/proxy/redis',
  'container/proxy/tools',
  'container/service/redis',
  'container/service/tools',
];
/** db created, each of DB_DEPENDENCIES not ready for its own reason. */
function dependenciesNotReady(s: Snapshot): void {
  createdNotStarted(s, N.service('db'));
  c(s, N.proxy('redis')).health = 'starting';
  c(s, N.proxy('tools')).labels[Label.specHash] = '0000';
  dropContainer(s, N.service('redis'));
  exited(s, N.service('tools'), 1, 1_000);
}
/** `container` was created and never started. */
function createdNotStarted(s: Snapshot, container: string): void {
  Object.assign(c(s, container), { state: 'created', health: 'none', startedAt: undefined });
}
function exited(s: Snapshot, name: string, exitCode: number, finishedAgoMs: number, oomKilled = false): void {
  Object.assign(c(s, name), {
    state: 'exited',
    exitCode,
    oomKilled,
    health: 'none',
    finishedAt: new Date(BASE_NOW - finishedAgoMs).toISOString(),
  });
}
function dbKey(s: Snapshot): string {
  return restartKey('container/service/db', c(s, N.service('db')).labels[Label.specHash]!);
}
/** Every object of a converged run of another task (same services), relabelled. */
function otherTaskObjects(owner: typeof OTHER_TASK): Snapshot {
  return convergedSnapshot(buildDesired(SERVICES, owner));
}

/** A further network of ours in the graph, `<task network>_<suffix>` (compile makes one network). */
function withExtraNetwork(d: DesiredState, suffix = 'extra'): DesiredState {
  const task = d.networks[0]!;
  const extra = { ...task, id: `network/${suffix}`, name: `${N.taskNetwork}_${suffix}` };
  return {
    ...d,
    networks: [...d.networks, { ...extra, labels: { ...task.labels, [Label.node]: extra.id } }],
  };
}
/** That network, as Docker shows it once made. */
function addExtraNetwork(s: Snapshot, suffix = 'extra'): void {
  const task = n(s, N.taskNetwork);
  s.networks.push(
    observedNetwork(`${N.taskNetwork}_${suffix}`, { ...task.labels, [Label.node]: `network/${suffix}` }),
  );
}

/** The worker's per-task network (generic-worker's `gw-task-<taskId[:12]>-<runId>`): not ours. */
const WORKER_NETWORK = `gw-task-${BASE_OWNER.taskId.slice(0, 12)}-${BASE_OWNER.runId}`;
const WORKER_NETWORK_ID = objectId('network', WORKER_NETWORK);

/** The base graph joining the worker's network as its task network (`compile`'s `taskNetwork`). */
function joinsWorkerNetwork(d: DesiredState): DesiredState {
  return {
    ...d,
    networks: d.networks.map((net) =>
      net.id === 'network/task' ? { ...net, name: WORKER_NETWORK, external: true as const, labels: {} } : net,
    ),
  };
}
/**
 * The converged snapshot of that graph: the task network is the worker's, reported under
 * `external` (with the worker's task container on it), and our containers' endpoints on it.
 */
function onWorkerNetwork(s: Snapshot): void {
  const ours = n(s, N.taskNetwork);
  s.networks = s.networks.filter((x) => x !== ours);
  s.external = [
    {
      id: WORKER_NETWORK_ID,
      name: WORKER_NETWORK,
      labels: {},
      containerIds: [...ours.containerIds, objectId('container', 'taskcontainer_abc')],
    },
  ];
  for (const ct of s.containers) {
    const endpoint = ct.networks[N.taskNetwork];
    if (endpoint === undefined) continue;
    delete ct.networks[N.taskNetwork];
    ct.networks[WORKER_NETWORK] = { ...endpoint, networkId: WORKER_NETWORK_ID };
  }
}
/** The plan only ever attaches containers to the worker's network: no action acts on the network. */
function leavesWorkerNetworkAlone(p: Plan): void {
  const onWorkerNetwork = p.actions.filter(
    (a) =>
      (a.target.type === 'network' && a.target.name === WORKER_NETWORK) ||
      ('networkId' in a && a.networkId === WORKER_NETWORK_ID),
  );
  expect(onWorkerNetwork).toEqual([]);
}

const cases: Case[] = [
  { name: 'nothing-there', observed: nothingThere, json: true },
  {
    name: 'nothing-there-no-images',
    observed: (s) => {
      nothingThere(s);
      s.missingImages = s.images.map((i) => i.ref);
      s.images = [];
    },
  },
  { name: 'all-ready', json: true, check: (p) => expect(p.ready).toBe(true) },
  {
    name: 'drifted-hash',
    json: true,
    observed: (s) => {
      c(s, N.service('db')).labels[Label.specHash] = '9a0c5be1d2f3';
    },
  },
  {
    name: 'spec-hash-label-missing',
    observed: (s) => {
      delete c(s, N.service('redis')).labels[Label.specHash];
    },
  },
  {
    name: 'dead-service-backoff-due',
    json: true,
    observed: (s) => exited(s, N.service('db'), 1, 10_000),
    check: (p) => {
      const start = p.actions.find((a) => a.kind === 'start-container');
      expect(start && start.kind === 'start-container' && start.restart?.attempt).toBe(2);
    },
  },
  {
    name: 'dead-service-backoff-not-due',
    json: true,
    observed: (s) => exited(s, N.service('db'), 1, 10_000),
  },
  {
    name: 'exited-first-restart-oom',
    observed: (s) => exited(s, N.service('db'), 137, 30_000, true),
  },
  {
    name: 'exited-just-now',
    observed: (s) => exited(s, N.service('db'), 2, 200),
  },
  {
    name: 'dead-state-restart',
    json: true,
    observed: (s) => {
      exited(s, N.service('tools'), 255, 60_000);
      c(s, N.service('tools')).state = 'dead';
    },
  },
  {
    // A proxy that exited is restarted as a fresh container, never started again in place: a
    // start would give it a new network namespace under the same id, and its service, which
    // joined the old one, would never see it. The service runs on until the new proxy exists.
    name: 'proxy-exited-restarted-fresh',
    observed: (s) => exited(s, N.proxy('db'), 1, 60_000),
    check: (p) => {
      expect(p.actions.map((a) => a.id)).toEqual([
        `remove-container:${N.proxy('db')}`,
        `create-container:${N.proxy('db')}`,
        `start-container:${N.proxy('db')}`,
      ]);
    },
  },
  {
    // The proxy was made again (a new container id): the service's spec, bound to the proxy's id,
    // has drifted, so it is made again in the new proxy's namespace, and started once that runs.
    name: 'proxy-replaced-service-drifts',
    observed: (s) => {
      c(s, N.proxy('db')).id = objectId('container', 'db-proxy-made-again');
    },
    check: (p) => {
      expect(p.actions.map((a) => a.id)).toEqual([
        `remove-container:${N.service('db')}`,
        `create-container:${N.service('db')}`,
        `start-container:${N.service('db')}`,
      ]);
      const create = p.actions.find((a) => a.kind === 'create-container');
      expect(create?.kind === 'create-container' && create.container.namespaceContainerId).toBe(
        objectId('container', 'db-proxy-made-again'),
      );
      expect(p.actions[0]!.cause).toMatch(/^spec hash /);
    },
  },
  {
    name: 'crash-loop-past-budget',
    observed: (s) => exited(s, N.service('db'), 137, 60_000, true),
  },
  {
    // The same spent budget, but the run that ended lasted 20 minutes: healthy service, a fresh budget.
    name: 'crash-loop-budget-reset-after-long-run',
    observed: (s) => {
      exited(s, N.service('db'), 137, 60_000, true);
      c(s, N.service('db')).startedAt = new Date(BASE_NOW - 60_000 - 1_200_000).toISOString();
    },
    options: (o) => ({ restart: { ...o.restart, resetAfterMs: 600_000 } }),
  },
  {
    name: 'restart-mode-fail',
    observed: (s) => exited(s, N.service('redis'), 137, 60_000, true),
    options: (o) => ({ restart: { ...o.restart, mode: 'fail' } }),
  },
  {
    name: 'orphan-service-dropped',
    desired: () => buildDesired(SERVICES.filter((s) => s.name !== 'tools')),
  },
  {
    name: 'orphan-container-stray',
    observed: (s) => {
      const name = `${N.taskNetwork}_old`;
      const stray = observedContainer(name, {
        ...ownerLabels(BASE_OWNER),
        [Label.node]: 'container/service/old',
        [Label.specHash]: '0000',
      });
      s.containers.push(stray);
      attach(s, name, N.taskNetwork);
    },
  },
  {
    name: 'orphan-network-stray-foreign-endpoint',
    json: true,
    observed: (s) => {
      const name = `${N.taskNetwork}_gone`;
      const decoyId = objectId('container', 'decoy');
      const unknownId = objectId('container', 'unknown');
      s.networks.push(
        observedNetwork(name, { ...ownerLabels(BASE_OWNER), [Label.node]: 'network/service/gone' }, [
          unknownId,
          decoyId,
        ]),
      );
      s.foreign.push({
        type: 'container',
        id: decoyId,
        name: `${N.taskNetwork}_decoy`,
        reason: 'no owner label',
      });
    },
  },
  {
    name: 'foreign-same-named-container',
    json: true,
    observed: (s) => {
      dropContainer(s, N.service('db'));
      s.foreign.push({
        type: 'container',
        id: objectId('container', 'intruder'),
        name: N.service('db'),
        reason: 'no owner label',
      });
    },
  },
  {
    name: 'foreign-same-named-network',
    observed: (s) => {
      nothingThere(s);
      s.foreign.push({
        type: 'network',
        id: objectId('network', 'intruder'),
        name: N.taskNetwork,
        reason: 'owner label of another worker',
      });
    },
  },
  {
    name: 'empty-graph-full-task',
    json: true,
    desired: () => buildDesired([]),
  },
  {
    name: 'empty-graph-nothing-there',
    desired: () => buildDesired([]),
    observed: nothingThere,
    check: (p) => expect(p.ready).toBe(true),
  },
  {
    name: 'other-tasks-untouched-ready',
    observed: (s) => {
      for (const other of [otherTaskObjects(OTHER_TASK), otherTaskObjects(OTHER_OWNER)]) {
        s.containers.push(...other.containers);
        s.networks.push(...other.networks);
      }
    },
    check: (p) => expect(p.ready).toBe(true),
  },
  {
    name: 'other-tasks-untouched-empty-graph',
    desired: () => buildDesired([]),
    observed: (s) => {
      for (const other of [otherTaskObjects(OTHER_TASK), otherTaskObjects(OTHER_OWNER)]) {
        s.containers.push(...other.containers);
        s.networks.push(...other.networks);
      }
    },
  },
  {
    name: 'image-missing',
    json: true,
    observed: (s) => {
      nothingThere(s);
      s.images = s.images.filter((i) => i.ref !== IMAGES.redis);
      s.missingImages = [IMAGES.redis];
    },
  },
  {
    // The default policy: a tag is fetched once per run; until then its containers wait for it.
    name: 'pull-policy-always',
    json: true,
    desired: (d) => ({
      ...d,
      imageSources: [
        { from: 'registry', ref: IMAGES.busybox, policy: 'if-not-present' },
        { from: 'registry', ref: IMAGES.postgres, policy: 'if-not-present' },
        { from: 'registry', ref: IMAGES.redis, policy: 'always' },
      ],
    }),
    observed: nothingThere,
    check: (p) => {
      expect(p.actions.filter((a) => a.kind === 'pull-image').map((a) => a.target.name)).toEqual([
        IMAGES.redis,
      ]);
    },
  },
  {
    name: 'pull-policy-always-fetched-this-run',
    desired: (d) => ({
      ...d,
      imageSources: Object.values(IMAGES).map((ref) => ({
        from: 'registry' as const,
        ref,
        policy: 'always' as const,
      })),
    }),
    options: () => ({ fetched: new Set(Object.values(IMAGES)) }),
    check: (p) => expect(p.actions).toEqual([]),
  },
  {
    name: 'pull-policy-never-missing',
    desired: (d) => ({
      ...d,
      imageSources: d.images.map((ref) => ({ from: 'registry' as const, ref, policy: 'never' as const })),
    }),
    observed: (s) => {
      nothingThere(s);
      s.images = s.images.filter((i) => i.ref !== IMAGES.redis);
      s.missingImages = [IMAGES.redis];
    },
    check: (p) => {
      expect(p.actions.some((a) => a.kind === 'pull-image')).toBe(false);
      expect(p.blocked.map((b) => b.code)).toEqual(['image-missing']);
    },
  },
  {
    // Artifact images: the plan says which task's artifact each load fetches.
    name: 'load-artifact-images',
    json: true,
    desired: (d) => ({
      ...d,
      imageSources: [
        {
          from: 'indexed-image',
          ref: IMAGES.busybox,
          namespace: 'proj.images.tools.latest',
          path: 'public/image.tar.lz4',
          policy: 'always',
        },
        { from: 'registry', ref: IMAGES.postgres, policy: 'if-not-present' },
        {
          from: 'task-image',
          ref: IMAGES.redis,
          taskId: 'Zq0vH1sVRhmDw0oJxzzXtA',
          path: 'private/image.tar.zst',
          policy: 'if-not-present',
        },
      ],
    }),
    observed: (s) => {
      nothingThere(s);
      s.images = s.images.filter((i) => i.ref !== IMAGES.redis);
      s.missingImages = [IMAGES.redis];
    },
  },
  {
    name: 'image-carries-our-labels',
    observed: (s) => {
      nothingThere(s);
      s.images = s.images.map((i) =>
        i.ref === IMAGES.busybox
          ? observedImage(i.ref, {
              [Label.owner]: 'worker-7',
              [Label.node]: 'x',
              'org.opencontainers.image.title': 'busybox',
            })
          : i,
      );
    },
  },
  {
    name: 'proxy-not-yet-healthy',
    observed: (s) => {
      c(s, N.proxy('db')).health = 'starting';
      Object.assign(c(s, N.service('db')), { state: 'created', health: 'none', startedAt: undefined });
    },
  },
  {
    // A status this version does not know (a newer engine's) is waited on, not taken for dead.
    name: 'unknown-state-waited',
    observed: (s) => {
      c(s, N.service('db')).state = 'unknown';
    },
  },
  {
    name: 'proxy-unhealthy',
    observed: (s) => {
      c(s, N.proxy('db')).health = 'unhealthy';
    },
  },
  {
    name: 'created-not-started',
    json: true,
    observed: (s) => {
      for (const ct of s.containers)
        Object.assign(ct, { state: 'created', health: 'none', startedAt: undefined });
    },
  },
  {
    name: 'created-not-connected',
    json: true,
    observed: (s) => {
      Object.assign(c(s, N.proxy('db')), { state: 'created', health: 'none', startedAt: undefined });
      Object.assign(c(s, N.service('db')), { state: 'created', health: 'none', startedAt: undefined });
      detach(s, N.proxy('db'), N.taskNetwork);
    },
  },
  {
    name: 'running-disconnected',
    observed: (s) => detach(s, N.proxy('redis'), N.taskNetwork),
  },
  {
    name: 'running-on-extra-network',
    json: true,
    observed: (s) => attach(s, N.proxy('redis'), N.taskNetwork),
  },
  {
    name: 'service-health-starting',
    observed: (s) => {
      c(s, N.service('redis')).health = 'starting';
    },
  },
  {
    name: 'removing-desired',
    observed: (s) => {
      c(s, N.service('db')).state = 'removing';
    },
  },
  {
    name: 'removing-orphan-network-waits',
    desired: () => buildDesired(SERVICES.filter((s) => s.name !== 'tools')),
    observed: (s) => {
      c(s, N.service('tools')).state = 'removing';
    },
  },
  {
    name: 'paused-replaced',
    observed: (s) => {
      c(s, N.service('redis')).state = 'paused';
    },
  },
  {
    name: 'network-gone-stale-endpoints',
    observed: (s) => {
      dropNetwork(s, N.taskNetwork);
      exited(s, N.service('db'), 0, 60_000);
      exited(s, N.proxy('db'), 0, 60_000);
    },
  },
  {
    name: 'served-image-changed',
    json: true,
    observed: (s) => {
      s.images = s.images.map((i) =>
        i.ref === IMAGES.postgres ? observedImage(i.ref, {}, `sha256:${'ab'.repeat(32)}`) : i,
      );
    },
  },
  {
    // Ours under its name, made from another spec: detached, removed, to be made again; the
    // containers on it are kept.
    name: 'network-drifted-replaced',
    json: true,
    observed: (s) => {
      s.networks.find((n) => n.name === N.taskNetwork)!.labels[Label.specHash] = 'stale0000';
    },
  },
  {
    // dockerd made the task network twice (a create retried while the first was under way): the
    // first by id stays, the other goes, and the container on it is made again on the right one.
    name: 'network-duplicate-removed',
    json: true,
    observed: (s) => {
      const kept = s.networks.find((n) => n.name === N.taskNetwork)!;
      const twin = {
        ...kept,
        id: 'f'.repeat(64),
        labels: { ...kept.labels },
        containerIds: [c(s, N.proxy('redis')).id],
      };
      s.networks.push(twin);
      kept.containerIds = kept.containerIds.filter((id) => id !== c(s, N.proxy('redis')).id);
      c(s, N.proxy('redis')).networks[N.taskNetwork]!.networkId = twin.id;
    },
  },
  {
    name: 'worker-network-ready',
    desired: joinsWorkerNetwork,
    observed: onWorkerNetwork,
    check: (p) => expect(p.ready).toBe(true),
  },
  {
    name: 'worker-network-nothing-there',
    desired: joinsWorkerNetwork,
    observed: (s) => {
      onWorkerNetwork(s);
      s.containers = [];
      s.networks = [];
    },
    check: (p) => {
      leavesWorkerNetworkAlone(p);
      // Each service's pod (its proxy owns the namespace) is created on the worker's network with
      // the service's alias.
      const creates = p.actions.filter((a) => a.kind === 'create-container' && a.container.role === 'proxy');
      expect(creates.map((a) => a.kind === 'create-container' && a.network)).toEqual(
        ['db', 'redis', 'tools'].map((service) => ({ name: WORKER_NETWORK, aliases: [service] })),
      );
    },
  },
  {
    name: 'worker-network-missing',
    desired: joinsWorkerNetwork,
    observed: (s) => {
      onWorkerNetwork(s);
      s.containers = [];
      s.networks = [];
      s.external = [];
    },
    check: (p) => {
      expect(p.blocked.map((b) => b.code)).toEqual(['network-missing']);
      leavesWorkerNetworkAlone(p);
    },
  },
  {
    name: 'worker-network-recreated',
    desired: joinsWorkerNetwork,
    observed: (s) => {
      // The worker removed and made its network again: our endpoints point at the old one.
      onWorkerNetwork(s);
      s.external![0]!.id = objectId('network', `${WORKER_NETWORK}-again`);
    },
    check: leavesWorkerNetworkAlone,
  },
  {
    name: 'worker-network-empty-graph',
    desired: () => buildDesired([]),
    observed: onWorkerNetwork,
    check: (p) => {
      leavesWorkerNetworkAlone(p);
      expect(p.actions.filter((a) => a.kind === 'remove-network')).toEqual([]);
      expect(p.actions.filter((a) => a.kind === 'remove-container')).toHaveLength(6);
    },
  },
  {
    // The squatter holds the task network's name (every pod's network): no proxy is created or
    // started on it, and no service without a proxy to join.
    name: 'foreign-same-named-task-network',
    json: true,
    observed: (s) => {
      for (const service of SERVICES) {
        dropContainer(s, N.service(service.name));
        dropContainer(s, N.proxy(service.name));
      }
      dropNetwork(s, N.taskNetwork);
      s.foreign.push({
        type: 'network',
        id: objectId('network', 'squatter'),
        name: N.taskNetwork,
        reason: 'no owner label',
      });
    },
    check: (p) => {
      expect(p.actions).toEqual([]);
      expect(p.ready).toBe(false);
    },
  },
  {
    // The task network was removed and made again under its name: every proxy's endpoint names the
    // old network's id, so each is made again, and its service with it (the service's spec names
    // the proxy it joins, by id).
    name: 'network-recreated-stale-endpoints',
    observed: (s) => {
      const network = n(s, N.taskNetwork);
      network.id = objectId('network', 'task-made-again');
      network.containerIds = [];
      exited(s, N.service('db'), 0, 60_000);
      exited(s, N.proxy('db'), 0, 60_000);
    },
  },
  {
    // A dead container cannot be started, so its restart is a fresh container, made at once in
    // the namespace of its proxy, which runs: a service needs its proxy to run, not to be ready
    // (the proxy's health is waited for, not the service's restart).
    name: 'dead-service-proxy-running-not-ready',
    json: true,
    observed: (s) => {
      exited(s, N.service('db'), 137, 60_000);
      c(s, N.service('db')).state = 'dead';
      c(s, N.proxy('db')).health = 'starting';
    },
  },
  {
    // The same for a service Docker calls unhealthy: its restart waits for its proxy too.
    name: 'unhealthy-service-proxy-not-ready',
    observed: (s) => {
      c(s, N.service('db')).health = 'unhealthy';
      c(s, N.proxy('db')).health = 'starting';
    },
  },
  {
    // The image under tools' tag now carries our labels: it is reported once, as blocked, and
    // nothing is planned or waited for tools or its proxy (the running ones are left alone).
    name: 'image-refused-nothing-else-planned',
    observed: (s) => {
      s.images = s.images.map((i) =>
        i.ref === IMAGES.busybox ? observedImage(i.ref, { [Label.owner]: 'worker-7' }) : i,
      );
    },
    check: (p) => {
      expect(p.blocked.map((b) => b.code)).toEqual(['image-not-ours']);
      expect(p.actions).toEqual([]);
      expect(p.waiting).toEqual([]);
      expect(p.ready).toBe(false);
    },
  },
  {
    // An orphan network whose labels name no graph node, with redis (ours, kept) still on it:
    // redis is detached, then the network removed; neither action names a node.
    name: 'orphan-network-without-node-label',
    json: true,
    observed: (s) => {
      const name = `${N.taskNetwork}_leftover`;
      s.networks.push(observedNetwork(name, ownerLabels(BASE_OWNER)));
      attach(s, N.service('redis'), name);
    },
  },
  {
    // redis's proxy, running and healthy, is also on a network of the graph that its node does not
    // list: one endpoint too many, so it is not ready, and it is detached from that network (a
    // container of ours: not `foreign`).
    name: 'proxy-detached-from-a-graph-network-it-does-not-list',
    json: true,
    desired: (d) => withExtraNetwork(d),
    observed: (s) => {
      addExtraNetwork(s);
      attach(s, N.proxy('redis'), `${N.taskNetwork}_extra`);
    },
    check: (p) => expect(p.ready).toBe(false),
  },
  {
    // Proxies on more than one network of the graph: redis's, gone, is made on the first and
    // attached to the two others before it starts (in id order); tools', there on both of its
    // networks and starting, is kept on both and waited for.
    name: 'proxies-on-several-networks',
    json: true,
    desired: (d) => {
      const graph = withExtraNetwork(withExtraNetwork(d), 'extra2');
      const more = (suffixes: string[]) =>
        suffixes.map((suffix) => ({ network: `network/${suffix}`, aliases: [] }));
      return {
        ...graph,
        containers: graph.containers.map((ct) =>
          ct.name === N.proxy('redis')
            ? { ...ct, networks: [...ct.networks, ...more(['extra2', 'extra'])] }
            : ct.name === N.proxy('tools')
              ? { ...ct, networks: [...ct.networks, ...more(['extra'])] }
              : ct,
        ),
      };
    },
    observed: (s) => {
      addExtraNetwork(s);
      addExtraNetwork(s, 'extra2');
      dropContainer(s, N.proxy('redis'));
      attach(s, N.proxy('tools'), `${N.taskNetwork}_extra`);
      c(s, N.proxy('tools')).health = 'starting';
    },
  },
  {
    // tools' proxy is on its two networks and on a third of the graph it does not list: it is
    // detached from that one only.
    name: 'proxy-on-its-two-networks-and-one-more-of-ours',
    json: true,
    desired: (d) => {
      const graph = withExtraNetwork(withExtraNetwork(d), 'extra2');
      return {
        ...graph,
        containers: graph.containers.map((ct) =>
          ct.name === N.proxy('tools')
            ? { ...ct, networks: [...ct.networks, { network: 'network/extra', aliases: [] }] }
            : ct,
        ),
      };
    },
    observed: (s) => {
      addExtraNetwork(s);
      addExtraNetwork(s, 'extra2');
      attach(s, N.proxy('tools'), `${N.taskNetwork}_extra`);
      attach(s, N.proxy('tools'), `${N.taskNetwork}_extra2`);
    },
  },
  {
    // redis's proxy is on two networks of the graph, both listed, and on a network that is not
    // ours (someone connected it to Docker's bridge): that endpoint is none of ours, so the proxy
    // is ready and nothing is done.
    name: 'ready-on-two-networks-and-one-not-ours',
    desired: (d) => ({
      ...withExtraNetwork(d),
      containers: d.containers.map((ct) =>
        ct.name === N.proxy('redis')
          ? { ...ct, networks: [...ct.networks, { network: 'network/extra', aliases: [] }] }
          : ct,
      ),
    }),
    observed: (s) => {
      addExtraNetwork(s);
      attach(s, N.proxy('redis'), `${N.taskNetwork}_extra`);
      onDockerBridge(s, N.proxy('redis'));
    },
    check: (p) => {
      expect(p.actions).toEqual([]);
      expect(p.ready).toBe(true);
    },
  },
  {
    // Two of ours on one orphan network, each removed: the network's removal waits for both.
    name: 'orphan-network-two-removals',
    json: true,
    observed: (s) => {
      const name = `${N.taskNetwork}_old`;
      s.networks.push(
        observedNetwork(name, { ...ownerLabels(BASE_OWNER), [Label.node]: 'network/service/old' }),
      );
      for (const [stray, node] of [
        [`${N.taskNetwork}_old`, 'container/service/old'],
        [`${N.taskNetwork}_old_proxy`, 'container/proxy/old'],
      ] as const) {
        s.containers.push(
          observedContainer(stray, {
            ...ownerLabels(BASE_OWNER),
            [Label.node]: node,
            [Label.specHash]: '0000',
          }),
        );
        attach(s, stray, name);
      }
    },
  },
  {
    // Containers that never ran: dockerd reports their endpoints without a network id. They are
    // started, not taken for stale and made again.
    name: 'created-never-ran-endpoints-without-network-id',
    observed: (s) => {
      for (const ct of s.containers) {
        Object.assign(ct, { state: 'created', health: 'none', startedAt: undefined });
        for (const endpoint of Object.values(ct.networks)) endpoint.networkId = '';
      }
    },
  },
  {
    // The proxy image is not there yet: the proxies wait for its pull, and each service, made and
    // attached meanwhile, waits for its proxy to be bound.
    name: 'proxy-image-missing',
    observed: (s) => {
      nothingThere(s);
      s.images = s.images.filter((i) => i.ref !== 'ds-fixtures/proxy:latest');
      s.missingImages = ['ds-fixtures/proxy:latest'];
    },
  },
  {
    // db's proxy runs healthy but off the task network: it is attached; db, in its namespace,
    // starts at once (it needs the proxy to run, not to be ready).
    name: 'proxy-detached-service-created',
    observed: (s) => {
      detach(s, N.proxy('db'), N.taskNetwork);
      Object.assign(c(s, N.service('db')), { state: 'created', health: 'none', startedAt: undefined });
    },
  },
  {
    // The task network is being replaced (another spec): an exited service on it is not restarted
    // onto it; the containers that run are detached so that it can go.
    name: 'network-drifted-service-exited',
    observed: (s) => {
      n(s, N.taskNetwork).labels[Label.specHash] = 'stale0000';
      exited(s, N.service('redis'), 1, 60_000);
    },
  },
  {
    name: 'network-missing-running-containers-untouched',
    observed: (s) => {
      // Docker never removes a network with endpoints; a snapshot taken mid-change can still show this.
      dropNetwork(s, N.taskNetwork);
      for (const ct of s.containers) delete ct.networks[N.taskNetwork];
    },
  },
  // ── situations the mutation runs of plan.ts found undescribed (test/mutation/RESULTS.md) ──
  {
    // The snapshot lists two images under one tag (the tag moved between two listings): the
    // first by id is bound, whatever order they are listed in.
    name: 'image-listed-twice-under-one-tag',
    json: true,
    observed: (s) => {
      nothingThere(s);
      s.images.push(observedImage(IMAGES.postgres, {}, `sha256:${'0'.repeat(64)}`));
    },
  },
  {
    // A network that is not ours under the name of ours: db's network is blocked, and db and its
    // proxy, both running and ready on ours, wait for it instead of being left as settled.
    name: 'foreign-network-beside-ours-under-one-name',
    observed: (s) => {
      s.foreign.push({
        type: 'network',
        id: objectId('network', 'squatter'),
        name: N.taskNetwork,
        reason: 'no owner label',
      });
    },
    check: (p) => expect(p.ready).toBe(false),
  },
  {
    // We never set a restart policy: a container Docker restarts by itself was changed by
    // someone else, and is made again.
    name: 'restarting-replaced',
    observed: (s) => {
      c(s, N.service('redis')).state = 'restarting';
    },
  },
  {
    // A graph whose container joins neither a network nor another's namespace (compile never makes
    // one): it waits, nothing is made.
    name: 'container-without-network',
    desired: (d) => ({
      ...d,
      containers: d.containers.map((ct) => (ct.name === N.proxy('tools') ? { ...ct, networks: [] } : ct)),
    }),
    observed: nothingThere,
  },
  {
    // A short run that ended long ago does not reset a spent budget: what counts is how long the
    // service ran (finished − started), not how long ago it started.
    name: 'crash-loop-short-run-long-ago',
    observed: (s) => {
      exited(s, N.service('db'), 137, 650_000, true);
      c(s, N.service('db')).startedAt = new Date(BASE_NOW - 700_000).toISOString();
    },
    options: (o) => ({ restart: { ...o.restart, resetAfterMs: 600_000 } }),
  },
  {
    // A graph made by hand, its networks, containers and aliases in no order: planned as the
    // sorted graph (redis's proxy, missing, is made with its aliases in order).
    name: 'graph-listed-out-of-order',
    json: true,
    desired: (d) => {
      const extra = withExtraNetwork(d);
      return {
        ...extra,
        networks: [...extra.networks].reverse(),
        containers: [...extra.containers]
          .reverse()
          .map((ct) =>
            ct.name === N.proxy('redis')
              ? { ...ct, networks: [{ network: 'network/task', aliases: ['redis', 'cache'] }] }
              : ct,
          ),
      };
    },
    observed: (s) => {
      addExtraNetwork(s);
      dropContainer(s, N.proxy('redis'));
    },
  },
  {
    // A binder may decline a node that joins no namespace: the proxy waits with "images not
    // bound", nothing is made for it, and its service waits for it to exist.
    name: 'binder-declines-proxy',
    observed: nothingThere,
    options: (o) => ({
      bind: (node, resolve, namespaceId) =>
        node.name === N.proxy('tools') ? undefined : o.bind!(node, resolve, namespaceId),
    }),
  },
  {
    // db died and its proxy exited: the proxy is made again, and db, which joins its network
    // namespace, waits for it to run instead of being made again in a namespace going away.
    name: 'dead-service-proxy-not-running',
    observed: (s) => {
      exited(s, N.service('db'), 137, 60_000);
      c(s, N.service('db')).state = 'dead';
      exited(s, N.proxy('db'), 1, 60_000);
    },
  },
  {
    // A graph made by hand where db (created, not started) depends on more than its proxy: its
    // wait names every dependency that is not ready, in id order, each with why.
    name: 'service-waits-for-each-dependency-with-its-reason',
    desired: (d) => dbDependsOn(d, DB_DEPENDENCIES),
    observed: dependenciesNotReady,
  },
  {
    // db (created) depends on tools' proxy, ready, and on redis's, healthy but off its network:
    // it waits for redis's only, and says the networks are why, not the health.
    name: 'service-waits-only-for-its-dependency-not-ready',
    desired: (d) => dbDependsOn(d, ['container/proxy/redis', 'container/proxy/tools']),
    observed: (s) => {
      createdNotStarted(s, N.service('db'));
      detach(s, N.proxy('redis'), N.taskNetwork);
      c(s, N.proxy('redis')).health = 'healthy';
    },
  },
  {
    // Our task network lost its spec-hash label: the hash is taken as empty, and the network is
    // replaced (its containers kept).
    name: 'network-without-spec-hash-label-replaced',
    observed: (s) => {
      delete n(s, N.taskNetwork).labels[Label.specHash];
    },
  },
  {
    // The same, db's dependencies listed the other way round: the same wait, in id order.
    name: 'service-waits-for-dependencies-listed-in-reverse',
    desired: (d) => {
      const graph = dbDependsOn(d, DB_DEPENDENCIES);
      return {
        ...graph,
        containers: graph.containers.map((ct) =>
          ct.name === N.service('db') ? { ...ct, dependsOn: [...ct.dependsOn].reverse() } : ct,
        ),
      };
    },
    observed: dependenciesNotReady,
  },
  {
    // The same for a dependency off its network and one whose image is missing (not bound).
    name: 'service-waits-for-a-dependency-detached-or-not-bound',
    desired: (d) => dbDependsOn(d, ['container/proxy/redis', 'container/service/tools']),
    observed: (s) => {
      createdNotStarted(s, N.service('db'));
      detach(s, N.proxy('redis'), N.taskNetwork);
      s.images = s.images.filter((i) => i.ref !== IMAGES.busybox);
      s.missingImages = [IMAGES.busybox];
    },
  },
  {
    // db's proxy is running and healthy but off its network: db's wait says the networks are
    // the reason, not the health.
    name: 'proxy-healthy-but-detached',
    observed: (s) => {
      detach(s, N.proxy('db'), N.taskNetwork);
      c(s, N.proxy('db')).health = 'healthy';
      Object.assign(c(s, N.service('db')), { state: 'created', health: 'none', startedAt: undefined });
    },
  },
  {
    // redis's pod lost its endpoint on the task network (its proxy's): it is attached again with
    // redis's alias.
    name: 'running-detached-from-task-network',
    json: true,
    observed: (s) => detach(s, N.proxy('redis'), N.taskNetwork),
    check: (p) => {
      const connect = p.actions.find((a) => a.kind === 'connect-network');
      expect(connect && connect.kind === 'connect-network' && connect.aliases).toEqual(['redis']);
    },
  },
  {
    // redis also sits on a network that is not ours (someone connected it to the default bridge):
    // that endpoint is none of our business, whether redis runs (ready) or has exited (restarted).
    name: 'running-on-a-network-not-ours',
    observed: (s) => {
      onDockerBridge(s, N.service('redis'));
    },
    check: (p) => {
      expect(p.actions).toEqual([]);
      expect(p.ready).toBe(true);
    },
  },
  {
    name: 'exited-on-a-network-not-ours',
    observed: (s) => {
      onDockerBridge(s, N.service('redis'));
      exited(s, N.service('redis'), 1, 60_000);
    },
    check: (p) => expect(p.actions.filter((a) => a.kind === 'disconnect-network')).toEqual([]),
  },
  {
    // Everything desired is ready, but two orphans are still being removed (one without a node
    // label): the plan has nothing to do and is not ready until they are gone.
    name: 'orphan-containers-being-removed',
    json: true,
    observed: (s) => {
      s.containers.push(
        observedContainer(
          `${N.taskNetwork}_adminer`,
          {
            ...ownerLabels(BASE_OWNER),
            [Label.node]: 'container/service/adminer',
          },
          { state: 'removing' },
        ),
        observedContainer(`${N.taskNetwork}_old`, ownerLabels(BASE_OWNER), { state: 'removing' }),
      );
    },
    check: (p) => {
      expect(p.actions).toEqual([]);
      expect(p.ready).toBe(false);
    },
  },
  {
    // An exited orphan without a node label: its removal names no node.
    name: 'orphan-container-without-node-label',
    json: true,
    observed: (s) => {
      s.containers.push(
        observedContainer(`${N.taskNetwork}_old`, ownerLabels(BASE_OWNER), {
          state: 'exited',
          health: 'none',
        }),
      );
    },
  },
  {
    // An orphan network without a node label, with two orphans on it being removed (the network
    // lists them out of id order): it waits for both, named in id order.
    name: 'orphan-network-waits-for-two-removals',
    json: true,
    observed: (s) => {
      const name = `${N.taskNetwork}_old`;
      const strays = [`${N.taskNetwork}_old_a`, `${N.taskNetwork}_old_b`].map((stray) =>
        observedContainer(stray, ownerLabels(BASE_OWNER), { state: 'removing' }),
      );
      s.containers.push(...strays);
      s.networks.push(observedNetwork(name, ownerLabels(BASE_OWNER)));
      for (const stray of strays) attach(s, stray.name, name);
      n(s, name).containerIds.sort().reverse();
    },
  },
  {
    // db's network is being replaced while db's proxy is being removed: db waits for the network,
    // the network for the proxy's removal (two waits under one name, ordered by reason).
    name: 'service-network-drifted-proxy-being-removed',
    json: true,
    observed: (s) => {
      n(s, N.taskNetwork).labels[Label.specHash] = 'stale0000';
      c(s, N.proxy('db')).state = 'removing';
    },
  },
  {
    // tools and redis exited while on an orphan network that does not list them (dockerd lists
    // only the containers running on a network): their endpoints still hold the network, so both
    // are detached before the network is removed.
    name: 'orphan-network-exited-containers-not-listed',
    json: true,
    observed: (s) => {
      const name = `${N.taskNetwork}_old`;
      s.networks.push(
        observedNetwork(name, { ...ownerLabels(BASE_OWNER), [Label.node]: 'network/service/old' }),
      );
      for (const service of ['tools', 'redis']) {
        attach(s, N.service(service), name);
        exited(s, N.service(service), 0, 60_000);
      }
      n(s, name).containerIds = [];
    },
  },
  {
    // An orphan network with an orphan container (removed) and a stranger's endpoint
    // (disconnected): its removal waits for both, in plan order (removal before disconnect).
    name: 'orphan-network-removal-and-stranger',
    observed: (s) => {
      const name = `${N.taskNetwork}_old`;
      const strangerId = objectId('container', 'stranger');
      s.containers.push(
        observedContainer(
          `${N.taskNetwork}_old`,
          {
            ...ownerLabels(BASE_OWNER),
            [Label.node]: 'container/service/old',
          },
          { state: 'exited', health: 'none' },
        ),
      );
      s.networks.push(
        observedNetwork(name, { ...ownerLabels(BASE_OWNER), [Label.node]: 'network/service/old' }, [
          strangerId,
        ]),
      );
      attach(s, `${N.taskNetwork}_old`, name);
      s.foreign.push({ type: 'container', id: strangerId, name: 'stranger', reason: 'no owner label' });
    },
  },
  {
    // Two orphan networks of ours under one name: one removal this plan (of the last by id); the
    // other goes on the next.
    name: 'two-orphan-networks-of-one-name',
    json: true,
    observed: (s) => {
      const name = `${N.taskNetwork}_old`;
      const labels = { ...ownerLabels(BASE_OWNER), [Label.node]: 'network/service/old' };
      s.networks.push(
        { ...observedNetwork(name, labels), id: `${'1'.repeat(64)}` },
        { ...observedNetwork(name, labels), id: `${'2'.repeat(64)}` },
      );
    },
    check: (p) => expect(p.actions.filter((a) => a.kind === 'remove-network')).toHaveLength(1),
  },
  {
    // Spec hashes that differ late are shown to the first digit that tells them apart: db's
    // in its last digit, and the task network's label cut short; tools' proxy has lost its label.
    name: 'spec-hashes-differing-late',
    observed: (s) => {
      const db = c(s, N.service('db'));
      const hash = db.labels[Label.specHash]!;
      db.labels[Label.specHash] = `${hash.slice(0, -1)}${hash.endsWith('0') ? '1' : '0'}`;
      const network = n(s, N.taskNetwork);
      network.labels[Label.specHash] = network.labels[Label.specHash]!.slice(0, 8);
      delete c(s, N.proxy('tools')).labels[Label.specHash];
    },
  },
  {
    // Names held by others: db's container by another worker's (owner label only), the task network by
    // one with a task label only (and a second, later by id); redis's image is missing and may not be pulled. Each is blocked
    // once, sorted by name then reason, naming whose it is (the first of a name, by id).
    name: 'names-held-by-other-owners',
    json: true,
    desired: (d) => ({
      ...d,
      imageSources: [{ from: 'registry' as const, ref: IMAGES.redis, policy: 'never' as const }],
    }),
    observed: (s) => {
      nothingThere(s);
      s.containers.push(observedContainer(N.service('db'), { [Label.owner]: 'worker-9' }));
      s.networks.push(
        {
          ...observedNetwork(N.taskNetwork, { [Label.taskId]: OTHER_OWNER.taskId }),
          id: `${'1'.repeat(64)}`,
        },
        { ...observedNetwork(N.taskNetwork, ownerLabels(OTHER_OWNER)), id: `${'2'.repeat(64)}` },
      );
      s.images = s.images.filter((i) => i.ref !== IMAGES.redis);
      s.missingImages = [IMAGES.redis];
    },
  },
  {
    // The worker's network among others the observer reports as external, and listed three times
    // (re-create races), itself between the other two: the first by id of its name is the one
    // joined, wherever it is listed; the plan is ready.
    name: 'worker-network-among-others-and-its-duplicates',
    desired: joinsWorkerNetwork,
    observed: (s) => {
      onWorkerNetwork(s);
      const worker = s.external![0]!;
      s.external = [
        { ...worker, id: `e${worker.id.slice(1)}`, containerIds: [] },
        worker,
        { ...worker, id: `f${worker.id.slice(1)}`, containerIds: [] },
        { id: `${'0'.repeat(64)}`, name: 'gw-task-another-0', labels: {}, containerIds: [] },
      ];
    },
    check: (p) => {
      expect(p.actions).toEqual([]);
      expect(p.ready).toBe(true);
    },
  },
  {
    // tools also joins db's network (listed after its own), and is gone: made again on the task
    // network, attached to the other two, and started after both, in id order.
    name: 'container-on-three-networks-made-again',
    desired: (d) => ({
      ...d,
      containers: d.containers.map((ct) =>
        ct.name === N.service('tools')
          ? { ...ct, networks: [...ct.networks, { network: 'network/service/db', aliases: [] }] }
          : ct,
      ),
    }),
    observed: (s) => dropContainer(s, N.service('tools')),
  },
  {
    // The same tools, created and attached to none of its networks: both attaches come before
    // its start, in id order.
    name: 'container-on-three-networks-created-detached',
    desired: (d) => ({
      ...d,
      containers: d.containers.map((ct) =>
        ct.name === N.service('tools')
          ? {
              ...ct,
              networks: [
                { network: 'network/task', aliases: ['tools'] },
                { network: 'network/service/tools', aliases: [] },
                { network: 'network/service/db', aliases: [] },
              ],
            }
          : ct,
      ),
    }),
    observed: (s) => {
      const tools = c(s, N.service('tools'));
      Object.assign(tools, { state: 'created', health: 'none', startedAt: undefined, networks: {} });
      for (const net of s.networks) net.containerIds = net.containerIds.filter((id) => id !== tools.id);
    },
  },
];

/** The options for a case: the ledger gives db two restarts' history where a case wants it. */
function optionsFor(k: Case, observed: Snapshot): PlanOptions {
  const o = baseOptions();
  const hasDb = observed.containers.some((x) => x.name === N.service('db'));
  if (hasDb) {
    const key = dbKey(observed);
    const ledger: Record<string, PlanOptions['restarts']> = {
      'dead-service-backoff-due': { [key]: { count: 1, lastAt: BASE_NOW - 5_000 } },
      'dead-service-backoff-not-due': { [key]: { count: 3, lastAt: BASE_NOW - 2_000 } },
      'crash-loop-past-budget': { [key]: { count: 5, lastAt: BASE_NOW - 40_000 } },
      'crash-loop-budget-reset-after-long-run': { [key]: { count: 5, lastAt: BASE_NOW - 1_300_000 } },
      'crash-loop-short-run-long-ago': { [key]: { count: 5, lastAt: BASE_NOW - 660_000 } },
    };
    if (ledger[k.name]) o.restarts = ledger[k.name]!;
  }
  return { ...o, ...(k.options?.(o) ?? {}) };
}

function run(k: Case): Plan {
  const desired = k.desired ? k.desired(baseDesired()) : baseDesired();
  const base = clone(convergedSnapshot(baseDesired()));
  const observed = k.observed ? (k.observed(base) ?? base) : base;
  return plan(desired, observed, optionsFor(k, observed));
}

function golden(file: string, actual: string): void {
  const path = join(GOLDEN_DIR, file);
  if (UPDATE) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`missing golden ${path}: run with UPDATE_GOLDEN=1`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

/**
 * The actions as the executors get them (ids of the Docker objects, aliases, restart ledger keys,
 * a stranger's endpoint marked `foreign`), which the rendered plan does not show. A created
 * container's node stands as its name and bound spec hash: the hash covers the rest (and its env
 * values stay out of the file).
 */
function actionsForExecutors(p: Plan): string {
  const actions = p.actions.map((a) =>
    a.kind === 'create-container'
      ? { ...a, container: { name: a.container.name, specHash: a.container.specHash } }
      : a,
  );
  return `${JSON.stringify(actions, null, 2)}\n`;
}

describe('plan over golden text', () => {
  test('the table has unique names and at least 25 cases', () => {
    expect(new Set(cases.map((k) => k.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  test.each(cases.map((k) => [k.name, k] as const))('%s', (_name, k) => {
    const p = run(k);
    const text = formatPlan(p, 'text');
    golden(`${k.name}.txt`, text);
    if (k.json) {
      golden(`${k.name}.json`, formatPlan(p, 'json'));
      golden(`${k.name}.actions.json`, actionsForExecutors(p));
    }
    // Env values of the graph never reach either rendering.
    expect(text).not.toContain(SECRET);
    expect(formatPlan(p, 'json')).not.toContain(SECRET);
    k.check?.(p);
  });
});

describe('the base fixture', () => {
  test('binds every node, and the converged snapshot carries the bound hashes', () => {
    const d = baseDesired();
    const s = convergedSnapshot(d);
    const bound = boundContainers(d, s.images);
    expect(bound.map((b) => b.name).sort()).toEqual(s.containers.map((x) => x.name).sort());
    for (const b of bound) expect(c(s, b.name).labels[Label.specHash]).toBe(b.specHash);
    expect(c(s, N.proxy('db')).image).toBe('ds-fixtures/proxy:latest');
    expect(s.images.map((i) => i.id)).toContain(imageId(IMAGES.postgres));
  });
});
