/**
 * Each executor against the in-memory engine: the idempotence rules (remove of a missing object,
 * adopt our own, refuse a foreign same-named object and leave it untouched, connect twice), the
 * create options a container gets, re-inspection after a timeout, and which of the engine's answers
 * to a pull mean the image cannot be had.
 */
import { describe, expect, it } from '@jest/globals';
import { executeAction } from '../../src/actions/execute.js';
import type { ExecuteContext } from '../../src/actions/context.js';
import { containerCreateOptions } from '../../src/actions/create-container.js';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { bindImages } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import type {
  ContainerNode,
  DesiredState,
  NetworkNode,
  ResolvedImage,
} from '../../src/desired-state/types.js';
import type {
  ConnectNetwork,
  CreateContainer,
  CreateNetwork,
  DisconnectNetwork,
  PullImage,
  RemoveContainer,
  RemoveNetwork,
  StartContainer,
} from '../../src/reconciler/actions.js';
import { RetryableError, TerminalError } from '../../src/reconciler/errors.js';
import { FakeDocker, type FakeFault, type FakeCall } from '../support/fake-docker.js';

const TASK_ID = 'execTask_0123456789abc';
const SECRET = 'not-a-real-token-but-secret-looking';
const config = defaultWorkerConfig({
  ownerId: 'worker-exec',
  // Fixture images are built here, never in a registry: nothing to pull.
  images: { pullPolicy: 'if-not-present' },
  provisionerId: 'prov',
  workerType: 'wt',
  rootUrl: 'https://tc.example.com',
  proxy: { image: 'img/proxy:1' },
});

function graph(): DesiredState {
  const desired = compile(
    {
      services: [
        {
          name: 'db',
          image: 'img/db:1',
          env: { POSTGRES_PASSWORD: 'pw' },
          healthCheck: { command: ['true'] },
        },
      ],
    },
    { config, taskId: TASK_ID, runId: 0, scopes: [] },
  );
  const resolved: Record<string, ResolvedImage> = {
    'img/db:1': {
      ref: 'img/db:1',
      id: `sha256:${'1'.repeat(64)}`,
      key: `sha256:${'1'.repeat(64)}`,
      labels: {},
    },
    'img/proxy:1': {
      ref: 'img/proxy:1',
      id: `sha256:${'2'.repeat(64)}`,
      key: `sha256:${'2'.repeat(64)}`,
      labels: {},
    },
  };
  // The service joins its proxy's namespace: bound here to a made-up id of that container.
  return {
    ...desired,
    containers: desired.containers.map((c) => bindImages(c, (ref) => resolved[ref], PROXY_ID)!),
  };
}

const PROXY_ID = 'c'.repeat(64);
const desired = graph();
/** The service as compiled: created in its proxy's network namespace. */
const podService = desired.containers.find((c) => c.role === 'service')!;
const proxy = desired.containers.find((c) => c.role === 'proxy')!;
const taskNetwork = desired.networks.find((n) => n.role === 'task-network')!;
/**
 * The executors do not care which topology a node comes from: most cases below use the service as
 * a container with an endpoint of its own on the task network, and a second network to connect it to.
 */
const service: ContainerNode = (({ networkNamespaceOf: _n, namespaceContainerId: _i, ...node }) => ({
  ...node,
  networks: [{ network: taskNetwork.id, aliases: ['db'] }],
}))(podService);
const privateNetwork: NetworkNode = {
  ...taskNetwork,
  id: 'network/extra',
  name: `${taskNetwork.name}_extra`,
  labels: { ...taskNetwork.labels, [Label.node]: 'network/extra' },
};

function engine(options: { fault?: (call: FakeCall) => FakeFault | undefined } = {}): FakeDocker {
  return new FakeDocker({
    images: [{ ref: 'img/db:1' }, { ref: 'img/proxy:1' }, { ref: 'img/other:1' }],
    ...options,
  });
}

function context(
  docker: FakeDocker,
  credentials = async () => ({ TASKCLUSTER_ACCESS_TOKEN: SECRET }),
): ExecuteContext {
  return { docker, credentials, owner: desired.owner, pollMs: 1, removalWaitMs: 2_000 };
}

const createNetwork = (network: NetworkNode): CreateNetwork => ({
  kind: 'create-network',
  id: `create-network:${network.name}`,
  target: { type: 'network', name: network.name, node: network.id },
  cause: 'not found',
  dependsOn: [],
  network,
});

const createContainer = (container: ContainerNode): CreateContainer => {
  const first = container.networks[0]!;
  const network = desired.networks.find((n) => n.id === first.network)!;
  return {
    kind: 'create-container',
    id: `create-container:${container.name}`,
    target: { type: 'container', name: container.name, node: container.id },
    cause: 'not found',
    dependsOn: [],
    container,
    network: { name: network.name, aliases: first.aliases },
  };
};

const start = (container: ContainerNode): StartContainer => ({
  kind: 'start-container',
  id: `start-container:${container.name}`,
  target: { type: 'container', name: container.name, node: container.id },
  cause: 'created, not started',
  dependsOn: [],
  container: container.name,
});

const connect = (container: ContainerNode, network: NetworkNode, aliases: string[] = []): ConnectNetwork => ({
  kind: 'connect-network',
  id: `connect-network:${container.name}:${network.name}`,
  target: { type: 'container', name: container.name, node: container.id },
  cause: 'not attached',
  dependsOn: [],
  container: container.name,
  network: network.name,
  aliases,
});

const removeContainer = (name: string, containerId: string): RemoveContainer => ({
  kind: 'remove-container',
  id: `remove-container:${name}`,
  target: { type: 'container', name, objectId: containerId },
  cause: 'orphan: not in desired graph',
  dependsOn: [],
  containerId,
});

const removeNetwork = (name: string, networkId: string): RemoveNetwork => ({
  kind: 'remove-network',
  id: `remove-network:${name}`,
  target: { type: 'network', name, objectId: networkId },
  cause: 'orphan: not in desired graph',
  dependsOn: [],
  networkId,
});

const disconnect = (name: string, networkId: string, containerId: string): DisconnectNetwork => ({
  kind: 'disconnect-network',
  id: `disconnect-network:${containerId}:${name}`,
  target: { type: 'network', name, objectId: networkId },
  cause: 'orphan network',
  dependsOn: [],
  networkId,
  containerId,
});

const pull = (image: string): PullImage => ({
  kind: 'pull-image',
  id: `pull-image:${image}`,
  target: { type: 'image', name: image },
  cause: 'not present locally',
  dependsOn: [],
  image,
});

/** Creates the task network and the service container (created, not started) through the executors. */
async function createdService(docker: FakeDocker): Promise<string> {
  const ctx = context(docker);
  await executeAction(createNetwork(taskNetwork), ctx);
  await executeAction(createNetwork(privateNetwork), ctx);
  const { containerId } = await executeAction(createContainer(service), ctx);
  return containerId!;
}

function mutatingCallsOn(docker: FakeDocker, id: string): FakeCall[] {
  return docker.callsOn(id);
}

describe('create-container', () => {
  it('builds create options from the node: Cmd, Env, labels, health check, limits, one network, no restart policy', () => {
    const options = containerCreateOptions(service, { name: taskNetwork.name, aliases: ['db'] });
    expect(options.name).toBe(service.name);
    expect(options.Image).toBe('img/db:1');
    expect(options.Env).toContain('POSTGRES_PASSWORD=pw');
    expect(options.Labels).toEqual(service.labels);
    expect(options.Healthcheck?.Test).toEqual(service.healthCheck!.test);
    expect(options.HostConfig).toMatchObject({
      NetworkMode: taskNetwork.name,
      Memory: service.limits.memoryBytes,
      MemorySwap: service.limits.memoryBytes,
      PidsLimit: service.limits.pidsLimit,
      LogConfig: { Type: 'json-file', Config: { 'max-size': String(service.limits.logMaxBytes) } },
      RestartPolicy: { Name: 'no' },
      Privileged: false,
    });
    expect(options.HostConfig?.Binds).toBeUndefined();
    expect(options.HostConfig?.PortBindings).toBeUndefined();
    expect(options.ExposedPorts).toBeUndefined();
    expect(options.Entrypoint).toBeUndefined();
    expect(options.NetworkingConfig).toEqual({
      EndpointsConfig: { [taskNetwork.name]: { Aliases: ['db'] } },
    });
  });

  it("creates a container that joins another's network namespace by its id, with no endpoint of its own", () => {
    expect(podService.namespaceContainerId).toBe(PROXY_ID);
    const options = containerCreateOptions(podService, undefined);
    expect(options.HostConfig?.NetworkMode).toBe(`container:${PROXY_ID}`);
    expect(options.NetworkingConfig).toBeUndefined();
    expect(options.HostConfig?.ExtraHosts).toBeUndefined();
    // The namespace's owner carries the pod's endpoint and its /etc/hosts entry for `taskcluster`.
    const owner = containerCreateOptions(proxy, { name: taskNetwork.name, aliases: ['db'] });
    expect(owner.HostConfig?.ExtraHosts).toEqual(['taskcluster:127.0.0.1']);
    expect(owner.NetworkingConfig).toEqual({ EndpointsConfig: { [taskNetwork.name]: { Aliases: ['db'] } } });
    // Unbound, it has no owner to name: refused rather than created on the default bridge.
    const { namespaceContainerId: _id, ...unbound } = podService;
    expect(() => containerCreateOptions(unbound, undefined)).toThrow(/not bound to its owner/);
  });

  it('puts credentials into the env of a container that needs them, and asks for none otherwise', async () => {
    const docker = engine();
    let asked = 0;
    const ctx = context(docker, async () => {
      asked += 1;
      return { TASKCLUSTER_ACCESS_TOKEN: SECRET };
    });
    await executeAction(createNetwork(privateNetwork), ctx);
    await executeAction(createNetwork(taskNetwork), ctx);
    await executeAction(createContainer(service), ctx);
    expect(asked).toBe(0);
    const { containerId } = await executeAction(createContainer(proxy), ctx);
    expect(asked).toBe(1);
    const inspect = await docker.inspectContainer(containerId!);
    expect(inspect?.Config.Env).toContain(`TASKCLUSTER_ACCESS_TOKEN=${SECRET}`);
    expect(inspect?.Config.Cmd?.join(' ')).not.toContain(SECRET);
    expect(JSON.stringify(inspect?.Config.Labels)).not.toContain(SECRET);
  });

  it('adopts our own container of the same name and spec hash, creating nothing', async () => {
    const docker = engine();
    const first = await createdService(docker);
    const creates = docker.calls.filter((c) => c.op === 'container create').length;
    const again = await executeAction(createContainer(service), context(docker));
    expect(again).toMatchObject({ containerId: first, adopted: true });
    expect(docker.world().containers.filter((c) => c.name === service.name)).toHaveLength(1);
    expect(docker.calls.filter((c) => c.op === 'container create' && c.outcome === 'ok')).toHaveLength(
      creates,
    );
  });

  it('leaves our own container with another spec hash for the plan to replace (retryable)', async () => {
    const docker = engine();
    await createdService(docker);
    const changed = {
      ...service,
      specHash: 'other',
      labels: { ...service.labels, [Label.specHash]: 'other' },
    };
    await expect(executeAction(createContainer(changed), context(docker))).rejects.toBeInstanceOf(
      RetryableError,
    );
  });

  it('refuses a same-named container that is not ours, terminally, and does not touch it', async () => {
    const docker = engine();
    docker.seedNetwork({ name: taskNetwork.name, labels: taskNetwork.labels });
    const squatter = docker.seedContainer({
      name: service.name,
      image: 'img/other:1',
      labels: { mine: 'no' },
      state: 'running',
    });
    const before = docker.world();
    const error = await executeAction(createContainer(service), context(docker)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalError);
    expect((error as TerminalError).code).toBe('name-conflict');
    expect(docker.world()).toEqual(before);
    expect(mutatingCallsOn(docker, squatter).filter((c) => c.outcome === 'ok')).toEqual([]);
  });

  it('after a timeout where the daemon did create it, adopts it instead of creating a second', async () => {
    let fired = false;
    const docker = engine({
      fault: (call) => {
        if (call.op === 'container create' && !fired) {
          fired = true;
          return { kind: 'timeout-after' };
        }
        return undefined;
      },
    });
    const id = await createdService(docker);
    expect(docker.world().containers.map((c) => c.id)).toEqual([id]);
  });

  it('after a timeout where the daemon did nothing, fails retryably', async () => {
    const docker = engine({
      fault: (call) => (call.op === 'container create' ? { kind: 'timeout-before' } : undefined),
    });
    await expect(createdService(docker)).rejects.toBeInstanceOf(RetryableError);
    expect(docker.world().containers).toEqual([]);
  });

  it('refuses a proxy whose command still holds the image key placeholder', async () => {
    const docker = engine();
    const unbound = compile(
      { services: [{ name: 'db', image: 'img/db:1' }] },
      { config, taskId: TASK_ID, runId: 0, scopes: [] },
    ).containers.find((c) => c.role === 'proxy')!;
    const error = await executeAction(createContainer(unbound), context(docker)).catch((e: unknown) => e);
    expect((error as TerminalError).code).toBe('bad-spec');
  });

  it('never lets a credentials callback failure show what it was handling', async () => {
    const docker = engine();
    const ctx = context(docker, async () => {
      throw new Error(`could not mint from ${SECRET}`);
    });
    await executeAction(createNetwork(privateNetwork), ctx);
    const error = (await executeAction(createContainer(proxy), ctx).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(RetryableError);
    expect(`${error.message} ${String(error.cause)}`).not.toContain(SECRET);
  });
});

describe('create-network', () => {
  it('creates with our labels; a second create adopts it', async () => {
    const docker = engine();
    const first = await executeAction(createNetwork(taskNetwork), context(docker));
    const second = await executeAction(createNetwork(taskNetwork), context(docker));
    expect(second).toEqual({ networkId: first.networkId, adopted: true });
    expect(docker.world().networks).toEqual([
      { id: first.networkId, name: taskNetwork.name, labels: taskNetwork.labels },
    ]);
  });

  it('refuses a same-named network that is not ours, terminally, and does not touch it', async () => {
    const docker = engine();
    const squatter = docker.seedNetwork({ name: taskNetwork.name, labels: { someone: 'else' } });
    const error = await executeAction(createNetwork(taskNetwork), context(docker)).catch((e: unknown) => e);
    expect((error as TerminalError).code).toBe('name-conflict');
    expect(docker.world().networks).toEqual([
      { id: squatter, name: taskNetwork.name, labels: { someone: 'else' } },
    ]);
    expect(mutatingCallsOn(docker, squatter)).toEqual([]);
  });

  it('re-inspects after a timeout and adopts what the daemon made', async () => {
    const docker = engine({
      fault: (call) => (call.op === 'network create' ? { kind: 'timeout-after' } : undefined),
    });
    const result = await executeAction(createNetwork(taskNetwork), context(docker));
    expect(result.adopted).toBe(true);
    expect(docker.world().networks).toHaveLength(1);
  });

  it('an engine out of address pools fails at once, naming default-address-pools (dockerd 20.10 says 404)', async () => {
    const docker = engine({
      fault: (call) =>
        call.op === 'network create'
          ? {
              kind: 'error',
              statusCode: 404,
              message:
                'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
            }
          : undefined,
    });
    const error = await executeAction(createNetwork(taskNetwork), context(docker)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalError);
    expect((error as TerminalError).code).toBe('network-pool-exhausted');
    expect((error as Error).message).toContain('`default-address-pools` in daemon.json');
    expect(docker.world().networks).toEqual([]);
  });

  it('fails retryably on a server error', async () => {
    const docker = engine({
      fault: (call) => (call.op === 'network create' ? { kind: 'error', statusCode: 500 } : undefined),
    });
    await expect(executeAction(createNetwork(taskNetwork), context(docker))).rejects.toBeInstanceOf(
      RetryableError,
    );
  });
});

/** A guard that records what it was told, and what Docker held when it was told it. */
function recordingGuard(docker: FakeDocker, fail?: 'protect' | 'release') {
  const seen: { op: 'protect' | 'release'; networkId: string; networksThen: number }[] = [];
  const record = (op: 'protect' | 'release') => async (networkId: string) => {
    seen.push({ op, networkId, networksThen: docker.world().networks.length });
    if (fail === op) throw new Error('nft: Operation not permitted');
  };
  return { seen, guard: { protect: record('protect'), release: record('release') } };
}

describe('the isolation guard in the network executors', () => {
  it('a created network is in the guard before create-network returns; an adopted one too', async () => {
    const docker = engine();
    const { seen, guard } = recordingGuard(docker);
    const created = await executeAction(createNetwork(taskNetwork), { ...context(docker), isolation: guard });
    const adopted = await executeAction(createNetwork(taskNetwork), { ...context(docker), isolation: guard });
    expect(adopted).toEqual({ networkId: created.networkId, adopted: true });
    expect(seen).toEqual([
      { op: 'protect', networkId: created.networkId, networksThen: 1 },
      { op: 'protect', networkId: created.networkId, networksThen: 1 },
    ]);
  });

  it('a guard that cannot take the network fails the action terminally (no container may use it unguarded)', async () => {
    const docker = engine();
    const { guard } = recordingGuard(docker, 'protect');
    const error = await executeAction(createNetwork(taskNetwork), {
      ...context(docker),
      isolation: guard,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalError);
    expect((error as TerminalError).code).toBe('isolation-guard');
    expect((error as Error).message).toBe(
      `create network ${taskNetwork.name}: the isolation guard could not take it: nft: Operation not permitted`,
    );
  });

  it('a removed network (or one already gone) is released; a release that fails does not fail the removal', async () => {
    const docker = engine();
    const { networkId } = await executeAction(createNetwork(taskNetwork), context(docker));
    const { seen, guard } = recordingGuard(docker, 'release');
    const remove = removeNetwork(taskNetwork.name, networkId!);
    expect(await executeAction(remove, { ...context(docker), isolation: guard })).toEqual({ networkId });
    expect(await executeAction(remove, { ...context(docker), isolation: guard })).toEqual({
      networkId,
      alreadyDone: true,
    });
    expect(seen).toEqual([
      { op: 'release', networkId, networksThen: 0 },
      { op: 'release', networkId, networksThen: 0 },
    ]);
  });
});

describe('connect-network and start-container', () => {
  it('connects a created container; connecting it again succeeds and changes nothing', async () => {
    const docker = engine();
    const id = await createdService(docker);
    await executeAction(connect(service, privateNetwork), context(docker));
    const after = docker.world();
    expect(await executeAction(connect(service, privateNetwork), context(docker))).toMatchObject({
      alreadyDone: true,
    });
    expect(docker.world()).toEqual(after);
    expect(Object.keys(after.containers.find((c) => c.id === id)!.networks).sort()).toEqual(
      [privateNetwork.name, taskNetwork.name].sort(),
    );
  });

  it('connect of a running container that is already attached succeeds', async () => {
    const docker = engine();
    await createdService(docker);
    await executeAction(connect(service, privateNetwork), context(docker));
    await executeAction(start(service), context(docker));
    await expect(executeAction(connect(service, privateNetwork), context(docker))).resolves.toMatchObject({
      alreadyDone: true,
    });
  });

  it('a connect that errored after the daemon did it counts as done', async () => {
    const docker = engine({
      fault: (call) => (call.op === 'network connect' ? { kind: 'timeout-after' } : undefined),
    });
    await createdService(docker);
    await expect(executeAction(connect(service, privateNetwork), context(docker))).resolves.toBeDefined();
  });

  it('starts a created container, reports a running one as started, and reports the state before', async () => {
    const docker = engine();
    await createdService(docker);
    expect(await executeAction(start(service), context(docker))).toMatchObject({ previousState: 'created' });
    expect(await executeAction(start(service), context(docker))).toMatchObject({
      alreadyDone: true,
      previousState: 'running',
    });
    docker.kill(service.name);
    expect(await executeAction(start(service), context(docker))).toMatchObject({ previousState: 'exited' });
    expect(docker.world().containers[0]!.status).toBe('running');
  });

  it('with a known id, connects and starts in one call each, and a gone container is retryable', async () => {
    const docker = engine();
    const id = await createdService(docker);
    const known = <A extends StartContainer | ConnectNetwork>(action: A): A => ({
      ...action,
      target: { ...action.target, objectId: id },
    });
    const from = docker.calls.length;
    await expect(
      executeAction(known(connect(service, privateNetwork)), context(docker)),
    ).resolves.toMatchObject({ containerId: id });
    await expect(executeAction(known(start(service)), context(docker))).resolves.toMatchObject({
      containerId: id,
    });
    expect(docker.calls.slice(from).map((c) => c.op)).toEqual(['network connect', 'container start']);
    // Started already: the daemon's 304 is done.
    await expect(executeAction(known(start(service)), context(docker))).resolves.toMatchObject({
      alreadyDone: true,
    });
    docker.removeExternally(id);
    await expect(executeAction(known(start(service)), context(docker))).rejects.toBeInstanceOf(
      RetryableError,
    );
    await expect(
      executeAction(known(connect(service, privateNetwork)), context(docker)),
    ).rejects.toBeInstanceOf(RetryableError);
  });

  it('refuses to start or connect a same-named container that is not ours', async () => {
    const docker = engine();
    docker.seedNetwork({ name: privateNetwork.name, labels: privateNetwork.labels });
    const squatter = docker.seedContainer({ name: service.name, image: 'img/other:1', labels: {} });
    await expect(executeAction(start(service), context(docker))).rejects.toBeInstanceOf(TerminalError);
    await expect(executeAction(connect(service, privateNetwork), context(docker))).rejects.toBeInstanceOf(
      TerminalError,
    );
    expect(mutatingCallsOn(docker, squatter)).toEqual([]);
  });

  it('fails retryably when the container is not there (yet)', async () => {
    const docker = engine();
    await expect(executeAction(start(service), context(docker))).rejects.toBeInstanceOf(RetryableError);
  });
});

describe('remove-container', () => {
  it('removes a running container; removing it again (missing) succeeds', async () => {
    const docker = engine();
    const id = await createdService(docker);
    await executeAction(start(service), context(docker));
    expect(await executeAction(removeContainer(service.name, id), context(docker))).toEqual({
      containerId: id,
    });
    expect(await executeAction(removeContainer(service.name, id), context(docker))).toMatchObject({
      alreadyDone: true,
    });
    expect(docker.world().containers).toEqual([]);
  });

  it('waits for a removal already in progress (409) instead of failing', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const docker = new FakeDocker({
      images: [{ ref: 'img/db:1' }, { ref: 'img/proxy:1' }],
      background: (what) => (what.startsWith('removal') ? gate : Promise.resolve()),
    });
    const id = await createdService(docker);
    docker.removeSlowly(id);
    const removal = executeAction(removeContainer(service.name, id), context(docker));
    setTimeout(release, 20);
    await expect(removal).resolves.toMatchObject({ alreadyDone: true });
    expect(
      docker.calls.some((c) => c.op === 'container remove' && c.error?.includes('already in progress')),
    ).toBe(true);
    expect(docker.world().containers).toEqual([]);
  });

  it('after a timeout, checks whether the daemon removed it', async () => {
    const docker = engine({
      fault: (call) => (call.op === 'container remove' ? { kind: 'timeout-after' } : undefined),
    });
    const id = await createdService(docker);
    await expect(executeAction(removeContainer(service.name, id), context(docker))).resolves.toEqual({
      containerId: id,
    });
  });

  it('a server error that left the container in place is retryable', async () => {
    const docker = engine({
      fault: (call) =>
        call.op === 'container remove'
          ? { kind: 'error', statusCode: 500, message: 'device or resource busy' }
          : undefined,
    });
    const id = await createdService(docker);
    await expect(executeAction(removeContainer(service.name, id), context(docker))).rejects.toBeInstanceOf(
      RetryableError,
    );
  });
});

describe('disconnect-network and remove-network', () => {
  it('refuses (retryably) to remove a network with running endpoints, then removes it once detached', async () => {
    const docker = engine();
    const id = await createdService(docker);
    await executeAction(start(service), context(docker));
    const networkId = docker.world().networks.find((n) => n.name === taskNetwork.name)!.id;
    await expect(
      executeAction(removeNetwork(taskNetwork.name, networkId), context(docker)),
    ).rejects.toBeInstanceOf(RetryableError);
    await executeAction(disconnect(taskNetwork.name, networkId, id), context(docker));
    // Detaching again: it is no longer attached, which counts as done.
    expect(await executeAction(disconnect(taskNetwork.name, networkId, id), context(docker))).toMatchObject({
      alreadyDone: true,
    });
    await executeAction(removeNetwork(taskNetwork.name, networkId), context(docker));
    expect(await executeAction(removeNetwork(taskNetwork.name, networkId), context(docker))).toMatchObject({
      alreadyDone: true,
    });
    expect(await executeAction(disconnect(taskNetwork.name, networkId, id), context(docker))).toMatchObject({
      alreadyDone: true,
    });
  });
});

describe('pull-image', () => {
  it('does nothing for an image that is present', async () => {
    const docker = engine();
    expect(await executeAction(pull('img/db:1'), context(docker))).toMatchObject({ alreadyDone: true });
    expect(docker.calls.some((c) => c.op === 'image pull')).toBe(false);
  });

  it('pulls from a registry that has it; an image the registry does not know is terminal', async () => {
    const docker = new FakeDocker({ registry: [{ ref: 'img/new:1' }] });
    expect(await executeAction(pull('img/new:1'), context(docker))).toMatchObject({
      imageId: expect.any(String),
    });
    const error = await executeAction(pull('img/none:1'), context(docker)).catch((e: unknown) => e);
    expect((error as TerminalError).code).toBe('image-not-found');
  });

  it('without a registry, a pull fails retryably (the loop bounds the retries)', async () => {
    const docker = new FakeDocker();
    await expect(executeAction(pull('img/none:1'), context(docker))).rejects.toBeInstanceOf(RetryableError);
  });

  // What a failed pull reaches the executor as: dockerd 20.10.24 (Debian's build) answering through
  // dockerode, captured with registries on 127.0.0.1 that answered each way; no status code is a
  // line of the progress stream. Rows marked upstream are the wording of Docker's own 20.10 build.
  const answers: [
    string,
    number | undefined,
    string,
    'image-not-found' | 'image-pull-unauthorized' | 'bad-spec' | 'retryable',
  ][] = [
    [
      'repository does not exist (token registry, as Docker Hub answers)',
      404,
      "(HTTP code 404) unexpected - pull access denied for 127.0.0.1:5098/nope/x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied ",
      'image-not-found',
    ],
    [
      'manifest unknown (upstream)',
      404,
      '(HTTP code 404) unexpected - manifest for img/none:1 not found: manifest unknown: manifest unknown ',
      'image-not-found',
    ],
    ['manifest unknown', 500, '(HTTP code 500) server error - manifest unknown ', 'image-not-found'],
    ['name unknown', 500, '(HTTP code 500) server error - name unknown ', 'image-not-found'],
    // The registry refuses the (absent or wrong) login: terminal, and named as a login problem.
    ['denied', 500, '(HTTP code 500) server error - denied ', 'image-pull-unauthorized'],
    ['unauthorized', 500, '(HTTP code 500) server error - unauthorized ', 'image-pull-unauthorized'],
    [
      'a wrong password (distribution 2.8 through dockerd 20.10)',
      500,
      '(HTTP code 500) server error - Head "http://127.0.0.1:5000/v2/x/manifests/y": unauthorized: authentication required ',
      'image-pull-unauthorized',
    ],
    [
      'a registry 404 without an error body',
      500,
      '(HTTP code 500) server error - error parsing HTTP 404 response body: invalid character \'p\' after top-level value: "404 page not found" ',
      'image-not-found',
    ],
    [
      'no manifest for this platform (progress stream)',
      undefined,
      'no matching manifest for linux/amd64 in the manifest list entries',
      'image-not-found',
    ],
    [
      'invalid reference',
      400,
      '(HTTP code 400) unexpected - invalid reference format: repository name must be lowercase ',
      'bad-spec',
    ],
    [
      'no network: the registry name does not resolve',
      500,
      '(HTTP code 500) server error - Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host ',
      'retryable',
    ],
    [
      'registry refuses connections',
      500,
      '(HTTP code 500) server error - Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused ',
      'retryable',
    ],
    [
      'registry 500',
      500,
      '(HTTP code 500) server error - received unexpected HTTP status: 500 Internal Server Error ',
      'retryable',
    ],
    [
      'registry 503',
      500,
      '(HTTP code 500) server error - received unexpected HTTP status: 503 Service Unavailable ',
      'retryable',
    ],
    [
      'rate limited',
      500,
      '(HTTP code 500) server error - toomanyrequests: You have reached your pull rate limit. ',
      'retryable',
    ],
    [
      'a blob the registry lacks (progress stream)',
      undefined,
      'error pulling image configuration: download failed after attempts=1: unknown blob',
      'retryable',
    ],
    [
      'a blob download that failed (progress stream)',
      undefined,
      'error pulling image configuration: download failed after attempts=6: received unexpected HTTP status: 500 Internal Server Error',
      'retryable',
    ],
    [
      'the host refusing a write (not captured: a shape dockerd uses)',
      500,
      '(HTTP code 500) server error - failed to register layer: open /var/lib/docker/tmp/x: permission denied ',
      'retryable',
    ],
  ];

  it.each(answers)('%s', async (_name, statusCode, message, expected) => {
    const docker = engine({
      fault: (call) => (call.op === 'image pull' ? { kind: 'error', statusCode, message } : undefined),
    });
    const error = await executeAction(pull('img/none:1'), context(docker)).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (expected === 'retryable') expect(error).toBeInstanceOf(RetryableError);
    else expect(error).toMatchObject({ name: 'TerminalError', code: expected });
  });

  it("an image that cannot be had is named with the engine's answer and what to do about it", async () => {
    const docker = engine({
      fault: (call) =>
        call.op === 'image pull'
          ? { kind: 'error', statusCode: 500, message: '(HTTP code 500) server error - manifest unknown ' }
          : undefined,
    });
    const error = await executeAction(pull('img/none:1'), context(docker)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerminalError);
    expect((error as TerminalError).message).toBe(
      'image img/none:1 is not present locally and cannot be pulled (manifest unknown): ' +
        "load it into the worker's Docker engine, or check the image name and its registry",
    );
  });

  it('a pull timing out is retryable', async () => {
    const docker = engine({
      fault: (call) => (call.op === 'image pull' ? { kind: 'timeout-before' } : undefined),
    });
    await expect(executeAction(pull('img/none:1'), context(docker))).rejects.toBeInstanceOf(RetryableError);
  });
});
