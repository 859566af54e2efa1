/**
 * Auth proxies end to end on the real engine, driven through the library: `compile` → the
 * reconcile loop (`converge`) → the executors, with the create-container executor asking a
 * `CredentialsSource` for each proxy's env.
 *
 * Two tasks run at the same time, one per credential mode (permanent worker credentials, from
 * which the proxy's are minted; temporary worker credentials, handed over and restricted by the
 * proxy's authorized scopes). Each has one service, `relay` (the node image), which answers a GET
 * by calling `$TASKCLUSTER_PROXY_URL/api/queue/v1/ping` through its proxy, which shares its network
 * namespace and listens on its loopback only. A fake Taskcluster (`ds-fixtures/upstream`, verifying
 * Hawk with the `hawk` library) sits on the task network as `tc-upstream`, which the worker
 * configuration names as root URL. The task container is created by the test as docker-worker
 * would, with `taskContainerOptions()` merged.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import taskcluster from 'taskcluster-client';
import winston from 'winston';
import { CredentialsSource, secretsOf } from '../../src/credentials/index.js';
import type { WorkerCredentials } from '../../src/credentials/index.js';
import { compile, emptyGraph } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import { taskContainerOptions } from '../../src/desired-state/task-container.js';
import type { DesiredState } from '../../src/desired-state/types.js';
import type { ContainerInspect } from '../../src/docker/client.js';
import { putCredentialsByExec } from '../../src/library/credential-push.js';
import { converge } from '../../src/loop/reconcile.js';
import { formatPlan } from '../../src/reconciler/format.js';
import {
  IMAGES,
  removeMadeByThisRun,
  testDocker,
  testLabels,
  testOwnerId,
  testRunId,
} from '../support/docker.js';
import type { Seen } from '../proxy/fake-upstream.js';

const docker = testDocker();
const exec = promisify(execFile);
const OWNER = testOwnerId('proxy-e2e');
const PROVISIONER = 'ds-test';
const WORKER_TYPE = 'proxy-e2e';
const UPSTREAM_ALIAS = 'tc-upstream';
const ROLE_PATTERN = `assume:docker-service-image:${PROVISIONER}/${WORKER_TYPE}/*`;
const TEST_ROLE = 'docker-services-test.role';

const config = defaultWorkerConfig({
  ownerId: OWNER,
  // Fixture images are built here, never in a registry: nothing to pull.
  images: { pullPolicy: 'if-not-present' },
  provisionerId: PROVISIONER,
  workerType: WORKER_TYPE,
  rootUrl: `http://${UPSTREAM_ALIAS}`,
  proxy: { image: IMAGES.proxy },
});
const PROXY_PORT = config.proxy.port;

const token = (): string => `tok-${randomBytes(18).toString('base64url')}`;
const taskId = (): string => randomBytes(16).toString('base64url');

// The clients the fake Taskcluster knows: a worker with permanent credentials, a rotated one, and
// the worker-manager-like issuer of temporary worker credentials.
const PERMANENT = { clientId: 'static/ds-test-worker', accessToken: token() };
const PERMANENT_ROTATED = { clientId: 'static/ds-test-worker-rotated', accessToken: token() };
const ISSUER = { clientId: 'static/worker-manager', accessToken: token() };
const WORKER_POOL_SCOPES = [`assume:worker-pool:${PROVISIONER}/${WORKER_TYPE}`, ROLE_PATTERN];
const UPSTREAM_CLIENTS = {
  [PERMANENT.clientId]: { accessToken: PERMANENT.accessToken, scopes: [ROLE_PATTERN] },
  [PERMANENT_ROTATED.clientId]: { accessToken: PERMANENT_ROTATED.accessToken, scopes: [ROLE_PATTERN] },
  [ISSUER.clientId]: {
    accessToken: ISSUER.accessToken,
    scopes: ['assume:worker-pool:*', 'assume:docker-service-image:*'],
  },
};

/** Worker credentials as worker-manager hands them out: named temporary credentials. */
function temporaryWorkerCredentials(workerId: string): WorkerCredentials {
  const now = Date.now();
  return taskcluster.createTemporaryCredentials({
    clientId: `worker/${PROVISIONER}/${WORKER_TYPE}/group/${workerId}`,
    start: new Date(now - 5 * 60_000),
    expiry: new Date(now + 2 * 3_600_000),
    scopes: WORKER_POOL_SCOPES,
    credentials: ISSUER,
  }) as WorkerCredentials;
}

// The service: answers /health itself; any other GET goes through its proxy to Taskcluster.
const RELAY = `
const http = require('http');
http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  http.get(process.env.TASKCLUSTER_PROXY_URL + '/api/queue/v1/ping', (up) => {
    let body = '';
    up.on('data', (d) => (body += d));
    up.on('end', () => { res.writeHead(up.statusCode, { 'content-type': 'application/json' }); res.end(body); });
  }).on('error', (e) => { res.writeHead(502); res.end('relay: ' + e.message); });
}).listen(8080);`;
const RELAY_HEALTH = `require('http').get('http://127.0.0.1:8080/health', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))`;

const payload = {
  services: [
    {
      name: 'relay',
      image: IMAGES.node,
      command: ['node', '-e', RELAY],
      healthCheck: { command: ['node', '-e', RELAY_HEALTH], interval: 0.5, retries: 20 },
    },
  ],
};

// Everything the library logged and every plan it made, to be searched for secrets.
const captured: string[] = [];
const logger = winston.createLogger({
  level: 'debug',
  format: winston.format.json(),
  transports: [
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk, _encoding, callback) {
          captured.push(String(chunk));
          callback();
        },
      }),
    }),
  ],
});

interface Task {
  mode: 'permanent' | 'temporary';
  desired: DesiredState;
  source: CredentialsSource;
  worker: WorkerCredentials;
  rotated: WorkerCredentials;
  taskNetwork: string;
  taskContainer: string;
  upstream: string;
}

async function converged(desired: DesiredState, source: CredentialsSource): Promise<void> {
  await converge({
    docker,
    desired,
    execute: { credentials: source.credentials, logger },
    until: desired.containers.length === 0 ? 'converged' : 'ready',
    deadline: Date.now() + 90_000,
    logger,
    onEvent: (event) => {
      if (event.type === 'planned') captured.push(formatPlan(event.plan, 'text'));
    },
  });
}

async function startTask(mode: Task['mode']): Promise<Task> {
  const worker = mode === 'permanent' ? PERMANENT : temporaryWorkerCredentials(`w1-${testRunId()}`);
  const rotated = mode === 'permanent' ? PERMANENT_ROTATED : temporaryWorkerCredentials(`w2-${testRunId()}`);
  const desired = compile(payload, { config, taskId: taskId(), runId: 0, scopes: [] });
  const source = new CredentialsSource({
    workerCredentials: worker,
    deadline: new Date(Date.now() + 3_600_000),
    logger,
  });
  await converged(desired, source);
  // One network per task: the services' pods, the task container, and here the fake Taskcluster.
  expect(desired.networks.map((n) => n.role)).toEqual(['task-network']);
  const taskNetwork = desired.networks[0]!.name;
  const upstream = await docker.createContainer({
    name: `ds-test-${testRunId()}-upstream-${mode}`,
    Image: 'ds-fixtures/upstream:latest',
    Env: [`UPSTREAM_CLIENTS=${JSON.stringify(UPSTREAM_CLIENTS)}`],
    Labels: testLabels({ [TEST_ROLE]: 'upstream' }),
    HostConfig: { NetworkMode: taskNetwork },
    NetworkingConfig: { EndpointsConfig: { [taskNetwork]: { Aliases: [UPSTREAM_ALIAS] } } },
  });
  await docker.startContainer(upstream);
  // The task container, as docker-worker creates it: its own options plus what the library hands back.
  const taskContainer = await docker.createContainer({
    name: `ds-test-${testRunId()}-task-${mode}`,
    Image: IMAGES.node,
    Cmd: ['sleep', '600'],
    Labels: testLabels({ [TEST_ROLE]: 'task' }),
    ...taskContainerOptions(desired),
  });
  await docker.startContainer(taskContainer);
  return { mode, desired, source, worker, rotated, taskNetwork, taskContainer, upstream };
}

/** Runs a command in a container; never throws on a non-zero exit. */
async function run(container: string, argv: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await exec('docker', ['exec', container, ...argv], { timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// The task's HTTP client: prints the body (exit 0 on < 400), or `ERR <code>` and exits 4 when it
// cannot connect, so that a refusal test sees *why* a request failed.
const FETCH = `
const [url, ms] = process.argv.slice(1);
const req = require('http').get(url, { timeout: Number(ms) }, (res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => { process.stdout.write(body); process.exit(res.statusCode < 400 ? 0 : 3); });
});
req.on('timeout', () => { req.destroy(); console.log('ERR timeout'); process.exit(4); });
req.on('error', (e) => { console.log('ERR ' + (e.code || e.message)); process.exit(4); });`;

const fetchFrom = (container: string, url: string, timeoutMs = 3_000) =>
  run(container, ['node', '-e', FETCH, url, String(timeoutMs)]);
/** `getent hosts`: exit 0 when the name resolves, 2 when it does not. */
const resolveFrom = (container: string, name: string) => run(container, ['getent', 'hosts', name]);

/**
 * A probe for reachability that sends a single SYN (no retransmission within 900 ms). dockerd 20.10
 * re-inserts FORWARD's jump to DOCKER-ISOLATION-STAGE-1 (delete, then insert) whenever any
 * network is created or removed, so while other tests churn networks there are windows of a few
 * milliseconds in which cross-bridge traffic is not dropped; a probe with retransmissions over
 * seconds can slip through one. A real hole (a shared network, a link) answers every SYN.
 */
const UNREACHABLE_PROBE_MS = 900;

/** Refused: the address answers, nothing listens on that port (the proxy listens on loopback only). */
function expectRefused(result: { code: number; out: string }): void {
  expect(result).toEqual({ code: 4, out: expect.stringMatching(/^ERR ECONNREFUSED\b/) });
}
/** Unreachable: the connection never got an answer (dockerd's isolation rules drop it). */
function expectUnreachable(result: { code: number; out: string }): void {
  expect(result).toEqual({
    code: 4,
    out: expect.stringMatching(/^ERR (timeout|EHOSTUNREACH|ENETUNREACH)\b/),
  });
}
function expectUnresolvable(result: { code: number; out: string }): void {
  expect(result.code).toBe(2);
}

/** The request task container → relay → http://taskcluster → upstream; what the upstream saw. */
async function callThroughService(task: Task): Promise<Seen> {
  let last = { code: -1, out: '' };
  for (let attempt = 0; attempt < 50; attempt++) {
    last = await fetchFrom(task.taskContainer, 'http://relay:8080/', 10_000);
    if (last.code === 0) return JSON.parse(last.out) as Seen;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the task could not reach relay: ${last.code} ${last.out}`);
}

async function inspectOurs(task: Task, role: 'proxy' | 'service'): Promise<ContainerInspect> {
  const node = task.desired.containers.find((c) => c.role === role)!;
  return (await docker.inspectContainer(node.name))!;
}

function ipOn(container: ContainerInspect, network: string): string {
  return container.NetworkSettings.Networks[network]!.IPAddress;
}

let permanent: Task;
let temporary: Task;
let roleScope: string;

beforeAll(async () => {
  const image = (await docker.inspectImage(IMAGES.node))!;
  // The node fixture is built locally: no repo digest, so its key is the local image id.
  expect(image.RepoDigests ?? []).toEqual([]);
  roleScope = `assume:docker-service-image:${PROVISIONER}/${WORKER_TYPE}/${image.Id}`;
  [permanent, temporary] = await Promise.all([startTask('permanent'), startTask('temporary')]);
}, 150_000);

afterAll(async () => {
  try {
    // The library takes its own objects down (the empty graph); the test removes what it made.
    for (const task of [permanent, temporary]) {
      if (!task) continue;
      await docker.removeContainer(task.taskContainer).catch(() => {});
      await docker.removeContainer(task.upstream).catch(() => {});
      await converged(emptyGraph(task.desired.owner), task.source).catch(() => {});
    }
  } finally {
    await removeMadeByThisRun(
      docker,
      (labels) =>
        labels[Label.owner] === OWNER || labels[TEST_ROLE] === 'task' || labels[TEST_ROLE] === 'upstream',
    );
  }
}, 120_000);

describe('a request from the task through its service and the service proxy', () => {
  it('with permanent worker credentials: signed with minted credentials that hold only the role scope', async () => {
    const seen = await callThroughService(permanent);
    expect(seen).toMatchObject({
      valid: true,
      error: null,
      clientId: PERMANENT.clientId,
      certificateScopes: [roleScope],
      authorizedScopes: [roleScope],
      scopes: [roleScope],
      host: UPSTREAM_ALIAS,
      resource: '/api/queue/v1/ping',
    });
  });

  it("with temporary worker credentials: the worker's own, restricted to the role scope", async () => {
    const seen = await callThroughService(temporary);
    expect(seen).toMatchObject({
      valid: true,
      error: null,
      clientId: temporary.worker.clientId,
      certificateScopes: WORKER_POOL_SCOPES,
      authorizedScopes: [roleScope],
      scopes: [roleScope],
    });
  });
});

describe('isolation', () => {
  it('the task container reaches its service, and is refused on the proxy port of that same address', async () => {
    for (const task of [permanent, temporary]) {
      const proxy = await inspectOurs(task, 'proxy');
      const podIp = ipOn(proxy, task.taskNetwork);
      const service = await inspectOurs(task, 'service');
      // The service has no endpoint of its own: it is in its proxy's namespace, reached at its address.
      expect(service.HostConfig.NetworkMode).toBe(`container:${proxy.Id}`);
      expect(Object.keys(service.NetworkSettings.Networks ?? {})).toEqual([]);
      // Controls: the service resolves and answers with the same tools, on the pod's address.
      expect((await resolveFrom(task.taskContainer, 'relay')).out).toContain(podIp);
      expect((await fetchFrom(task.taskContainer, 'http://relay:8080/health')).code).toBe(0);
      expect((await fetchFrom(task.taskContainer, `http://${podIp}:8080/health`)).code).toBe(0);
      // `taskcluster` is a name in the pod's /etc/hosts, not on the network.
      expectUnresolvable(await resolveFrom(task.taskContainer, 'taskcluster'));
      // The proxy listens on the pod's loopback: its port on the pod's address refuses at once.
      expectRefused(await fetchFrom(task.taskContainer, `http://relay:${PROXY_PORT}/__ready`));
      expectRefused(await fetchFrom(task.taskContainer, `http://${podIp}:${PROXY_PORT}/__ready`));
      expectRefused(await fetchFrom(task.taskContainer, `http://${podIp}:80/__ready`));
      // Control for the refusals: inside the pod the same port answers, by the URL the service is given.
      const env = service.Config.Env ?? [];
      expect(env).toContain(`TASKCLUSTER_PROXY_URL=http://taskcluster:${PROXY_PORT}`);
      const fromService = await fetchFrom(service.Id, `http://taskcluster:${PROXY_PORT}/__ready`);
      expect(fromService.code).toBe(0);
    }
  });

  it("a second task can neither resolve nor reach the first task's services and proxies", async () => {
    for (const [from, to] of [
      [temporary, permanent],
      [permanent, temporary],
    ] as const) {
      const service = await inspectOurs(to, 'service');
      const proxy = await inspectOurs(to, 'proxy');
      const serviceName = service.Name.replace(/^\//, '');
      const proxyName = proxy.Name.replace(/^\//, '');
      const ownService = (await inspectOurs(from, 'service')).Name.replace(/^\//, '');
      // Control: a container name of its own task resolves (the pod's, its proxy's).
      expect((await resolveFrom(from.taskContainer, `${ownService}_proxy`)).code).toBe(0);
      expectUnresolvable(await resolveFrom(from.taskContainer, serviceName));
      expectUnresolvable(await resolveFrom(from.taskContainer, proxyName));
      // The pod's only endpoints are its proxy's: on another task's network, dropped, on any port.
      for (const network of Object.keys(proxy.NetworkSettings.Networks)) {
        for (const port of [8080, PROXY_PORT])
          expectUnreachable(
            await fetchFrom(
              from.taskContainer,
              `http://${ipOn(proxy, network)}:${port}/__ready`,
              UNREACHABLE_PROBE_MS,
            ),
          );
      }
    }
  }, 90_000);
});

describe('rotation', () => {
  it("after the worker's credentials change, the next request is signed with the new ones", async () => {
    for (const task of [permanent, temporary]) {
      const proxy = await inspectOurs(task, 'proxy');
      const proxyRole = (proxy.Config.Cmd ?? []).find((arg) => arg.startsWith('assume:'))!;
      expect(proxyRole).toBe(roleScope);
      // The proxy listens in its pod only: the push goes in by exec, the body on stdin.
      const pushed = await task.source.updateCredentials(task.rotated, [
        {
          name: proxy.Name,
          roleScope: proxyRole,
          put: (body) => putCredentialsByExec(docker, proxy.Id, body),
        },
      ]);
      expect(pushed).toHaveLength(1);
      const seen = await callThroughService(task);
      expect(seen).toMatchObject({
        valid: true,
        clientId: task.rotated.clientId,
        authorizedScopes: [roleScope],
      });
      if (task.mode === 'permanent') expect(seen.certificateScopes).toEqual([roleScope]);
    }
  });
});

describe('secrets', () => {
  async function allSecrets(): Promise<string[]> {
    const secrets = new Set<string>();
    for (const credentials of [
      PERMANENT,
      PERMANENT_ROTATED,
      ISSUER,
      permanent.worker,
      temporary.worker,
      permanent.rotated,
      temporary.rotated,
    ])
      for (const s of secretsOf(credentials)) secrets.add(s);
    // What the proxies hold (minted or handed over) is secret too.
    for (const task of [permanent, temporary]) {
      const env = (await inspectOurs(task, 'proxy')).Config.Env ?? [];
      for (const entry of env) {
        const [name, value = ''] = entry.split(/=(.*)/s);
        if (name === 'TASKCLUSTER_ACCESS_TOKEN' || name === 'TASKCLUSTER_CERTIFICATE')
          for (const s of secretsOf(
            name === 'TASKCLUSTER_ACCESS_TOKEN' ? { accessToken: value } : { certificate: value },
          ))
            secrets.add(s);
      }
    }
    return [...secrets];
  }

  const leaks = (text: string, secrets: string[]): string[] =>
    secrets.filter((s) => text.includes(s)).map((s) => `${s.slice(0, 4)}…`);

  it('the task container sees no *_ENV_* entries and no credential', async () => {
    const secrets = await allSecrets();
    for (const task of [permanent, temporary]) {
      const { code, out } = await run(task.taskContainer, ['env']);
      expect(code).toBe(0);
      expect(out).not.toMatch(/_ENV_/);
      expect(out).not.toMatch(/TASKCLUSTER_(ACCESS_TOKEN|CERTIFICATE|CLIENT_ID)/);
      expect(leaks(out, secrets)).toEqual([]);
      // Nor does the service: it reaches its proxy on loopback, never by a link that copies env.
      const service = await run((await inspectOurs(task, 'service')).Id, ['env']);
      expect(service.code).toBe(0);
      expect(service.out).toMatch(
        new RegExp(`^TASKCLUSTER_PROXY_URL=http://taskcluster:${PROXY_PORT}$`, 'm'),
      );
      expect(service.out).not.toMatch(/_ENV_|TASKCLUSTER_(ACCESS_TOKEN|CERTIFICATE)/);
      expect(leaks(service.out, secrets)).toEqual([]);
    }
  });

  it('docker inspect of every container shows no secret in Cmd or Labels, nor in the Env of services and tasks', async () => {
    const secrets = await allSecrets();
    const containers = (await docker.listContainers({})).filter(
      (c) => c.Labels?.[Label.owner] === OWNER || c.Labels?.['docker-services-test.run'] === testRunId(),
    );
    const ours = containers.filter((c) => c.Labels?.[Label.owner] === OWNER);
    expect(ours.map((c) => c.Labels[Label.role]).sort()).toEqual(['proxy', 'proxy', 'service', 'service']);
    for (const summary of containers) {
      const inspect = (await docker.inspectContainer(summary.Id))!;
      expect(leaks(JSON.stringify(inspect.Config.Cmd ?? []), secrets)).toEqual([]);
      expect(leaks(JSON.stringify(inspect.Config.Labels ?? {}), secrets)).toEqual([]);
      expect(leaks(JSON.stringify(inspect.Config.Entrypoint ?? []), secrets)).toEqual([]);
      const role = inspect.Config.Labels?.[Label.role] ?? inspect.Config.Labels?.[TEST_ROLE];
      if (role === 'service' || role === 'task') {
        expect(leaks(JSON.stringify(inspect.Config.Env ?? []), secrets)).toEqual([]);
        expect(
          (inspect.Config.Env ?? []).filter((e) => /_ENV_|^TASKCLUSTER_(ACCESS_TOKEN|CERTIFICATE)=/.test(e)),
        ).toEqual([]);
      }
      if (role === 'proxy') {
        // Control for the search above: the proxy's credentials are in its Env, and found there.
        expect(leaks(JSON.stringify(inspect.Config.Env ?? []), secrets).length).toBeGreaterThan(0);
      }
      if (summary.Labels?.[Label.owner] === OWNER) {
        // No legacy links (they copy the target's env), no published ports, no restart policy.
        expect(inspect.HostConfig.Links ?? []).toEqual([]);
        expect(inspect.HostConfig.PortBindings ?? {}).toEqual({});
        expect(inspect.HostConfig.RestartPolicy?.Name ?? 'no').toBe('no');
      }
    }
  });

  it('no secret appears in any log line or plan output captured during the test', async () => {
    const secrets = await allSecrets();
    const lines = [...captured];
    const containers = (await docker.listContainers({})).filter(
      (c) => c.Labels?.[Label.owner] === OWNER || c.Labels?.['docker-services-test.run'] === testRunId(),
    );
    for (const c of containers) lines.push(await docker.containerLogs(c.Id, {}));
    expect(captured.some((l) => l.includes('create-container'))).toBe(true);
    expect(lines.join('\n')).toMatch(/GET \/api\/queue\/v1\/ping/);
    expect(leaks(lines.join('\n'), secrets)).toEqual([]);
  });
});
