/**
 * The ways of bringing N services up and down that the bench compares. Each `up` resolves when
 * every service is running (scenario `running`) or healthy (scenario `ready`); the handle's `down`
 * resolves when nothing of it remains.
 *
 *   floor             raw Docker API calls (the project's deadline-wrapped dockerode client),
 *                     creating the library's exact objects: each network, and each container's
 *                     create → connect → start chain as soon as what it needs exists, all at
 *                     once (a service joins its proxy's namespace: created once the proxy is,
 *                     started once the proxy is; Docker allows nothing sooner)
 *   ours              the library: ServiceManager.start() / session.stop() (readySettleMs 0
 *                     in the running scenario: see `ours()`)
 *   *-no-proxy        the same on the graph without proxies
 *   floor*-aa         the floor again, measured against itself (an A/A control): how far apart
 *                     two medians of the same calls fall in one run, i.e. the smallest gap to
 *                     the floor that a run can tell from noise
 *   sequential        the no-proxy objects, one call at a time
 *   testcontainers    GenericContainer on one Network with aliases, Ryuk off, local image
 *   compose           docker-compose 1.29 (Debian) `up -d` / `down -t 0` of one project
 *
 * The proxies are the real Node proxy image unless the bench runs with `--proxy stand-in`. The
 * real proxy's image declares a ready line: in both scenarios a task with proxies is up once each
 * proxy has printed it (what `start()` waits for), and in the ready scenario once its services
 * are healthy too (an image with a health check and no ready line: healthy). The floor starts
 * each service as soon as its proxy runs (a service joins its proxy's network namespace, which
 * dockerd refuses before), as the library does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerCreateOptions } from '../../src/actions/create-container.js';
import { networkCreateOptions } from '../../src/actions/create-network.js';
import { compile } from '../../src/desired-state/compile.js';
import type { WorkerConfig } from '../../src/desired-state/config.js';
import type { ContainerNode, DesiredState } from '../../src/desired-state/types.js';
import type { DockerApi } from '../../src/docker/client.js';
import { defaultRuntime } from '../../src/library/default-runtime.js';
import { ServiceManager } from '../../src/library/manager.js';
import {
  IMAGES,
  benchLabels,
  benchRunId,
  graph,
  payload,
  serviceName,
  taskId,
  withoutProxies,
  type HealthSpec,
} from './common.js';
import type { HealthWatch } from './health-watch.js';
import { waitReadyLines } from './ready-lines.js';

export type Scenario = 'running' | 'ready';

export interface Handle {
  /** Containers whose healthy event the ready signal follows (empty in the `running` scenario). */
  healthNames: string[];
  /** The proxy containers of this up (empty without proxies). */
  proxyNames: string[];
  down(): Promise<void>;
}

export interface VariantContext {
  docker: DockerApi;
  config: WorkerConfig;
  watch: HealthWatch;
  health: HealthSpec;
  /**
   * Whether the proxy image has a health check (the real proxy does, the stand-in not): then a
   * ready task includes healthy proxies, as the library's services wait for theirs, unless the
   * image declares a ready line (`proxyReadyLine`).
   */
  proxyHealthCheck: boolean;
  /**
   * The text the proxy image says it prints once it listens (its `org.taskcluster.ready-log-line`
   * label): then a ready task includes proxies that printed it, which is what the library waits
   * for, and their health check is liveness only.
   */
  proxyReadyLine?: string | undefined;
  /** Reports a child process the variant runs, so that its CPU and memory are counted. */
  onChild(pid: number): void;
  timeoutMs: number;
}

export interface Variant {
  name: string;
  /** Whether its object set has the per-service proxies. */
  proxies: boolean;
  up(n: number, scenario: Scenario): Promise<Handle>;
  /** Stops what the variant is still converging (the library's sessions would otherwise re-create what cleanup removes). */
  abort?(): Promise<void>;
}

/**
 * The floor's proxies get permanent fake credentials (the real proxy needs some to start; it
 * signs nothing, as the bench's services make no calls; the stand-in ignores them). The library
 * mints temporary ones from its own fake worker credentials.
 */
const FLOOR_PROXY_ENV = {
  TASKCLUSTER_CLIENT_ID: 'bench',
  TASKCLUSTER_ACCESS_TOKEN: 'bench-fake-token',
};

/**
 * dockerd 20.10 sometimes still counts an endpoint of a container whose force-removal has
 * returned ("has active endpoints"); a client has to try again. Usually it clears within
 * milliseconds; an endpoint that stays is a daemon bug only a daemon restart fixes.
 */
async function removeNetwork(docker: DockerApi, id: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await docker.removeNetwork(id);
      return;
    } catch (error) {
      if (attempt >= 30 || !/active endpoints/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function healthNamesOf(ctx: VariantContext, desired: DesiredState): string[] {
  return desired.containers
    .filter((c) => c.healthCheck || (c.role === 'proxy' && ctx.proxyHealthCheck && !ctx.proxyReadyLine))
    .map((c) => c.name);
}

function proxyNamesOf(desired: DesiredState): string[] {
  return desired.containers.filter((c) => c.role === 'proxy').map((c) => c.name);
}

function floorGraph(ctx: VariantContext, n: number, scenario: Scenario, proxies: boolean): DesiredState {
  const desired = graph(ctx.config, taskId(), n, scenario === 'ready' ? ctx.health : undefined);
  return proxies ? desired : withoutProxies(desired);
}

/**
 * Create options of `container`, and the networks to connect before its start. A container that
 * joins another's network namespace is created with that container's id (`namespaceId`).
 */
function createOptionsOf(desired: DesiredState, container: ContainerNode, namespaceId?: string) {
  const networkName = new Map(desired.networks.map((n) => [n.id, n.name]));
  const [first, ...rest] = container.networks;
  const options = containerCreateOptions(
    namespaceId === undefined ? container : { ...container, namespaceContainerId: namespaceId },
    first && { name: networkName.get(first.network)!, aliases: first.aliases },
    container.needsCredentials ? FLOOR_PROXY_ENV : {},
  );
  return {
    options,
    connect: rest.map((a) => ({ network: networkName.get(a.network)!, aliases: a.aliases })),
  };
}

export function floor(ctx: VariantContext, proxies: boolean, again = false): Variant {
  const { docker } = ctx;
  return {
    name: `${proxies ? 'floor' : 'floor-no-proxy'}${again ? '-aa' : ''}`,
    proxies,
    async up(n, scenario) {
      const desired = floorGraph(ctx, n, scenario, proxies);
      const networks = new Map(
        desired.networks.map((net) => [net.id, docker.createNetwork(networkCreateOptions(net))]),
      );
      const containerIds = new Map<string, Promise<string>>();
      // By node id: created (the id a namespace joiner names), started (what its start waits for).
      const created = new Map<string, Promise<string>>();
      const started = new Map<string, Promise<void>>();
      // Namespace owners first, so that a joiner finds its owner's promises.
      const owners = desired.containers.filter((c) => c.networkNamespaceOf === undefined);
      const joiners = desired.containers.filter((c) => c.networkNamespaceOf !== undefined);
      for (const container of [...owners, ...joiners]) {
        const owner = container.networkNamespaceOf;
        const create = (async () => {
          await Promise.all(container.networks.map((a) => networks.get(a.network)));
          const namespaceId = owner === undefined ? undefined : await created.get(owner)!;
          const { options, connect } = createOptionsOf(desired, container, namespaceId);
          const id = await docker.createContainer(options);
          await Promise.all(connect.map((c) => docker.connectNetwork(c.network, id, c.aliases)));
          return id;
        })();
        const start = (async () => {
          const id = await create;
          if (owner !== undefined) await started.get(owner)!;
          await docker.startContainer(id);
        })();
        created.set(container.id, create);
        started.set(container.id, start);
        containerIds.set(
          container.name,
          start.then(() => create),
        );
      }
      const settled = await Promise.allSettled([...networks.values(), ...containerIds.values()]);
      const down = async (): Promise<void> => {
        const removed = new Map<string, Promise<unknown>>();
        for (const [name, id] of containerIds) {
          removed.set(
            name,
            id.then(
              (cid) => docker.removeContainer(cid),
              () => docker.removeContainer(name).catch(() => {}),
            ),
          );
        }
        await Promise.all(
          desired.networks.map(async (net) => {
            const attached = desired.containers.filter((c) => c.networks.some((a) => a.network === net.id));
            await Promise.allSettled(attached.map((c) => removed.get(c.name)));
            await networks.get(net.id)!.then(
              (id) => removeNetwork(docker, id),
              () => removeNetwork(docker, net.name).catch(() => {}),
            );
          }),
        );
        await Promise.all(removed.values());
      };
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) {
        await down().catch(() => {});
        throw (failed as PromiseRejectedResult).reason;
      }
      const healthNames = scenario === 'ready' ? healthNamesOf(ctx, desired) : [];
      await readyOf(ctx, desired, healthNames);
      return { healthNames, proxyNames: proxyNamesOf(desired), down };
    },
  };
}

/**
 * What the floor waits for after its last start, as `start()` does: proxies whose image declares a
 * ready line have printed it (in both scenarios: a task's proxy is of no use before it listens),
 * and in the ready scenario every health check named is healthy (`healthNames` is empty otherwise).
 */
async function readyOf(ctx: VariantContext, desired: DesiredState, healthNames: string[]): Promise<void> {
  const proxies = proxyNamesOf(desired);
  await Promise.all([
    ctx.watch.waitHealthy(healthNames, ctx.timeoutMs),
    ctx.proxyReadyLine && proxies.length > 0
      ? waitReadyLines(ctx.docker, proxies, ctx.proxyReadyLine, ctx.timeoutMs)
      : undefined,
  ]);
}

export function sequential(ctx: VariantContext): Variant {
  const { docker } = ctx;
  return {
    name: 'sequential',
    proxies: false,
    async up(n, scenario) {
      const desired = floorGraph(ctx, n, scenario, false);
      const networkIds: string[] = [];
      const containerIds: string[] = [];
      const down = async (): Promise<void> => {
        for (const id of containerIds) await docker.removeContainer(id);
        for (const id of networkIds) await removeNetwork(docker, id);
      };
      try {
        for (const net of desired.networks)
          networkIds.push(await docker.createNetwork(networkCreateOptions(net)));
        for (const container of desired.containers) {
          // The no-proxy graph: every container has its own endpoint, none joins a namespace.
          const { options, connect } = createOptionsOf(desired, container);
          const id = await docker.createContainer(options);
          containerIds.push(id);
          for (const c of connect) await docker.connectNetwork(c.network, id, c.aliases);
          await docker.startContainer(id);
        }
      } catch (error) {
        await down().catch(() => {});
        throw error;
      }
      const healthNames = scenario === 'ready' ? healthNamesOf(ctx, desired) : [];
      if (scenario === 'ready') await ctx.watch.waitHealthy(healthNames, ctx.timeoutMs);
      return { healthNames, proxyNames: proxyNamesOf(desired), down };
    },
  };
}

export function ours(ctx: VariantContext, proxies: boolean, docker: DockerApi = ctx.docker): Variant {
  // In the running scenario start() resolves once every service runs: the default settle (a
  // service without a health check counts as ready after running 1 s, to catch an instant crash)
  // is a policy every user can set, not orchestration overhead, and no other variant waits for it.
  const managerFor = (scenario: Scenario): ServiceManager =>
    new ServiceManager({
      docker,
      ...(scenario === 'running' ? { readySettleMs: 0 } : {}),
      config: ctx.config,
      // Permanent worker credentials: the library mints each proxy's temporary credentials locally.
      credentials: { clientId: 'bench-worker', accessToken: 'bench-access-token' },
      ...(proxies
        ? {}
        : {
            runtime: {
              ...defaultRuntime(docker),
              compile: (p: unknown, input) => withoutProxies(compile(p, input)),
            },
          }),
    });
  const managers = { running: managerFor('running'), ready: managerFor('ready') };
  return {
    name: proxies ? 'ours' : 'ours-no-proxy',
    proxies,
    abort: async () => {
      await Promise.allSettled(
        Object.values(managers).flatMap((m) => m.activeSessions().map((session) => session.stop())),
      );
    },
    async up(n, scenario) {
      const id = taskId();
      const session = await managers[scenario].start({
        taskId: id,
        runId: 0,
        payload: payload(n, scenario === 'ready' ? ctx.health : undefined),
        scopes: [],
        deadline: new Date(Date.now() + 3600_000),
      });
      const compiled = graph(ctx.config, id, n, scenario === 'ready' ? ctx.health : undefined);
      const desired = proxies ? compiled : withoutProxies(compiled);
      return {
        healthNames: scenario === 'ready' ? healthNamesOf(ctx, desired) : [],
        proxyNames: proxyNamesOf(desired),
        down: async () => {
          await session.stop();
        },
      };
    },
  };
}

export async function testcontainers(ctx: VariantContext): Promise<Variant> {
  const tc = await import('testcontainers');
  let k = 0;
  return {
    name: 'testcontainers',
    proxies: false,
    async up(n, scenario) {
      const networkName = `dsbench-${benchRunId}-tc${k++}`;
      const network = await new tc.Network({ nextUuid: () => networkName }).start();
      const started = await Promise.allSettled(
        Array.from({ length: n }, (_, i) => {
          let container = new tc.GenericContainer(IMAGES.busybox)
            .withCommand(['sleep', '86400'])
            .withNetwork(network)
            .withNetworkAliases(serviceName(i))
            .withLabels(benchLabels())
            .withStartupTimeout(ctx.timeoutMs);
          if (scenario === 'ready') {
            container = container
              .withHealthCheck({
                test: ['CMD', 'true'],
                interval: ctx.health.intervalS * 1000,
                timeout: 5000,
                retries: 30,
                startPeriod: 0,
              })
              .withWaitStrategy(tc.Wait.forHealthCheck());
          }
          return container.start();
        }),
      );
      const containers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const down = async (): Promise<void> => {
        await Promise.all(containers.map((c) => c.stop()));
        await network.stop();
      };
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) {
        await down().catch(() => {});
        throw (failed as PromiseRejectedResult).reason;
      }
      return {
        healthNames: scenario === 'ready' ? containers.map((c) => c.getName().replace(/^\//, '')) : [],
        proxyNames: [],
        down,
      };
    },
  };
}

/** Runs a command; rejects with its output when it fails or outlives `timeoutMs` (then it is killed). */
function run(
  command: string,
  args: string[],
  options: { timeoutMs: number; cwd: string; onChild(pid: number): void },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) options.onChild(child.pid);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${command} ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${output}`),
      );
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}\n${output.slice(-2000)}`),
        );
    });
  });
}

/**
 * docker-compose 1.29 has no `up --wait`; a compose user gates on health with a service that
 * `depends_on` every other with `condition: service_healthy`, so the ready scenario adds one.
 */
export function compose(ctx: VariantContext): Variant {
  let k = 0;
  return {
    name: 'compose',
    proxies: false,
    async up(n, scenario) {
      const project = `dsbench${benchRunId}c${k++}`.toLowerCase();
      const dir = mkdtempSync(join(tmpdir(), 'dsbench-compose-'));
      const labels = benchLabels();
      const services: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        services[serviceName(i)] = {
          image: IMAGES.busybox,
          command: ['sleep', '86400'],
          labels,
          networks: { tasknet: { aliases: [serviceName(i)] } },
          ...(scenario === 'ready'
            ? {
                healthcheck: {
                  test: ['CMD', 'true'],
                  interval: `${ctx.health.intervalS}s`,
                  timeout: '5s',
                  retries: 30,
                },
              }
            : {}),
        };
      }
      if (scenario === 'ready') {
        services.gate = {
          image: IMAGES.busybox,
          command: ['sleep', '86400'],
          labels,
          networks: ['tasknet'],
          depends_on: Object.fromEntries(
            Array.from({ length: n }, (_, i) => [serviceName(i), { condition: 'service_healthy' }]),
          ),
        };
      }
      // JSON is YAML.
      writeFileSync(
        join(dir, 'docker-compose.yml'),
        JSON.stringify({ version: '2.4', services, networks: { tasknet: { labels } } }),
      );
      const opts = { timeoutMs: ctx.timeoutMs, cwd: dir, onChild: ctx.onChild };
      const down = async (): Promise<void> => {
        try {
          await run('docker-compose', ['-p', project, 'down', '-t', '0'], opts);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      };
      try {
        await run('docker-compose', ['-p', project, 'up', '-d', '--no-color'], opts);
      } catch (error) {
        await down().catch(() => {});
        throw error;
      }
      return {
        healthNames:
          scenario === 'ready' ? Array.from({ length: n }, (_, i) => `${project}_${serviceName(i)}_1`) : [],
        proxyNames: [],
        down,
      };
    },
  };
}
