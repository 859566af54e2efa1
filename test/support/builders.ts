/**
 * Small builders of desired graphs and snapshots for planner tests, following the types and the
 * naming of `src/desired-state`: task network `ds-<taskId>-<runId>`, service container
 * `ds-<taskId>-<runId>_<service>` in the network namespace of its proxy `…_<service>_proxy`.
 *
 * `simpleBind`/`simpleResolveImage` stand in for `bindImages`/`resolveImage` of
 * `src/desired-state/images.ts`: they resolve the same way (repo digest, else image id) and put
 * the served image's key into a proxy's `cmd` and spec hash, and the namespace owner's id into a
 * service's spec hash.
 */
import { createHash } from 'node:crypto';
import { Label } from '../../src/desired-state/labels.js';
import {
  IMAGE_KEY_PLACEHOLDER,
  type ContainerNode,
  type DesiredState,
  type HealthCheck,
  type NetworkNode,
  type OwnerRef,
  type ResolvedImage,
} from '../../src/desired-state/types.js';
import type {
  ObservedContainer,
  ObservedImage,
  ObservedNetwork,
  Snapshot,
} from '../../src/observed-state/types.js';
import type { PlanOptions } from '../../src/reconciler/plan.js';
import { DEFAULT_RESTART_POLICY } from '../../src/reconciler/restarts.js';

export const HASH_VERSION = '1';
export const PROXY_IMAGE = 'ds-fixtures/proxy:latest';
export const PROXY_PORT = 61080;

export const BASE_OWNER: OwnerRef = { ownerId: 'worker-7', taskId: 'fXaAmhBlTXmKjFmfd7Fh9A', runId: 0 };
export const BASE_TIME = '2024-05-01T12:00:00.000Z';
export const BASE_NOW = Date.parse(BASE_TIME);

/** Canonical JSON (sorted keys) → sha256 hex. */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function names(owner: OwnerRef) {
  const base = `ds-${owner.taskId}-${owner.runId}`;
  return {
    taskNetwork: base,
    service: (service: string) => `${base}_${service}`,
    proxy: (service: string) => `${base}_${service}_proxy`,
  };
}

export interface ServiceInput {
  name: string;
  image: string;
  env?: Record<string, string>;
  cmd?: string[];
  /** True: a default pg_isready-like check. */
  healthCheck?: boolean;
}

const HEALTH: HealthCheck = {
  test: ['CMD-SHELL', 'true'],
  intervalNs: 1_000_000_000,
  timeoutNs: 1_000_000_000,
  retries: 3,
  startPeriodNs: 0,
};

const LIMITS = { memoryBytes: 512 * 1024 * 1024, pidsLimit: 256, logMaxBytes: 10 * 1024 * 1024 };

export function ownerLabels(owner: OwnerRef): Record<string, string> {
  return {
    [Label.owner]: owner.ownerId,
    [Label.taskId]: owner.taskId,
    [Label.runId]: String(owner.runId),
  };
}

function nodeLabels(
  owner: OwnerRef,
  node: string,
  role: string,
  specHash: string,
  service?: string,
): Record<string, string> {
  return {
    ...ownerLabels(owner),
    [Label.node]: node,
    [Label.role]: role,
    ...(service === undefined ? {} : { [Label.service]: service }),
    [Label.specHash]: specHash,
    [Label.hashVersion]: HASH_VERSION,
  };
}

function networkNode(owner: OwnerRef): NetworkNode {
  const id = 'network/task';
  const name = names(owner).taskNetwork;
  const role = 'task-network';
  const specHash = hashOf({ name, role, driver: 'bridge' });
  return {
    kind: 'network',
    id,
    name,
    role,
    labels: nodeLabels(owner, id, role, specHash, undefined),
    specHash,
  };
}

function withHash(
  node: Omit<ContainerNode, 'specHash' | 'labels'>,
  owner: OwnerRef,
  extra: unknown,
): ContainerNode {
  const specHash = hashOf({
    name: node.name,
    image: node.image,
    cmd: node.cmd,
    env: node.env,
    healthCheck: node.healthCheck,
    limits: node.limits,
    extra,
  });
  return { ...node, specHash, labels: nodeLabels(owner, node.id, node.role, specHash, node.service) };
}

/** The graph `compile()` would make for these services: the task network, and per service the proxy and the service in its namespace. */
export function buildDesired(
  services: ServiceInput[],
  owner: OwnerRef = BASE_OWNER,
  proxyImage = PROXY_IMAGE,
): DesiredState {
  const n = names(owner);
  const networks: NetworkNode[] = services.length > 0 ? [networkNode(owner)] : [];
  const containers: ContainerNode[] = [];
  for (const s of services) {
    const proxy = withHash(
      {
        kind: 'container',
        id: `container/proxy/${s.name}`,
        name: n.proxy(s.name),
        role: 'proxy',
        service: s.name,
        image: proxyImage,
        cmd: [
          '--ip-address=127.0.0.1',
          `--port=${PROXY_PORT}`,
          '--root-url=https://tc.example.com',
          `assume:docker-service-image:prov/wt/${IMAGE_KEY_PLACEHOLDER}`,
        ],
        env: {},
        limits: LIMITS,
        networks: [{ network: 'network/task', aliases: [s.name] }],
        extraHosts: ['taskcluster:127.0.0.1'],
        dependsOn: ['network/task'],
        imageKeyOf: s.image,
        needsCredentials: true,
      },
      owner,
      undefined,
    );
    const service = withHash(
      {
        kind: 'container',
        id: `container/service/${s.name}`,
        name: n.service(s.name),
        role: 'service',
        service: s.name,
        image: s.image,
        ...(s.cmd === undefined ? {} : { cmd: s.cmd }),
        env: {
          ...s.env,
          TASK_ID: owner.taskId,
          RUN_ID: String(owner.runId),
          TASKCLUSTER_PROXY_URL: `http://taskcluster:${PROXY_PORT}`,
        },
        ...(s.healthCheck ? { healthCheck: HEALTH } : {}),
        limits: LIMITS,
        networks: [],
        networkNamespaceOf: `container/proxy/${s.name}`,
        dependsOn: [`container/proxy/${s.name}`],
        needsCredentials: false,
      },
      owner,
      undefined,
    );
    containers.push(proxy, service);
  }
  const images = [...new Set(containers.map((c) => c.image))].sort();
  return { owner, networks, containers, images };
}

export function imageId(ref: string): string {
  return `sha256:${hashOf({ image: ref })}`;
}

export function observedImage(
  ref: string,
  labels: Record<string, string> = {},
  id = imageId(ref),
): ObservedImage {
  return { ref, id, repoDigests: [], labels };
}

export function simpleResolveImage(ref: string, observed: ObservedImage): ResolvedImage {
  const digest = observed.repoDigests[0]?.split('@')[1];
  return { ref, id: observed.id, key: digest ?? observed.id, labels: observed.labels };
}

/**
 * Puts the image id into the spec hash, for a proxy the served image's key into `cmd` and hash, and
 * for a container in another's network namespace that container's id into the node and hash.
 */
export function simpleBind(
  node: ContainerNode,
  resolve: (ref: string) => ResolvedImage | undefined,
  namespaceContainerId?: string,
): ContainerNode | undefined {
  const own = resolve(node.image);
  if (own === undefined) return undefined;
  if (node.networkNamespaceOf !== undefined && namespaceContainerId === undefined) return undefined;
  let cmd = node.cmd;
  let key: string | undefined;
  if (node.imageKeyOf !== undefined) {
    const served = resolve(node.imageKeyOf);
    if (served === undefined) return undefined;
    key = served.key;
    cmd = cmd?.map((arg) => arg.split(IMAGE_KEY_PLACEHOLDER).join(served.key));
  }
  const namespace = node.networkNamespaceOf === undefined ? undefined : namespaceContainerId;
  const specHash = hashOf({ unbound: node.specHash, imageId: own.id, key, namespace });
  return {
    ...node,
    ...(cmd === undefined ? {} : { cmd }),
    ...(namespace === undefined ? {} : { namespaceContainerId: namespace }),
    specHash,
    labels: { ...node.labels, [Label.specHash]: specHash },
  };
}

export function objectId(kind: string, name: string): string {
  return hashOf({ kind, name });
}

export function baseOptions(overrides: Partial<PlanOptions> = {}): PlanOptions {
  return {
    now: BASE_NOW,
    restarts: {},
    restart: { ...DEFAULT_RESTART_POLICY },
    bind: simpleBind,
    resolveImage: simpleResolveImage,
    ...overrides,
  };
}

/** The desired graph's nodes bound against the given images (as the planner binds them). */
export function boundContainers(
  desired: DesiredState,
  images: ObservedImage[],
  bind: NonNullable<PlanOptions['bind']> = simpleBind,
  resolve: NonNullable<PlanOptions['resolveImage']> = simpleResolveImage,
  /** The Docker id of a container by name; default: the id `observedContainer` gives it. */
  containerId: (name: string) => string | undefined = (name) => objectId('container', name),
): ContainerNode[] {
  const byRef = new Map(images.map((i) => [i.ref, resolve(i.ref, i)]));
  const nameOf = new Map(desired.containers.map((c) => [c.id, c.name]));
  return desired.containers.map((c) => {
    const owner = c.networkNamespaceOf === undefined ? undefined : nameOf.get(c.networkNamespaceOf);
    const bound = bind(c, (ref) => byRef.get(ref), owner && containerId(owner));
    if (bound === undefined) throw new Error(`cannot bind ${c.name}`);
    return bound;
  });
}

/**
 * What Docker shows once `desired` has converged: every network, every container running and
 * healthy on its networks, every image present.
 */
export function convergedSnapshot(desired: DesiredState, time = BASE_TIME): Snapshot {
  const images = desired.images.map((ref) => observedImage(ref));
  const networks: ObservedNetwork[] = desired.networks.map((n) => ({
    id: objectId('network', n.name),
    name: n.name,
    labels: { ...n.labels },
    containerIds: [],
  }));
  const networkByNode = new Map(desired.networks.map((n) => [n.id, n]));
  const containers = boundContainers(desired, images).map((c) => {
    const endpoints: ObservedContainer['networks'] = {};
    c.networks.forEach((a, i) => {
      const name = networkByNode.get(a.network)!.name;
      endpoints[name] = {
        networkId: objectId('network', name),
        aliases: [...a.aliases],
        ipAddress: `172.20.0.${i + 2}`,
      };
    });
    return observedContainer(c.name, c.labels, {
      image: c.image,
      imageId: imageId(c.image),
      health: c.healthCheck ? 'healthy' : 'none',
      networks: endpoints,
    });
  });
  for (const c of containers) {
    for (const endpoint of Object.values(c.networks)) {
      networks.find((n) => n.id === endpoint.networkId)?.containerIds.push(c.id);
    }
  }
  return { time, containers, networks, images, missingImages: [], foreign: [] };
}

export function observedContainer(
  name: string,
  labels: Record<string, string>,
  overrides: Partial<ObservedContainer> = {},
): ObservedContainer {
  return {
    id: objectId('container', name),
    name,
    labels: { ...labels },
    image: 'ds-fixtures/busybox:latest',
    imageId: imageId('ds-fixtures/busybox:latest'),
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    health: 'none',
    networks: {},
    createdAt: '2024-05-01T11:59:00.000Z',
    startedAt: '2024-05-01T11:59:01.000Z',
    ...overrides,
  };
}

export function observedNetwork(
  name: string,
  labels: Record<string, string>,
  containerIds: string[] = [],
): ObservedNetwork {
  return { id: objectId('network', name), name, labels: { ...labels }, containerIds };
}

/** Deep copy, so that a case can change a snapshot without touching the base. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
