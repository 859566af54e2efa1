/**
 * What every benchmark shares: the Docker clients (every call has a deadline), the bench run's
 * identity and labels (so that cleanup and the leftover check find exactly what this run made),
 * the payloads and the graphs compiled from them.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig, type WorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import { TASK_NETWORK_NODE } from '../../src/desired-state/names.js';
import type { DesiredState } from '../../src/desired-state/types.js';
import { dockerApi, type DockerApi } from '../../src/docker/client.js';

export const IMAGES = {
  busybox: 'ds-fixtures/busybox:latest',
  /** The bundled Node taskcluster-proxy (fixtures/images/build.sh): what a worker runs. */
  proxy: 'docker-services/proxy:latest',
  /** busybox whose entrypoint sleeps and ignores its arguments: a proxy's container without the Node proxy's start-up. */
  proxyStandIn: 'ds-bench/proxy-stand-in:latest',
} as const;

/**
 * Which proxy image the variants with proxies run: `real` measures what a task gets (the Node
 * proxy's start-up, its health check, its memory); `stand-in` measures Docker's work and the
 * orchestration alone.
 */
export type ProxyKind = 'real' | 'stand-in';

/** Label on every object a bench variant creates by hand (floor, sequential, testcontainers, compose). */
export const BENCH_LABEL = 'docker-services-bench.run';

/**
 * Deadline of one Docker call made by the bench itself (floor, sequential, cleanup). The floor asks
 * for all N + 1 networks at once and dockerd makes them one after another: at N = 50 on a loaded
 * machine the last create answered after more than 30 s, failing two floor runs of five.
 */
export const CALL_TIMEOUT_MS = 90_000;

export const benchRunId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
/** Owner id of everything the library (and the floor, which copies the library's objects) creates. */
export const OWNER_ID = `dsbench-${benchRunId}`;

export function benchLabels(): Record<string, string> {
  return { [BENCH_LABEL]: benchRunId };
}

export function dockerode(): Docker {
  return new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
}

/** The project's narrow client: raw dockerode, one HTTP request per call, each with a deadline. */
export function api(docker: Docker = dockerode()): DockerApi {
  return dockerApi(docker, { timeoutMs: CALL_TIMEOUT_MS, slowTimeoutMs: 2 * CALL_TIMEOUT_MS });
}

/** Rejects with a clear message if `promise` has not settled within `ms`. */
export async function withDeadline<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const SLUG = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A fresh Taskcluster-shaped task id (22 URL-safe characters). */
export function taskId(): string {
  const bytes = randomBytes(22);
  return [...bytes].map((b) => SLUG[b % 64]).join('');
}

export function workerConfig(proxyImage: string = IMAGES.proxy): WorkerConfig {
  return defaultWorkerConfig({
    ownerId: OWNER_ID,
    // Fixture images are built here, never in a registry: nothing to pull.
    images: { pullPolicy: 'if-not-present' },
    provisionerId: 'bench',
    workerType: 'bench',
    // The bench's services make no Taskcluster call, so no proxy forwards anything; were one to,
    // this URL reaches only the proxy container's own loopback, never a host or a network.
    rootUrl: 'http://127.0.0.1',
    proxy: { image: proxyImage },
    limits: { maxServices: 1000 },
    // Like the floor: everything that can run at once does.
    concurrency: 1000,
    startupTimeoutMs: 300_000,
  });
}

export interface HealthSpec {
  intervalS: number;
}

export function serviceName(i: number): string {
  return `s${i}`;
}

/** `n` busybox services that sleep; with `health`, each has a trivial health check. */
export function payload(n: number, health?: HealthSpec): { services: unknown[] } {
  return {
    services: Array.from({ length: n }, (_, i) => ({
      name: serviceName(i),
      image: IMAGES.busybox,
      command: ['sleep', '86400'],
      ...(health ? { healthCheck: { command: ['true'], interval: health.intervalS, retries: 30 } } : {}),
    })),
  };
}

export function graph(config: WorkerConfig, id: string, n: number, health?: HealthSpec): DesiredState {
  return compile(payload(n, health), { config, taskId: id, runId: 0, scopes: [] });
}

/**
 * The graph without proxies: the library has no switch to omit them, so the no-proxy variants
 * run the same compile() output with every proxy node removed. Each service then owns its network
 * namespace itself: it takes its proxy's endpoint (the task network, with its alias) in place of
 * joining the proxy's namespace. Spec hashes are recomputed by bindImages() in the planner, so the
 * graph stays self-consistent.
 */
export function withoutProxies(desired: DesiredState): DesiredState {
  const proxyOf = new Map(desired.containers.filter((c) => c.role === 'proxy').map((p) => [p.id, p]));
  return {
    ...desired,
    networks: desired.networks.filter((n) => n.id === TASK_NETWORK_NODE),
    containers: desired.containers
      .filter((c) => c.role === 'service')
      .map(({ networkNamespaceOf, ...c }) => {
        const pod = networkNamespaceOf === undefined ? undefined : proxyOf.get(networkNamespaceOf);
        return {
          ...c,
          networks: (pod?.networks ?? c.networks).filter((a) => a.network === TASK_NETWORK_NODE),
          dependsOn: [TASK_NETWORK_NODE],
        };
      }),
    images: [...new Set(desired.containers.filter((c) => c.role === 'service').map((c) => c.image))].sort(),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Containers and networks this bench run left: by its label, or by the library's owner label. */
export async function leftovers(docker: DockerApi): Promise<{ containers: string[]; networks: string[] }> {
  const filters = [{ label: [`${BENCH_LABEL}=${benchRunId}`] }, { label: [`${Label.owner}=${OWNER_ID}`] }];
  const containers = new Set<string>();
  const networks = new Set<string>();
  for (const f of filters) {
    for (const c of await docker.listContainers(f)) containers.add((c.Names?.[0] ?? c.Id).replace(/^\//, ''));
    for (const n of await docker.listNetworks(f)) networks.add(n.Name);
  }
  // testcontainers names its networks itself; ours are named after the bench run.
  for (const n of await docker.listNetworks({ name: [`dsbench-${benchRunId}`] })) {
    if (n.Name.startsWith(`dsbench-${benchRunId}`)) networks.add(n.Name);
  }
  return { containers: [...containers].sort(), networks: [...networks].sort() };
}

/**
 * Removes what this run left and looks again: what is still there (dockerd 20.10 refuses now and
 * then to remove a network, keeping a phantom endpoint until it restarts).
 */
export async function removeLeftoversAndRecheck(docker: DockerApi): Promise<string[]> {
  await removeLeftovers(docker);
  const still = await withDeadline('leftover re-check', 60_000, leftovers(docker));
  return [...still.containers, ...still.networks];
}

/** Removes whatever this bench run left (containers first, then networks). */
export async function removeLeftovers(
  docker: DockerApi,
): Promise<{ containers: string[]; networks: string[] }> {
  const found = await leftovers(docker);
  await Promise.allSettled(found.containers.map((name) => docker.removeContainer(name)));
  await Promise.allSettled(found.networks.map((name) => docker.removeNetwork(name)));
  return found;
}
