/**
 * An in-memory Docker engine behind the `DockerApi` interface, for property tests of the loop.
 *
 * It models dockerd 20.10 as observed on the real engine, not docker-services: names are unique
 * (409), a network with *running* endpoints cannot be removed (403) while one with created or
 * exited containers can (and those containers then fail to start, 404), a created container's
 * endpoint has no NetworkID until it starts, every user-defined network gets the short id as an
 * alias once connected, start of a running container answers 304, connect of a running container
 * that is already attached answers 403, disconnect of an unattached one 500, remove of a missing
 * object 404, the events stream carries Docker's JSON frames (network events without labels), keeps
 * the last 256 events for `since` (inclusive) and ends on a daemon restart, which also stops every
 * running container.
 *
 * Faults: any call can be failed with a status code or timed out (before or after its effect:
 * "the daemon may have done it"), every call passes two delay points (request, response) that a
 * test can hand to `fc.scheduler()`, and each delivered event can be dropped, duplicated or held
 * back behind the next one. Every call is recorded with the objects it touched, and overlapping
 * mutating calls on one object are counted.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import {
  DockerApiError,
  DockerTimeoutError,
  DockerUnreachableError,
  type ContainerCreateOptions,
  type ContainerInspect,
  type ContainerSummary,
  type DockerApi,
  type ExecResult,
  type Filters,
  type ImageInspect,
  type NetworkCreateOptions,
  type NetworkInspect,
} from '../../src/docker/client.js';

export type FakeFault =
  /** `statusCode` undefined: an error that came without one (a line of a pull's progress stream). */
  | { kind: 'error'; statusCode: number | undefined; message?: string }
  /** Times out before the daemon acts. */
  | { kind: 'timeout-before' }
  /** The daemon acts, the answer never arrives. */
  | { kind: 'timeout-after' }
  /** The daemon's socket refuses the connection: nothing is done. */
  | { kind: 'unreachable' };

export type EventFault = 'deliver' | 'drop' | 'duplicate' | 'hold';

export interface FakeCall {
  seq: number;
  op: string;
  /** The arguments as given (create options included). */
  args: unknown[];
  /** Keys of the objects the call acts on: `container:<id>`, `container-name:<name>`, `network:<id>`, `image:<ref>`. */
  objects: string[];
  mutating: boolean;
  outcome: 'pending' | 'ok' | 'error';
  error?: string;
}

export interface FakeImage {
  ref: string;
  id?: string;
  repoDigests?: string[];
  labels?: Record<string, string>;
  healthcheck?: { Test: string[] };
  /** Containers of this image exit by themselves after start, with this code. */
  exitsWith?: number;
  /** Containers of this image report `unhealthy` instead of `healthy`. */
  unhealthy?: boolean;
}

export interface FakeDockerOptions {
  now?: () => number;
  /** Called at each call's request and response; its promise decides when the call goes on. */
  delay?: (call: FakeCall, phase: 'request' | 'response') => Promise<void>;
  /** Delays a background happening of the daemon (a health probe result, a container exiting). */
  background?: (what: string) => Promise<void>;
  fault?: (call: FakeCall) => FakeFault | undefined;
  eventFault?: () => EventFault;
  /** `\n` (default) or the record separator some engines use. */
  separator?: '\n' | '\x1e';
  images?: FakeImage[];
  /** Images a pull can fetch; `none` (default): there is no registry, every pull fails with 500. */
  registry?: 'none' | FakeImage[];
}

interface Endpoint {
  networkId: string;
  aliases: string[];
  /** Set when the container runs on the network. */
  endpointId: string;
  ip: string;
  /** Whether this was the create-time network (its aliases do not include the short id until start). */
  connectedAfterCreate: boolean;
}

interface Container {
  id: string;
  name: string;
  createdAt: number;
  image: FakeImage & { id: string };
  imageRef: string;
  options: ContainerCreateOptions;
  labels: Record<string, string>;
  status: 'created' | 'running' | 'exited' | 'removing' | 'dead';
  exitCode: number;
  startedAt?: number;
  finishedAt?: number;
  health?: 'starting' | 'healthy' | 'unhealthy';
  /** Keyed by network name. */
  endpoints: Map<string, Endpoint>;
  /** Bumped on each start, so that a stale background event of an earlier run does nothing. */
  generation: number;
}

interface Network {
  id: string;
  name: string;
  createdAt: number;
  labels: Record<string, string>;
  options: NetworkCreateOptions;
  subnet: number;
}

interface Subscriber {
  stream: PassThrough;
  filters: Filters;
  held?: string;
}

interface DockerEvent {
  Type: 'container' | 'network' | 'image';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

const RING_SIZE = 256;

export class FakeDocker implements DockerApi {
  readonly calls: FakeCall[] = [];
  /** Every exec, with its stdin (the calls log records only the input's length). */
  readonly execs: { containerId: string; cmd: string[]; input: string }[] = [];
  /** Mutating calls that began while another mutating call on one of the same objects was in flight. */
  readonly overlaps: { call: FakeCall; other: FakeCall; object: string }[] = [];
  maxMutatingInFlight = 0;
  private readonly inFlight = new Set<FakeCall>();
  private readonly containers = new Map<string, Container>();
  private readonly networks = new Map<string, Network>();
  private readonly images = new Map<string, FakeImage & { id: string }>();
  private readonly registry: Map<string, FakeImage> | undefined;
  private readonly subscribers = new Set<Subscriber>();
  private ring: DockerEvent[] = [];
  private counter = 0;
  private lastNano = 0;
  private subnets = 0;
  private readonly now: () => number;

  constructor(private readonly options: FakeDockerOptions = {}) {
    this.now = options.now ?? Date.now;
    for (const image of options.images ?? []) this.addImage(image);
    this.registry =
      options.registry === undefined || options.registry === 'none'
        ? undefined
        : new Map(options.registry.map((i) => [i.ref, i]));
  }

  // ---- the model's own handles (not API calls: the world changing under the library) ----

  addImage(image: FakeImage): void {
    this.images.set(image.ref, { ...image, id: image.id ?? `sha256:${this.hex(`image:${image.ref}`)}` });
  }

  /** Puts a container in place as if made earlier (by us before a crash, another task, or someone else). */
  seedContainer(spec: {
    name: string;
    image: string;
    labels?: Record<string, string>;
    networks?: { name: string; aliases?: string[] }[];
    state?: 'created' | 'running' | 'exited';
    cmd?: string[];
  }): string {
    const image = this.images.get(spec.image);
    if (!image) throw new Error(`seed: no image ${spec.image}`);
    if (this.findContainer(spec.name)) throw new Error(`seed: name ${spec.name} taken`);
    const first = spec.networks?.[0];
    const container = this.makeContainer(
      {
        name: spec.name,
        Image: spec.image,
        Cmd: spec.cmd,
        Labels: spec.labels ?? {},
        HostConfig: { NetworkMode: first?.name ?? 'none' },
      },
      image,
    );
    for (const [index, attachment] of (spec.networks ?? []).entries()) {
      const network = this.findNetwork(attachment.name);
      if (!network) throw new Error(`seed: no network ${attachment.name}`);
      container.endpoints.set(network.name, {
        networkId: network.id,
        aliases: [...(attachment.aliases ?? [])],
        endpointId: '',
        ip: '',
        connectedAfterCreate: index > 0,
      });
    }
    this.containers.set(container.id, container);
    if (spec.state === 'running' || spec.state === 'exited') {
      this.run(container);
      if (spec.state === 'exited') this.exit(container, 1, false);
    }
    return container.id;
  }

  seedNetwork(spec: { name: string; labels?: Record<string, string> }): string {
    const network = this.makeNetwork({ Name: spec.name, Labels: spec.labels ?? {} });
    this.networks.set(network.id, network);
    return network.id;
  }

  /** `docker kill`: the container dies with 137. */
  kill(idOrName: string): void {
    const container = this.findContainer(idOrName);
    if (!container || container.status !== 'running') return;
    this.emitContainer(container, 'kill', { signal: '9' });
    this.exit(container, 137, true);
  }

  /** `docker restart` by someone else: the container exits (137) and runs again. */
  restartExternally(idOrName: string): void {
    const container = this.findContainer(idOrName);
    if (!container || container.status !== 'running') return;
    this.exit(container, 137, true);
    this.run(container);
  }

  /** `docker start` by someone else of an exited container. */
  startExternally(idOrName: string): void {
    const container = this.findContainer(idOrName);
    if (container && container.status === 'exited') this.run(container);
  }

  /** The container's health check reports `health` (it must have one). */
  setHealth(idOrName: string, health: 'starting' | 'healthy' | 'unhealthy'): void {
    const container = this.findContainer(idOrName);
    if (!container || container.health === undefined)
      throw new Error(`setHealth: no health check on ${idOrName}`);
    container.health = health;
    this.emitContainer(container, `health_status: ${health}`);
  }

  /** The container's main process exits with `code` by itself. */
  exitExternally(idOrName: string, code: number): void {
    const container = this.findContainer(idOrName);
    if (container && container.status === 'running') this.exit(container, code, true);
  }

  /** `docker rm -f` by someone else. */
  removeExternally(idOrName: string): void {
    const container = this.findContainer(idOrName);
    if (container) this.destroyContainer(container);
  }

  removeNetworkExternally(idOrName: string): void {
    const network = this.findNetwork(idOrName);
    if (network) this.destroyNetwork(network);
  }

  /** A removal that someone else started and that finishes a little later (the 409 window). */
  removeSlowly(idOrName: string): void {
    const container = this.findContainer(idOrName);
    if (!container) return;
    if (container.status === 'running') this.exit(container, 137, true);
    container.status = 'removing';
    void this.background(`removal of ${container.name}`).then(() => {
      if (this.containers.get(container.id) === container) this.destroyContainer(container);
    });
  }

  /**
   * dockerd restarts (live-restore off): every events stream ends, the ring of past events is
   * gone, running containers are stopped (137), a removal in progress completes.
   */
  restartDaemon(): void {
    for (const subscriber of this.subscribers) subscriber.stream.end();
    this.subscribers.clear();
    for (const container of [...this.containers.values()]) {
      if (container.status === 'running') this.exit(container, 137, false);
      if (container.status === 'removing') this.containers.delete(container.id);
    }
    this.ring = [];
  }

  /** Everything in the engine, in Docker's own terms, sorted by name: for before/after comparisons. */
  world(): {
    containers: {
      id: string;
      name: string;
      labels: Record<string, string>;
      status: string;
      networks: Record<string, string[]>;
      image: string;
    }[];
    networks: { id: string; name: string; labels: Record<string, string> }[];
  } {
    return {
      containers: [...this.containers.values()]
        .map((c) => ({
          id: c.id,
          name: c.name,
          labels: { ...c.labels },
          status: c.status,
          image: c.imageRef,
          networks: Object.fromEntries(
            [...c.endpoints.entries()]
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([n, e]) => [n, [...e.aliases].sort()]),
          ),
        }))
        .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)),
      networks: [...this.networks.values()]
        .map((n) => ({ id: n.id, name: n.name, labels: { ...n.labels } }))
        .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)),
    };
  }

  health(idOrName: string): string | undefined {
    return this.findContainer(idOrName)?.health;
  }

  /** Mutating calls that acted on the object with this id (container or network). */
  callsOn(id: string): FakeCall[] {
    return this.calls.filter(
      (c) => c.mutating && (c.objects.includes(`container:${id}`) || c.objects.includes(`network:${id}`)),
    );
  }

  // ---- DockerApi ----

  systemTime(): Promise<string> {
    return this.call(
      'info',
      [],
      false,
      () => [],
      () => new Date(this.now()).toISOString(),
    );
  }

  listContainers(filters: Filters): Promise<ContainerSummary[]> {
    return this.call(
      'container list',
      [filters],
      false,
      () => [],
      () =>
        [...this.containers.values()]
          .filter((c) => this.containerMatches(c, filters))
          .map((c) => this.summary(c)),
    );
  }

  inspectContainer(idOrName: string): Promise<ContainerInspect | undefined> {
    return this.call(
      'container inspect',
      [idOrName],
      false,
      () => this.containerKeys(idOrName),
      () => {
        const container = this.findContainer(idOrName);
        return container ? this.inspect(container) : undefined;
      },
    );
  }

  createContainer(options: ContainerCreateOptions): Promise<string> {
    const name = options.name ?? '';
    return this.call(
      'container create',
      [options],
      true,
      () => [`container-name:${name}`, ...this.containerKeys(name)],
      () => {
        const held = name ? this.findContainerByName(name) : undefined;
        if (held) {
          throw new DockerApiError(
            'container create',
            409,
            `Conflict. The container name "/${name}" is already in use by container "${held.id}". You have to remove (or rename) that container to be able to reuse that name.`,
          );
        }
        const image = this.images.get(options.Image ?? '');
        if (!image) throw new DockerApiError('container create', 404, `No such image: ${options.Image}`);
        const mode = options.HostConfig?.NetworkMode;
        // `container:<id>`: dockerd needs the owner to exist now, and to run when this one starts.
        const joins = mode?.startsWith('container:') ? mode.slice('container:'.length) : undefined;
        if (joins !== undefined && !this.findContainer(joins))
          throw new DockerApiError('container create', 404, `No such container: ${joins}`);
        const network =
          mode && joins === undefined && mode !== 'none' && mode !== 'default'
            ? this.findNetwork(mode)
            : undefined;
        if (mode && joins === undefined && mode !== 'none' && mode !== 'default' && !network) {
          throw new DockerApiError('container create', 404, `network ${mode} not found`);
        }
        const container = this.makeContainer(options, image);
        if (network) {
          const aliases = options.NetworkingConfig?.EndpointsConfig?.[mode!]?.Aliases ?? [];
          container.endpoints.set(network.name, {
            networkId: network.id,
            aliases: [...aliases],
            endpointId: '',
            ip: '',
            connectedAfterCreate: false,
          });
        }
        this.containers.set(container.id, container);
        this.emitContainer(container, 'create');
        return container.id;
      },
    );
  }

  /** Answers the proxy image's credential push as a proxy that takes them would: status 200. */
  execWithInput(id: string, cmd: readonly string[], input: string): Promise<ExecResult> {
    return this.call(
      'container exec',
      [id, cmd, input.length],
      false,
      () => this.containerKeys(id),
      () => {
        const container = this.findContainer(id);
        if (!container) throw new DockerApiError('container exec', 404, `No such container: ${id}`);
        if (container.status !== 'running')
          throw new DockerApiError('container exec', 409, `Container ${id} is not running`);
        this.execs.push({ containerId: container.id, cmd: [...cmd], input });
        return { exitCode: 0, output: '200\n' };
      },
    );
  }

  startContainer(id: string): Promise<void> {
    return this.call(
      'container start',
      [id],
      true,
      () => this.containerKeys(id),
      () => {
        const container = this.findContainer(id);
        if (!container) throw new DockerApiError('container start', 404, `No such container: ${id}`);
        if (container.status === 'running')
          throw new DockerApiError('container start', 304, 'container already started');
        if (container.status === 'removing' || container.status === 'dead') {
          throw new DockerApiError(
            'container start',
            409,
            `container ${container.id} is marked for removal and cannot be started`,
          );
        }
        for (const [name, endpoint] of container.endpoints) {
          if (!this.networks.has(endpoint.networkId)) {
            throw new DockerApiError('container start', 404, `network ${name} not found`);
          }
        }
        const mode = container.options.HostConfig?.NetworkMode;
        if (mode?.startsWith('container:')) {
          const owner = this.findContainer(mode.slice('container:'.length));
          if (owner?.status !== 'running')
            throw new DockerApiError(
              'container start',
              409,
              'cannot join network of a non running container',
            );
        }
        this.run(container);
      },
    );
  }

  removeContainer(id: string): Promise<void> {
    return this.call(
      'container remove',
      [id],
      true,
      () => this.containerKeys(id),
      () => {
        const container = this.findContainer(id);
        if (!container) throw new DockerApiError('container remove', 404, `No such container: ${id}`);
        if (container.status === 'removing') {
          throw new DockerApiError(
            'container remove',
            409,
            `removal of container ${container.id} is already in progress`,
          );
        }
        if (container.status === 'running') {
          this.emitContainer(container, 'kill', { signal: '9' });
          this.exit(container, 137, true);
        }
        this.destroyContainer(container);
      },
    );
  }

  killContainer(id: string, signal = 'SIGKILL'): Promise<void> {
    return this.call(
      'container kill',
      [id, signal],
      true,
      () => this.containerKeys(id),
      () => {
        const container = this.findContainer(id);
        if (!container) throw new DockerApiError('container kill', 404, `No such container: ${id}`);
        if (container.status !== 'running')
          throw new DockerApiError('container kill', 409, `Container ${container.id} is not running`);
        this.emitContainer(container, 'kill', { signal });
        this.exit(container, 137, true);
      },
    );
  }

  containerLogs(id: string): Promise<string> {
    return this.logsOf(id, () => '');
  }

  /** The model's containers print nothing: a follow stream stays open, empty, until destroyed. */
  followLogs(id: string): Promise<Readable> {
    return this.logsOf(id, () => new PassThrough() as Readable);
  }

  /** A logs call: a container's, whole or followed, and 404 for one it does not have. */
  private logsOf<T>(id: string, answer: () => T): Promise<T> {
    return this.call(
      'container logs',
      [id],
      false,
      () => this.containerKeys(id),
      () => {
        if (!this.findContainer(id))
          throw new DockerApiError('container logs', 404, `No such container: ${id}`);
        return answer();
      },
    );
  }

  listNetworks(filters: Filters): Promise<NetworkInspect[]> {
    return this.call(
      'network list',
      [filters],
      false,
      () => [],
      () =>
        // Like dockerd, the list leaves `Containers` empty: only inspect fills it.
        [...this.networks.values()]
          .filter((n) => this.networkMatches(n, filters))
          .map((n) => this.networkInspect(n, false)),
    );
  }

  inspectNetwork(idOrName: string): Promise<NetworkInspect | undefined> {
    return this.call(
      'network inspect',
      [idOrName],
      false,
      () => this.networkKeys(idOrName),
      () => {
        const network = this.findNetwork(idOrName);
        return network ? this.networkInspect(network, true) : undefined;
      },
    );
  }

  createNetwork(options: NetworkCreateOptions): Promise<string> {
    return this.call(
      'network create',
      [options],
      true,
      () => [`network-name:${options.Name}`],
      () => {
        if (options.CheckDuplicate && [...this.networks.values()].some((n) => n.name === options.Name)) {
          throw new DockerApiError('network create', 409, `network with name ${options.Name} already exists`);
        }
        const network = this.makeNetwork(options);
        this.networks.set(network.id, network);
        this.emitNetwork(network, 'create');
        return network.id;
      },
    );
  }

  removeNetwork(id: string): Promise<void> {
    return this.call(
      'network remove',
      [id],
      true,
      () => this.networkKeys(id),
      () => {
        const network = this.findNetwork(id);
        if (!network) throw new DockerApiError('network remove', 404, `network ${id} not found`);
        if (this.activeEndpoints(network).length > 0) {
          throw new DockerApiError(
            'network remove',
            403,
            `error while removing network: network ${network.name} id ${network.id} has active endpoints`,
          );
        }
        this.destroyNetwork(network);
      },
    );
  }

  connectNetwork(networkIdOrName: string, containerIdOrName: string, aliases: string[]): Promise<void> {
    return this.call(
      'network connect',
      [networkIdOrName, containerIdOrName, aliases],
      true,
      () => [...this.networkKeys(networkIdOrName), ...this.containerKeys(containerIdOrName)],
      () => {
        const network = this.findNetwork(networkIdOrName);
        if (!network)
          throw new DockerApiError('network connect', 404, `network ${networkIdOrName} not found`);
        const container = this.findContainer(containerIdOrName);
        if (!container)
          throw new DockerApiError('network connect', 404, `No such container: ${containerIdOrName}`);
        const existing = container.endpoints.get(network.name);
        if (existing && container.status === 'running') {
          throw new DockerApiError(
            'network connect',
            403,
            `endpoint with name ${container.name} already exists in network ${network.name}`,
          );
        }
        const endpoint: Endpoint = {
          networkId: network.id,
          aliases: [...aliases, container.id.slice(0, 12)],
          endpointId: '',
          ip: '',
          connectedAfterCreate: true,
        };
        container.endpoints.set(network.name, endpoint);
        if (container.status === 'running') {
          this.activate(container, network, endpoint);
        }
      },
    );
  }

  disconnectNetwork(networkIdOrName: string, containerIdOrName: string): Promise<void> {
    return this.call(
      'network disconnect',
      [networkIdOrName, containerIdOrName],
      true,
      () => [...this.networkKeys(networkIdOrName), ...this.containerKeys(containerIdOrName)],
      () => {
        const network = this.findNetwork(networkIdOrName);
        if (!network)
          throw new DockerApiError('network disconnect', 404, `network ${networkIdOrName} not found`);
        const container = this.findContainer(containerIdOrName);
        if (!container)
          throw new DockerApiError('network disconnect', 404, `endpoint ${containerIdOrName} not found`);
        if (!container.endpoints.has(network.name)) {
          throw new DockerApiError(
            'network disconnect',
            500,
            `container ${container.id} is not connected to network ${network.name}`,
          );
        }
        const wasActive = container.endpoints.get(network.name)!.endpointId !== '';
        container.endpoints.delete(network.name);
        if (wasActive) this.emitNetwork(network, 'disconnect', { container: container.id });
      },
    );
  }

  inspectImage(ref: string): Promise<ImageInspect | undefined> {
    return this.call(
      'image inspect',
      [ref],
      false,
      () => [`image:${ref}`],
      () => {
        const image = this.images.get(ref);
        return image ? this.imageInspect(image) : undefined;
      },
    );
  }

  /** Image tarballs are not modelled: the engine tests load real ones. */
  loadImage(): Promise<string[]> {
    return Promise.reject(
      new DockerApiError('image load', 501, 'image load is not modelled by the fake engine'),
    );
  }

  tagImage(id: string, repo: string, tag: string): Promise<void> {
    return this.call(
      'image tag',
      [id, repo, tag],
      false,
      () => [`image:${repo}:${tag}`],
      () => {
        const image = [...this.images.values()].find((i) => i.id === id);
        if (!image) throw new DockerApiError('image tag', 404, `No such image: ${id}`);
        this.addImage({ ...image, ref: `${repo}:${tag}` });
      },
    );
  }

  pullImage(ref: string): Promise<void> {
    return this.call(
      'image pull',
      [ref],
      true,
      () => [`image:${ref}`],
      () => {
        if (!this.registry) {
          throw new DockerApiError(
            'image pull',
            500,
            'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
          );
        }
        const image = this.registry.get(ref);
        if (!image)
          throw new DockerApiError('image pull', 404, `manifest for ${ref} not found: manifest unknown`);
        this.addImage(image);
        this.emit({ Type: 'image', Action: 'pull', Actor: { ID: ref, Attributes: { name: ref } } });
      },
    );
  }

  events(options: { since?: string; filters?: Filters }): Promise<Readable> {
    return this.call(
      'events',
      [options],
      false,
      () => [],
      () => {
        const stream = new PassThrough();
        const subscriber: Subscriber = { stream, filters: options.filters ?? {} };
        stream.on('close', () => this.subscribers.delete(subscriber));
        if (options.since !== undefined) {
          const sinceNano = parseSince(options.since);
          for (const event of this.ring) {
            if (event.timeNano >= sinceNano && this.eventMatches(event, subscriber.filters))
              this.deliver(subscriber, event);
          }
        }
        this.subscribers.add(subscriber);
        return stream as Readable;
      },
    );
  }

  // ---- internals ----

  private async call<T>(
    op: string,
    args: unknown[],
    mutating: boolean,
    objects: () => string[],
    effect: () => T,
  ): Promise<T> {
    const record: FakeCall = {
      seq: this.calls.length,
      op,
      args,
      objects: objects(),
      mutating,
      outcome: 'pending',
    };
    this.calls.push(record);
    // As the real client: an empty id or name is refused before anything is sent.
    if (args.some((a) => a === '')) {
      record.outcome = 'error';
      throw new DockerApiError(op, 400, 'empty id or name');
    }
    if (mutating) {
      for (const other of this.inFlight) {
        if (!other.mutating) continue;
        const shared = record.objects.find((o) => other.objects.includes(o));
        if (shared) this.overlaps.push({ call: record, other, object: shared });
      }
    }
    this.inFlight.add(record);
    this.maxMutatingInFlight = Math.max(
      this.maxMutatingInFlight,
      [...this.inFlight].filter((c) => c.mutating).length,
    );
    try {
      // A daemon answers over a socket: never within the caller's microtask.
      await (this.options.delay?.(record, 'request') ??
        new Promise<void>((resolve) => setImmediate(resolve)));
      const fault = this.options.fault?.(record);
      if (fault?.kind === 'error')
        throw new DockerApiError(op, fault.statusCode, fault.message ?? `injected fault ${fault.statusCode}`);
      if (fault?.kind === 'timeout-before') throw new DockerTimeoutError(op, 0);
      if (fault?.kind === 'unreachable')
        throw new DockerUnreachableError(op, 'ECONNREFUSED', 'connect ECONNREFUSED /var/run/docker.sock');
      const result = effect();
      // Resolve the objects again after the effect: a create now has an id.
      record.objects = [...new Set([...record.objects, ...objects()])];
      if (fault?.kind === 'timeout-after') throw new DockerTimeoutError(op, 0);
      await (this.options.delay?.(record, 'response') ?? Promise.resolve());
      record.outcome = 'ok';
      return result === undefined ? result : (structuredCloneSafe(result) as T);
    } catch (error) {
      record.outcome = 'error';
      record.error = (error as Error).message;
      throw error;
    } finally {
      this.inFlight.delete(record);
    }
  }

  private background(what: string): Promise<void> {
    return this.options.background?.(what) ?? new Promise((resolve) => setImmediate(resolve));
  }

  private hex(seed: string): string {
    return createHash('sha256').update(`${seed}#${this.counter++}`).digest('hex');
  }

  private nowNano(): number {
    // Strictly increasing, so that `since` replays are well defined (a double near 1.7e18 has a
    // 256 ns resolution: step by more than that).
    const nano = Math.max(this.now() * 1e6, this.lastNano + 1024);
    this.lastNano = nano;
    return nano;
  }

  private makeContainer(options: ContainerCreateOptions, image: FakeImage & { id: string }): Container {
    return {
      id: this.hex(`container:${options.name}`),
      name: options.name ?? `fake_${this.counter}`,
      createdAt: this.now(),
      image,
      imageRef: options.Image ?? image.ref,
      options: structuredClone(options),
      // Images pass their labels on to their containers.
      labels: { ...(image.labels ?? {}), ...(options.Labels ?? {}) },
      status: 'created',
      exitCode: 0,
      endpoints: new Map(),
      generation: 0,
    };
  }

  private makeNetwork(options: NetworkCreateOptions): Network {
    this.subnets += 1;
    return {
      id: this.hex(`network:${options.Name}`),
      name: options.Name,
      createdAt: this.now(),
      labels: { ...(options.Labels ?? {}) },
      options: structuredClone(options),
      subnet: this.subnets,
    };
  }

  private healthcheck(container: Container): string[] | undefined {
    const test = container.options.Healthcheck?.Test ?? container.image.healthcheck?.Test;
    if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
    return test;
  }

  private run(container: Container): void {
    container.status = 'running';
    container.exitCode = 0;
    container.startedAt = this.now();
    container.generation += 1;
    const generation = container.generation;
    for (const [name, endpoint] of container.endpoints) {
      const network = this.networks.get(endpoint.networkId);
      if (network) this.activate(container, network, endpoint);
      else container.endpoints.delete(name);
    }
    this.emitContainer(container, 'start');
    const still = () =>
      this.containers.get(container.id) === container &&
      container.status === 'running' &&
      container.generation === generation;
    if (this.healthcheck(container)) {
      container.health = 'starting';
      void this.background(`health of ${container.name}`).then(() => {
        if (!still()) return;
        container.health = container.image.unhealthy ? 'unhealthy' : 'healthy';
        this.emitContainer(container, `health_status: ${container.health}`);
      });
    }
    if (container.image.exitsWith !== undefined) {
      const code = container.image.exitsWith;
      void this.background(`exit of ${container.name}`).then(() => {
        if (still()) this.exit(container, code, true);
      });
    }
  }

  private activate(container: Container, network: Network, endpoint: Endpoint): void {
    const shortId = container.id.slice(0, 12);
    if (!endpoint.aliases.includes(shortId)) endpoint.aliases.push(shortId);
    endpoint.endpointId = this.hex('endpoint');
    const host =
      2 + [...this.containers.values()].filter((c) => c.endpoints.get(network.name)?.endpointId).length;
    endpoint.ip = `10.231.${network.subnet % 256}.${host % 254}`;
    this.emitNetwork(network, 'connect', { container: container.id });
  }

  private exit(container: Container, code: number, emit: boolean): void {
    container.status = 'exited';
    container.exitCode = code;
    container.finishedAt = this.now();
    if (container.health !== undefined) container.health = 'unhealthy';
    for (const [name, endpoint] of container.endpoints) {
      if (!endpoint.endpointId) continue;
      endpoint.endpointId = '';
      endpoint.ip = '';
      const network = this.findNetwork(name);
      if (emit && network) this.emitNetwork(network, 'disconnect', { container: container.id });
    }
    if (emit) this.emitContainer(container, 'die', { exitCode: String(code) });
  }

  private destroyContainer(container: Container): void {
    if (container.status === 'running') this.exit(container, 137, true);
    this.containers.delete(container.id);
    this.emitContainer(container, 'destroy');
  }

  private destroyNetwork(network: Network): void {
    for (const container of this.containers.values()) {
      const endpoint = container.endpoints.get(network.name);
      // A running container keeps its (now dangling) endpoint only in a broken engine; here it is gone.
      if (endpoint && endpoint.endpointId) container.endpoints.delete(network.name);
    }
    this.networks.delete(network.id);
    this.emitNetwork(network, 'destroy');
  }

  private activeEndpoints(network: Network): Container[] {
    return [...this.containers.values()].filter(
      (c) =>
        c.endpoints.get(network.name)?.networkId === network.id && c.endpoints.get(network.name)!.endpointId,
    );
  }

  private findContainerByName(name: string): Container | undefined {
    const bare = name.startsWith('/') ? name.slice(1) : name;
    return [...this.containers.values()].find((c) => c.name === bare);
  }

  private findContainer(idOrName: string): Container | undefined {
    const byName = this.findContainerByName(idOrName);
    if (byName) return byName;
    const exact = this.containers.get(idOrName);
    if (exact) return exact;
    if (idOrName.length < 1) return undefined;
    const prefixed = [...this.containers.values()].filter((c) => c.id.startsWith(idOrName));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  private findNetwork(idOrName: string): Network | undefined {
    const exact = this.networks.get(idOrName);
    if (exact) return exact;
    const byName = [...this.networks.values()].find((n) => n.name === idOrName);
    if (byName) return byName;
    const prefixed = [...this.networks.values()].filter((n) => n.id.startsWith(idOrName));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  private containerKeys(idOrName: string): string[] {
    const container = this.findContainer(idOrName);
    return container ? [`container:${container.id}`, `container-name:${container.name}`] : [];
  }

  private networkKeys(idOrName: string): string[] {
    const network = this.findNetwork(idOrName);
    return network ? [`network:${network.id}`] : [];
  }

  private labelsMatch(labels: Record<string, string>, wanted: string[] | undefined): boolean {
    return (wanted ?? []).every((filter) => {
      const eq = filter.indexOf('=');
      if (eq < 0) return filter in labels;
      return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
    });
  }

  private checkFilters(filters: Filters, allowed: string[]): void {
    for (const key of Object.keys(filters)) {
      if (!allowed.includes(key)) throw new DockerApiError('list', 400, `invalid filter '${key}'`);
    }
  }

  private containerMatches(container: Container, filters: Filters): boolean {
    this.checkFilters(filters, ['label', 'name', 'id', 'status', 'network']);
    if (!this.labelsMatch(container.labels, filters.label)) return false;
    // Docker's name filter is an unanchored regular expression over the name with its leading `/`.
    if (filters.name && !filters.name.some((n) => new RegExp(n).test(`/${container.name}`))) return false;
    if (filters.id && !filters.id.some((id) => container.id.startsWith(id))) return false;
    if (filters.status && !filters.status.includes(container.status)) return false;
    if (filters.network && !filters.network.some((n) => container.endpoints.has(n))) return false;
    return true;
  }

  private networkMatches(network: Network, filters: Filters): boolean {
    this.checkFilters(filters, ['label', 'name', 'id', 'driver', 'type', 'scope']);
    if (!this.labelsMatch(network.labels, filters.label)) return false;
    if (filters.name && !filters.name.some((n) => new RegExp(n).test(network.name))) return false;
    if (filters.id && !filters.id.some((id) => network.id.startsWith(id))) return false;
    if (filters.driver && !filters.driver.includes('bridge')) return false;
    return true;
  }

  private eventMatches(event: DockerEvent, filters: Filters): boolean {
    if (filters.type && !filters.type.includes(event.Type)) return false;
    if (filters.event && !filters.event.some((e) => event.Action === e || event.Action.startsWith(`${e}:`)))
      return false;
    // Only what the event carries can match a label: network events carry none.
    if (filters.label && !this.labelsMatch(event.Actor.Attributes, filters.label)) return false;
    if (
      filters.container &&
      !(
        event.Type === 'container' &&
        filters.container.some((c) => event.Actor.ID.startsWith(c) || event.Actor.Attributes.name === c)
      )
    )
      return false;
    if (
      filters.network &&
      !(
        event.Type === 'network' &&
        filters.network.some((n) => event.Actor.ID.startsWith(n) || event.Actor.Attributes.name === n)
      )
    )
      return false;
    return true;
  }

  private emitContainer(container: Container, action: string, extra: Record<string, string> = {}): void {
    this.emit({
      status: action,
      id: container.id,
      from: container.imageRef,
      Type: 'container',
      Action: action,
      Actor: {
        ID: container.id,
        Attributes: { ...container.labels, image: container.imageRef, name: container.name, ...extra },
      },
    });
  }

  private emitNetwork(network: Network, action: string, extra: Record<string, string> = {}): void {
    this.emit({
      Type: 'network',
      Action: action,
      Actor: { ID: network.id, Attributes: { name: network.name, type: 'bridge', ...extra } },
    });
  }

  private emit(partial: Omit<DockerEvent, 'time' | 'timeNano' | 'scope'>): void {
    const timeNano = this.nowNano();
    const event: DockerEvent = { ...partial, scope: 'local', time: Math.floor(timeNano / 1e9), timeNano };
    this.ring.push(event);
    if (this.ring.length > RING_SIZE) this.ring.shift();
    for (const subscriber of this.subscribers) {
      if (this.eventMatches(event, subscriber.filters)) this.deliver(subscriber, event);
    }
  }

  private deliver(subscriber: Subscriber, event: DockerEvent): void {
    const frame = JSON.stringify(event) + (this.options.separator ?? '\n');
    const fault = this.options.eventFault?.() ?? 'deliver';
    const write = (text: string) => {
      if (!subscriber.stream.writableEnded) subscriber.stream.write(text);
    };
    switch (fault) {
      case 'drop':
        return;
      case 'duplicate':
        write(frame);
        write(frame);
        break;
      case 'hold':
        if (subscriber.held) write(subscriber.held);
        subscriber.held = frame;
        return;
      case 'deliver':
        write(frame);
        break;
    }
    if (subscriber.held) {
      write(subscriber.held);
      subscriber.held = undefined;
    }
  }

  private summary(container: Container): ContainerSummary {
    const seconds = Math.floor(container.createdAt / 1000);
    const now = this.now();
    const statusText =
      container.status === 'running'
        ? `Up ${humanDuration(now - container.startedAt!)}${container.health ? ` (${container.health === 'starting' ? 'health: starting' : container.health})` : ''}`
        : container.status === 'exited'
          ? `Exited (${container.exitCode}) ${humanDuration(now - container.finishedAt!)} ago`
          : container.status === 'created'
            ? 'Created'
            : container.status === 'removing'
              ? 'Removal In Progress'
              : 'Dead';
    return {
      Id: container.id,
      Names: [`/${container.name}`],
      Image: container.imageRef,
      ImageID: container.image.id,
      Command: [...(container.options.Cmd ?? [])].join(' '),
      Created: seconds,
      Ports: [],
      Labels: { ...container.labels },
      State: container.status,
      Status: statusText,
      HostConfig: { NetworkMode: container.options.HostConfig?.NetworkMode ?? 'default' },
      NetworkSettings: { Networks: this.endpointsJson(container) },
      Mounts: [],
    } as unknown as ContainerSummary;
  }

  private endpointsJson(container: Container): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [name, endpoint] of container.endpoints) {
      const active = endpoint.endpointId !== '';
      // Before its first start a container's endpoints carry no network id; after, they keep it.
      const started = container.startedAt !== undefined;
      out[name] = {
        IPAMConfig: null,
        Links: null,
        Aliases: [...endpoint.aliases],
        MacAddress: active ? '02:42:0a:e7:00:02' : '',
        NetworkID: started ? endpoint.networkId : '',
        EndpointID: endpoint.endpointId,
        Gateway: active ? endpoint.ip.replace(/\.\d+$/, '.1') : '',
        IPAddress: endpoint.ip,
        IPPrefixLen: active ? 24 : 0,
        IPv6Gateway: '',
        GlobalIPv6Address: '',
        GlobalIPv6PrefixLen: 0,
        DriverOpts: null,
      };
    }
    return out;
  }

  private inspect(container: Container): ContainerInspect {
    const iso = (ms: number | undefined) =>
      ms === undefined ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString();
    const state: Record<string, unknown> = {
      Status: container.status,
      Running: container.status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: container.status === 'dead',
      Pid: container.status === 'running' ? 1000 + (this.counter % 30000) : 0,
      ExitCode: container.exitCode,
      Error: '',
      StartedAt: iso(container.startedAt),
      FinishedAt: iso(container.finishedAt),
    };
    if (container.health)
      state.Health = {
        Status: container.health,
        FailingStreak: container.health === 'unhealthy' ? 1 : 0,
        Log: [],
      };
    const healthcheck = container.options.Healthcheck;
    return {
      Id: container.id,
      Created: new Date(container.createdAt).toISOString(),
      Path: container.options.Cmd?.[0] ?? '',
      Args: container.options.Cmd?.slice(1) ?? [],
      State: state,
      Image: container.image.id,
      ResolvConfPath: '',
      HostnamePath: '',
      HostsPath: '',
      LogPath: '',
      Name: `/${container.name}`,
      RestartCount: 0,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: structuredClone(container.options.HostConfig ?? {}),
      GraphDriver: { Name: 'overlay2', Data: {} },
      Mounts: [],
      Config: {
        Hostname: container.id.slice(0, 12),
        Domainname: '',
        User: '',
        AttachStdin: false,
        AttachStdout: false,
        AttachStderr: false,
        Tty: false,
        OpenStdin: false,
        StdinOnce: false,
        Env: [...(container.options.Env ?? [])],
        Cmd: container.options.Cmd ? [...container.options.Cmd] : null,
        Image: container.imageRef,
        Volumes: null,
        WorkingDir: '',
        Entrypoint: null,
        OnBuild: null,
        Labels: { ...container.labels },
        ...(healthcheck ? { Healthcheck: structuredClone(healthcheck) } : {}),
      },
      NetworkSettings: {
        Bridge: '',
        SandboxID: '',
        HairpinMode: false,
        LinkLocalIPv6Address: '',
        LinkLocalIPv6PrefixLen: 0,
        Ports: {},
        SandboxKey: '',
        SecondaryIPAddresses: null,
        SecondaryIPv6Addresses: null,
        EndpointID: '',
        Gateway: '',
        GlobalIPv6Address: '',
        GlobalIPv6PrefixLen: 0,
        IPAddress: '',
        IPPrefixLen: 0,
        IPv6Gateway: '',
        MacAddress: '',
        Networks: this.endpointsJson(container),
      },
    } as unknown as ContainerInspect;
  }

  private networkInspect(network: Network, withContainers: boolean): NetworkInspect {
    const containers: Record<string, unknown> = {};
    if (withContainers) {
      // Only running containers hold an endpoint Docker lists.
      for (const container of this.activeEndpoints(network)) {
        const endpoint = container.endpoints.get(network.name)!;
        containers[container.id] = {
          Name: container.name,
          EndpointID: endpoint.endpointId,
          MacAddress: '02:42:0a:e7:00:02',
          IPv4Address: `${endpoint.ip}/24`,
          IPv6Address: '',
        };
      }
    }
    return {
      Name: network.name,
      Id: network.id,
      Created: new Date(network.createdAt).toISOString(),
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: {
        Driver: 'default',
        Options: null,
        Config: [
          { Subnet: `10.231.${network.subnet % 256}.0/24`, Gateway: `10.231.${network.subnet % 256}.1` },
        ],
      },
      Internal: Boolean(network.options.Internal),
      Attachable: Boolean(network.options.Attachable),
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: {},
      Labels: { ...network.labels },
    } as unknown as NetworkInspect;
  }

  private imageInspect(image: FakeImage & { id: string }): ImageInspect {
    return {
      Id: image.id,
      RepoTags: [image.ref],
      RepoDigests: [...(image.repoDigests ?? [])],
      Parent: '',
      Comment: '',
      Created: new Date(0).toISOString(),
      Container: '',
      DockerVersion: '20.10.24',
      Author: '',
      Architecture: 'amd64',
      Os: 'linux',
      Size: 1,
      VirtualSize: 1,
      Config: {
        Labels: image.labels ? { ...image.labels } : null,
        ...(image.healthcheck ? { Healthcheck: { ...image.healthcheck } } : {}),
      },
      RootFS: { Type: 'layers' },
    } as unknown as ImageInspect;
  }
}

function parseSince(since: string): number {
  const [seconds, fraction = ''] = since.split('.');
  return Number(seconds) * 1e9 + Number(fraction.padEnd(9, '0').slice(0, 9));
}

function structuredCloneSafe(value: unknown): unknown {
  // Streams are live objects, not data.
  if (value instanceof PassThrough) return value;
  return structuredClone(value);
}

/**
 * go-units' `HumanDuration` (v0.4, as vendored by dockerd 20.10): the durations of a container
 * list entry's `Status` text.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}
