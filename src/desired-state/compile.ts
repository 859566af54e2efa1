/**
 * `compile(payload, context)`: the desired-state graph of a task's services. Pure and
 * deterministic: the same payload and context give the same graph, byte for byte, whatever the
 * order of keys or services in the input. Nothing here talks to Docker; a payload that does not
 * compile is refused before anything exists.
 *
 * For each service `s` (sorted by name), a pod of two containers in one network namespace:
 *   container/proxy/s    the auth proxy, which owns the namespace: on network/task with alias `s`,
 *                        `taskcluster` → 127.0.0.1 in its /etc/hosts, listening on 127.0.0.1 only
 *   container/service/s  the service, in the proxy's namespace (`networkNamespaceOf`): reached as
 *                        `s` on network/task, and reaching its proxy on loopback
 * plus network/task, which the task container joins (see `taskContainerOptions`). One network per
 * task: a host's address pools bound how many networks exist at once, not how many containers.
 * The task container and other tasks reach the service's address, never the proxy's port on it:
 * nothing listens there but on loopback, which is the pod's own.
 */
import { HASH_VERSION, containerHashInput, networkHashInput, specHash } from './hash.js';
import type { WorkerConfig } from './config.js';
import { satisfiesExpression } from 'taskcluster-lib-scopes';
import { ConfigError, PayloadValidationError, renderValue, type PayloadError } from './errors.js';
import { Label, NAME_PREFIX } from './labels.js';
import {
  TASK_NETWORK_NODE,
  isRunId,
  isTaskId,
  parseOwnedName,
  proxyContainerName,
  proxyContainerNode,
  serviceContainerName,
  serviceContainerNode,
  taskNetworkName,
} from './names.js';
import { decodeServices, type HealthCheckSpec, type ServiceSpec } from './payload.js';
import { imageSource, type ImageSource } from './image-source.js';
import {
  IMAGE_KEY_PLACEHOLDER,
  type ContainerLimits,
  type ContainerNode,
  type DesiredState,
  type HealthCheck,
  type NetworkNode,
  type NodeId,
  type OwnerRef,
} from './types.js';

export { decodeServices, decodeServicesEither } from './payload.js';

export interface CompileContext {
  config: WorkerConfig;
  taskId: string;
  runId: number;
  /** The task's scopes; services receive them as `TASK_SCOPES` (they are not secret). */
  scopes: string[];
  /**
   * An existing network to use as the task network instead of making one: generic-worker makes a
   * network per task (`gw-task-<taskId[:12]>-<runId>`) and puts the task container on it. The
   * services join it with their aliases; it is not ours, so the graph marks it `external` and
   * nothing ever creates, labels or removes it.
   */
  taskNetwork?: string;
}

/** What the proxy is reached as, from its service only: a name in the pod's /etc/hosts. */
export const PROXY_ALIAS = 'taskcluster';
/**
 * Where the proxy listens: loopback of the namespace it shares with its service. Never another
 * address: that would put it on the task network, where the task container and (through a
 * published port or a shared network) others could reach a proxy holding the service's role.
 */
export const PROXY_LISTEN_ADDRESS = '127.0.0.1';

/** `TASKCLUSTER_PROXY_URL` of a service whose proxy listens on `port`. */
export function proxyUrl(port: number): string {
  return `http://${PROXY_ALIAS}:${port}`;
}

/** Docker's defaults are too slow for readiness (30 s interval); these apply where the payload is silent. */
export const HEALTH_CHECK_DEFAULTS = { interval: 2, timeout: 5, startPeriod: 0, retries: 3 } as const;

const NS_PER_SECOND = 1e9;

/** What dockerd accepts as a network name (its `validName`, plus a length bound). */
const DOCKER_NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** The graph of a task with no services; also what garbage collection reconciles to. */
export function emptyGraph(owner: OwnerRef): DesiredState {
  return { owner: { ...owner }, networks: [], containers: [], images: [] };
}

/** Every label an object of `owner` carries; `specHash` is filled in by the caller. */
export function ownershipLabels(
  owner: OwnerRef,
  node: { id: NodeId; role: string; service?: string | undefined },
  hash: string,
): Record<string, string> {
  const labels: Record<string, string> = {
    [Label.hashVersion]: HASH_VERSION,
    [Label.node]: node.id,
    [Label.owner]: owner.ownerId,
    [Label.role]: node.role,
    [Label.runId]: String(owner.runId),
    [Label.specHash]: hash,
    [Label.taskId]: owner.taskId,
  };
  // Stryker disable next-line ConditionalExpression: a label of undefined is none (Docker gets JSON, which leaves it out)
  if (node.service !== undefined) labels[Label.service] = node.service;
  return sortedRecord(labels);
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  // fromEntries defines own properties: an env name such as `__proto__` stays a variable.
  // Stryker disable next-line EqualityOperator,ConditionalExpression: keys are unique, and the order need only be one for every input order (renderings and hashes sort keys again): a comparator mutated so still gives one
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkContext(context: CompileContext): void {
  const errors: PayloadError[] = [];
  const problem = (path: string, value: unknown, message: string): void => {
    errors.push({ path, value: renderValue(value), message: `${message}; got ${renderValue(value)}` });
  };
  if (typeof context.taskId !== 'string' || !isTaskId(context.taskId))
    problem('taskId', context.taskId, 'must be a Taskcluster task id (a slugid: 22 of A-Z, a-z, 0-9, -, _)');
  // Stryker disable next-line ConditionalExpression: isRunId refuses every value that is not a number as well
  if (typeof context.runId !== 'number' || !isRunId(context.runId))
    problem('runId', context.runId, 'must be a non-negative integer');
  if (!Array.isArray(context.scopes) || !context.scopes.every((s) => typeof s === 'string'))
    problem('scopes', context.scopes, 'must be an array of strings');
  if (context.taskNetwork !== undefined) {
    const name = context.taskNetwork;
    if (typeof name !== 'string' || !DOCKER_NETWORK_NAME.test(name))
      problem('taskNetwork', name, 'must be a Docker network name (letters, digits, _ . -; at most 255)');
    // Our own names are decided by the graph: joining one as "not ours" would leave it to two owners.
    else if (parseOwnedName(name) !== undefined)
      problem('taskNetwork', name, `is named like a network docker-services makes ("${NAME_PREFIX}…")`);
  }
  if (errors.length > 0) throw new ConfigError(errors, 'compile context');
}

function healthCheck(spec: HealthCheckSpec): HealthCheck {
  const ns = (seconds: number): number => Math.round(seconds * NS_PER_SECOND);
  return {
    test: ['CMD', ...spec.command],
    intervalNs: ns(spec.interval ?? HEALTH_CHECK_DEFAULTS.interval),
    timeoutNs: ns(spec.timeout ?? HEALTH_CHECK_DEFAULTS.timeout),
    retries: spec.retries ?? HEALTH_CHECK_DEFAULTS.retries,
    startPeriodNs: ns(spec.startPeriod ?? HEALTH_CHECK_DEFAULTS.startPeriod),
  };
}

function limitsOf(config: WorkerConfig): ContainerLimits {
  return {
    memoryBytes: config.limits.memoryBytes,
    pidsLimit: config.limits.pidsLimit,
    logMaxBytes: config.limits.logMaxBytes,
  };
}

function network(
  owner: OwnerRef,
  node: Omit<NetworkNode, 'kind' | 'labels' | 'specHash' | 'service'>,
): NetworkNode {
  const hash = specHash(networkHashInput(node));
  return {
    kind: 'network',
    id: node.id,
    name: node.name,
    role: node.role,
    labels: ownershipLabels(owner, node, hash),
    specHash: hash,
  };
}

/**
 * The task network when someone else made it: the same node id and role as ours, so containers
 * attach to it the same way, but no labels (it is never labelled) and `external` set.
 */
function externalTaskNetwork(name: string): NetworkNode {
  const node = { id: TASK_NETWORK_NODE, name, role: 'task-network' as const };
  return { kind: 'network', ...node, external: true, labels: {}, specHash: specHash(networkHashInput(node)) };
}

function container(
  owner: OwnerRef,
  node: Omit<ContainerNode, 'kind' | 'labels' | 'specHash'>,
): ContainerNode {
  const spec: Omit<ContainerNode, 'labels' | 'specHash'> = {
    kind: 'container',
    ...node,
    env: sortedRecord(node.env),
    dependsOn: [...node.dependsOn],
  };
  const hash = specHash(containerHashInput(spec));
  return { ...spec, labels: ownershipLabels(owner, node, hash), specHash: hash };
}

function serviceNodes(owner: OwnerRef, context: CompileContext, service: ServiceSpec, image: ImageSource) {
  const { taskId, runId } = owner;
  const { config } = context;
  const proxy = container(owner, {
    id: proxyContainerNode(service.name),
    name: proxyContainerName(taskId, runId, service.name),
    role: 'proxy',
    service: service.name,
    image: config.proxy.image,
    // taskcluster-proxy's own flags (generic-worker starts it with the same two).
    cmd: [
      `--ip-address=${PROXY_LISTEN_ADDRESS}`,
      `--port=${config.proxy.port}`,
      `--root-url=${config.rootUrl}`,
      `assume:docker-service-image:${config.provisionerId}/${config.workerType}/${IMAGE_KEY_PLACEHOLDER}`,
    ],
    env: {},
    limits: limitsOf(config),
    // The pod's endpoint: the service's name on the task network is the proxy's endpoint.
    networks: [{ network: TASK_NETWORK_NODE, aliases: [service.name] }],
    extraHosts: [`${PROXY_ALIAS}:${PROXY_LISTEN_ADDRESS}`],
    dependsOn: [TASK_NETWORK_NODE],
    imageKeyOf: image.ref,
    needsCredentials: true,
  });
  const scopes = [...new Set(context.scopes)].sort();
  const serviceContainer = container(owner, {
    id: serviceContainerNode(service.name),
    name: serviceContainerName(taskId, runId, service.name),
    role: 'service',
    service: service.name,
    image: image.ref,
    ...(service.command !== undefined ? { cmd: [...service.command] } : {}),
    env: {
      ...service.env,
      TASK_ID: taskId,
      RUN_ID: String(runId),
      TASK_SCOPES: JSON.stringify(scopes),
      TASKCLUSTER_PROXY_URL: proxyUrl(config.proxy.port),
    },
    ...(service.healthCheck !== undefined ? { healthCheck: healthCheck(service.healthCheck) } : {}),
    limits: limitsOf(config),
    networks: [],
    networkNamespaceOf: proxy.id,
    dependsOn: [proxy.id],
    needsCredentials: false,
  });
  return { proxy, serviceContainer };
}

/**
 * The worker downloads a task's image artifacts with its own credentials, which can read any
 * artifact: so the task must hold what reading it directly would need. An artifact whose name
 * does not start with `public/` needs `queue:get-artifact:<name>` in the task's scopes.
 */
function checkArtifactScopes(services: ServiceSpec[], scopes: string[]): void {
  const errors: PayloadError[] = [];
  services.forEach((service, i) => {
    const image = service.image;
    if (typeof image === 'string' || image.type === 'docker-image' || image.path.startsWith('public/'))
      return;
    const needed = `queue:get-artifact:${image.path}`;
    if (!satisfiesExpression(scopes, needed))
      errors.push({
        path: `services[${i}].image.path`,
        value: renderValue(image.path),
        message: `is a private artifact: the task's scopes must include ${JSON.stringify(needed)} (fix: add that scope to the task, or publish the image under public/)`,
      });
  });
  if (errors.length > 0) throw new PayloadValidationError(errors);
}

function byId<T extends { id: string }>(a: T, b: T): number {
  // Stryker disable next-line EqualityOperator,ConditionalExpression: ids are unique: a comparator mutated so still gives this order
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The graph of the task's services. Throws `PayloadValidationError` (every problem of the payload
 * at once) or `ConfigError` (a context the worker got wrong); creates nothing either way. Proxy
 * nodes are provisional until `bindImages()` puts in the served image's key.
 */
export function compile(payload: unknown, context: CompileContext): DesiredState {
  checkContext(context);
  const services = decodeServices(payload, context.config);
  checkArtifactScopes(services, context.scopes);
  const owner: OwnerRef = { ownerId: context.config.ownerId, taskId: context.taskId, runId: context.runId };
  if (services.length === 0) return emptyGraph(owner);
  const networks: NetworkNode[] = [
    context.taskNetwork === undefined
      ? network(owner, {
          id: TASK_NETWORK_NODE,
          name: taskNetworkName(owner.taskId, owner.runId),
          role: 'task-network',
        })
      : externalTaskNetwork(context.taskNetwork),
  ];
  const containers: ContainerNode[] = [];
  const sources = new Map<string, ImageSource>();
  for (const service of services) {
    const source = imageSource(service.image, context.config.images.pullPolicy);
    sources.set(source.ref, source);
    const nodes = serviceNodes(owner, context, service, source);
    containers.push(nodes.proxy, nodes.serviceContainer);
  }
  const proxyImage = context.config.proxy.image;
  // The proxy image is the worker's own, not a task's: fetched when missing (unless "never").
  const proxyPolicy = context.config.images.pullPolicy === 'never' ? 'never' : 'if-not-present';
  if (!sources.has(proxyImage)) sources.set(proxyImage, imageSource(proxyImage, proxyPolicy));
  const images = [...new Set(containers.map((c) => c.image))].sort();
  // Stryker disable next-line EqualityOperator,ConditionalExpression: refs are unique: a comparator mutated so still gives this order
  const imageSources = [...sources.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  return { owner, networks, containers: containers.sort(byId), images, imageSources };
}
