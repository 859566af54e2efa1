/**
 * The reference host harness: this test plays generic-worker's part exactly as a worker feature
 * would drive `docker-services run` (docs/generic-worker.md). Like generic-worker with
 * `features.taskclusterProxy`, it makes the per-task network `gw-task-<taskId[:12]>-<runId>`
 * (labelled as a test object, so that the leftover check finds it if it leaks), starts the built
 * CLI as a child process with the worker's credentials in its environment, waits for the ready
 * file, runs the task container with `docker run` and the printed flags (as d2g's command line
 * would), and stops `run` with SIGTERM. Then: nothing of the task is left, the worker's network
 * still is, and the logs directory holds each service's redacted log.
 *
 * Also: a service that exits 3 (failure file, exit 3, nothing left); `run` SIGKILLed mid-startup
 * (`gc --active …` removes what it left); SIGTERM mid-startup (a cancel, exit 0); SIGHUP with a new credentials file (the proxy signs with
 * the new credentials, as the fake Taskcluster that verifies Hawk sees them).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDACTED } from '../../src/credentials/redact.js';
import { DEFAULT_PROXY_PORT } from '../../src/desired-state/config.js';
import { imageKey } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import type { ServiceEvent } from '../../src/library/phases.js';
import type { FailureFile, ReadyFile } from '../../src/cli/run-files.js';
import {
  IMAGES,
  dockerCli,
  eventually,
  removeMadeByThisRun,
  testDocker,
  testLabels,
  testOwnerId,
  testRunId,
} from '../support/docker.js';
import type { Seen } from '../proxy/fake-upstream.js';
import { slugid } from '../support/slugid.js';

const docker = testDocker();
const BIN = 'dist/cli/main.js';
const OWNER = testOwnerId('gw');
const PROVISIONER = 'ds-test';
const WORKER_TYPE = 'gw-harness';
const PROXY_IMAGE = IMAGES.proxy;
const UPSTREAM_ALIAS = 'tc-upstream';
const ROLE_PATTERN = `assume:docker-service-image:${PROVISIONER}/${WORKER_TYPE}/*`;
/** Generous: startup on this shared 2-core machine has taken over a minute under load. */
const STARTUP_S = 240;

const token = (): string => `tok-${randomBytes(18).toString('base64url')}`;
const WORKER = { clientId: 'static/ds-gw-worker', accessToken: token() };
const ROTATED = { clientId: 'static/ds-gw-worker-rotated', accessToken: token() };
/** Printed by a service, so that the redaction of its log can be seen. */
const SERVICE_SECRET = `svc-secret-${randomBytes(9).toString('hex')}`;

/** generic-worker's per-task network name (`gw-task-<taskId[:12]>-<runId>`). */
const workerNetworkName = (taskId: string, runId: number): string =>
  `gw-task-${taskId.slice(0, 12)}-${runId}`;

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ds-gw-'));
  expect(existsSync(BIN)).toBe(true); // `npm run build` (scripts/prepare.sh does it)
});

afterAll(async () => {
  // A failed case SIGKILLs its run, which leaves the task's services running: they must not load
  // the machine for the suites after this one. The harness's own objects (worker networks,
  // clients) go too; a worker network goes last, once nothing sits on it.
  const ownerIds = new Set([OWNER, testOwnerId('gw-gc')]);
  await removeMadeByThisRun(docker, (labels) => ownerIds.has(labels[Label.owner] ?? ''));
  await removeMadeByThisRun(docker, (labels) => labels['docker-services-test.role'] === 'gw-harness');
  await rm(work, { recursive: true, force: true });
});

interface Run {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  events: () => ServiceEvent[];
}

/** Starts `run` as the worker feature would: credentials in its environment, never in argv. */
function startRun(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [BIN, 'run', ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      TASKCLUSTER_ROOT_URL: `http://${UPSTREAM_ALIAS}`,
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    events: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as ServiceEvent),
  };
}

const credentialsEnv = (c: { clientId: string; accessToken: string }): Record<string, string> => ({
  TASKCLUSTER_CLIENT_ID: c.clientId,
  TASKCLUSTER_ACCESS_TOKEN: c.accessToken,
});

/** Waits for `check` while `run` lives; says what it printed if it exits or the wait runs out. */
async function whileRunning<T>(
  run: Run,
  check: () => Promise<T | undefined | false>,
  what: string,
): Promise<T> {
  // Not `eventually`: a run that exited will never bring what is waited for, so that is final at once.
  const deadline = Date.now() + (STARTUP_S + 30) * 1000;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (run.child.exitCode !== null)
      throw new Error(`run exited ${run.child.exitCode} before ${what}; stderr:\n${run.stderr()}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as T) : undefined;
}

/** Every container and network of the task, by its labels, as the docker CLI lists them. */
async function objectsOf(taskId: string): Promise<{ containers: string; networks: string }> {
  const filter = `label=${Label.taskId}=${taskId}`;
  return {
    containers: await dockerCli('ps', '-aq', '--filter', filter),
    networks: await dockerCli('network', 'ls', '-q', '--filter', filter),
  };
}
const NOTHING = { containers: '', networks: '' };

async function makeWorkerNetwork(taskId: string, runId: number): Promise<string> {
  const name = workerNetworkName(taskId, runId);
  await docker.createNetwork({
    Name: name,
    Driver: 'bridge',
    Labels: testLabels({ 'docker-services-test.role': 'gw-harness' }),
  });
  return name;
}

async function networkExists(name: string): Promise<boolean> {
  return (await docker.inspectNetwork(name))?.Name === name;
}

function runArgs(
  payload: string,
  taskId: string,
  network: string,
  dir: string,
  extra: string[] = [],
  owner = OWNER,
): string[] {
  return [
    payload,
    '--task-id',
    taskId,
    '--run-id',
    '0',
    '--owner-id',
    owner,
    '--provisioner-id',
    PROVISIONER,
    '--worker-type',
    WORKER_TYPE,
    '--proxy-image',
    PROXY_IMAGE,
    // The fixture images are in no registry: pulling a tag on every start (the default) would fail.
    '--pull-policy',
    'if-not-present',
    '--task-network',
    network,
    '--ready-file',
    join(dir, 'ready.json'),
    '--failure-file',
    join(dir, 'failure.json'),
    '--logs-dir',
    join(dir, 'logs'),
    '--output',
    'json',
    '--timeout',
    String(STARTUP_S),
    ...extra,
  ];
}

async function writePayload(dir: string, payload: unknown): Promise<string> {
  const path = join(dir, 'task.json');
  await writeFile(path, JSON.stringify(payload));
  return path;
}

describe('run under a generic-worker-like host', () => {
  it('ready file, every alias from the task container, SIGTERM: nothing left, the worker network kept, redacted logs', async () => {
    const taskId = slugid();
    const dir = await mkdtemp(join(work, 'main-'));
    // The fixture task, its web service first printing a secret of its env (redacted in its log).
    const task = JSON.parse(await readFile('fixtures/payloads/three-services.json', 'utf8')) as {
      payload: {
        services: {
          name: string;
          env?: Record<string, string>;
          command?: string[];
          healthCheck?: Record<string, unknown>;
        }[];
      };
    };
    const web = task.payload.services.find((s) => s.name === 'web')!;
    web.env = { WEB_SECRET: SERVICE_SECRET };
    // The images' probes (and the fixture's) give up after 2 s: on this shared machine under load
    // (a load average of 40 was seen) starting a probe alone can take that long, and every probe
    // failing turns a service that serves unhealthy. The same probes, with time to run.
    const patient = { interval: 2, timeout: 20, retries: 30 };
    const probes: Record<string, string[]> = {
      postgres: ['pg_isready', '-h', '127.0.0.1', '-U', 'postgres'],
      redis: ['redis-cli', 'ping'],
      web: web.healthCheck!.command as string[],
    };
    for (const service of task.payload.services)
      service.healthCheck = { command: probes[service.name], ...patient };
    web.command = ['sh', '-c', `echo "secret is $WEB_SECRET"; exec ${web.command!.join(' ')}`];
    const network = await makeWorkerNetwork(taskId, 0);
    const run = startRun(
      runArgs(await writePayload(dir, task), taskId, network, dir),
      credentialsEnv(WORKER),
    );
    try {
      const ready = await whileRunning(
        run,
        () => readJson<ReadyFile>(join(dir, 'ready.json')),
        'the ready file',
      );

      // The ready file, field by field, against what the engine says.
      expect(ready.version).toBe(1);
      expect(ready.taskId).toBe(taskId);
      expect(ready.runId).toBe(0);
      expect(ready.taskNetwork).toBe(network);
      expect(ready.dockerRunArgs).toEqual(['--network', network]);
      expect(ready.taskContainerOptions).toEqual({
        HostConfig: { NetworkMode: network },
        NetworkingConfig: { EndpointsConfig: { [network]: {} } },
      });
      expect(ready.services.map((s) => s.name)).toEqual(['postgres', 'redis', 'web']);
      for (const service of ready.services) {
        expect(service.alias).toBe(service.name);
        const container = (await docker.inspectContainer(service.containerId))!;
        expect(container.Name).toBe(`/ds-${taskId}-0_${service.name}`);
        expect(container.Image).toBe(service.imageId);
        // The service lives in its proxy's network namespace: the pod's endpoint is the proxy's.
        expect(container.HostConfig.NetworkMode).toBe(`container:${service.proxy.containerId}`);
        const proxy = (await docker.inspectContainer(service.proxy.containerId))!;
        expect(proxy.NetworkSettings.Networks[network]?.Aliases).toContain(service.alias);
        expect(proxy.Name).toBe(`/ds-${taskId}-0_${service.name}_proxy`);
        // Keyed on the image's identity: its repo digest when it has one (another suite may have
        // pushed the fixture to a local registry), else its id.
        const image = (await docker.inspectImage(service.imageId))!;
        const key = imageKey({ id: image.Id, repoDigests: image.RepoDigests ?? [] });
        expect(service.proxy.roleScope).toBe(
          `assume:docker-service-image:${PROVISIONER}/${WORKER_TYPE}/${key}`,
        );
        expect(proxy.Config.Cmd).toContain(service.proxy.roleScope);
        // The pod is on the worker's network only (no network of ours is made); the proxy in it
        // listens on loopback, which the task container cannot reach (test/integration/proxy.test.ts).
        expect(Object.keys(proxy.NetworkSettings.Networks)).toEqual([network]);
      }
      const started = run.events().filter((e) => e.type === 'started');
      expect(started.map((e) => `${e.service}/${e.role}`).sort()).toEqual(
        ['postgres', 'redis', 'web'].flatMap((s) => [`${s}/proxy`, `${s}/service`]),
      );

      // The task container, as d2g's `docker run` with the flags the ready file printed.
      const reached = await dockerCli(
        'run',
        '--rm',
        '--label',
        `docker-services-test.run=${testRunId()}`,
        '--label',
        'docker-services-test.role=gw-harness',
        ...ready.dockerRunArgs,
        IMAGES.debian,
        'bash',
        '-c',
        [
          'redis-cli -h redis ping',
          "PGPASSWORD=fixture-password psql -h postgres -U postgres -tAc 'select 40 + 2'",
          // nc's job with bash's /dev/tcp (the Debian image has no nc); busybox wget segfaults on user networks.
          'exec 3<>/dev/tcp/web/8080 && printf "GET /hostname HTTP/1.0\\r\\n\\r\\n" >&3 && tail -1 <&3',
        ].join(' && '),
      );
      // httpd serves the web container's /etc/hostname: in its proxy's namespace it has the pod's
      // hostname, the namespace owner's short container id.
      const podId = ready.services.find((s) => s.name === 'web')!.proxy.containerId;
      expect(reached.split('\n').map((l) => l.trim())).toEqual(['PONG', '42', podId.slice(0, 12)]);

      // SIGTERM, and a second one during the teardown: it goes on to the end.
      const sentAt = Date.now();
      run.child.kill('SIGTERM');
      await eventually(async () => /stopping; removing/.test(run.stderr()), 'the teardown to begin', 60_000);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      // Not asserted (a busy machine says nothing about the code): printed for the docs' bound.
      console.log(`run: SIGTERM to exit with 3 services: ${Date.now() - sentAt} ms`);
      expect(run.stderr()).toMatch(/teardown under way, it goes on/);
      expect(run.stderr()).toMatch(/stopped; nothing of task/);
      expect(await objectsOf(taskId)).toEqual(NOTHING);
      expect(await networkExists(network)).toBe(true);

      const logs = join(dir, 'logs');
      expect((await readdir(logs)).sort()).toEqual(
        ['postgres', 'redis', 'web'].flatMap((s) => [`${s}.log`, `${s}_proxy.log`]).sort(),
      );
      const webLog = await readFile(join(logs, 'web.log'), 'utf8');
      expect(webLog).toContain(`secret is ${REDACTED}`);
      for (const name of await readdir(logs)) {
        const text = await readFile(join(logs, name), 'utf8');
        expect(text).not.toContain(SERVICE_SECRET);
        expect(text).not.toContain(WORKER.accessToken);
      }
      expect(await readFile(join(logs, 'redis.log'), 'utf8')).toMatch(/Ready to accept connections/);
      expect(existsSync(join(dir, 'failure.json'))).toBe(false);
      expect(run.stdout() + run.stderr()).not.toContain(WORKER.accessToken);
    } finally {
      run.child.kill('SIGKILL');
    }
    await docker.removeNetwork(network);
  }, 600_000);

  it('a service that exits 3: the failure file says so, exit 3, nothing of the task left', async () => {
    const taskId = slugid();
    const dir = await mkdtemp(join(work, 'exit3-'));
    const payload = {
      services: [{ name: 'crash', image: IMAGES.busybox, command: ['sh', '-c', 'echo giving up; exit 3'] }],
    };
    const network = await makeWorkerNetwork(taskId, 0);
    const run = startRun(
      runArgs(await writePayload(dir, payload), taskId, network, dir),
      credentialsEnv(WORKER),
    );
    try {
      expect(await exitOf(run)).toBe(3);
    } finally {
      run.child.kill('SIGKILL');
    }
    const failure = (await readJson<FailureFile>(join(dir, 'failure.json')))!;
    expect(failure).toMatchObject({
      version: 1,
      taskId,
      runId: 0,
      stage: 'startup',
      service: 'crash',
      role: 'service',
      reason: { kind: 'exited', exitCode: 3 },
    });
    expect(failure.logTail).toContain('giving up');
    expect(existsSync(join(dir, 'ready.json'))).toBe(false);
    expect(run.stderr()).toMatch(/service crash failed to start/);
    expect(await objectsOf(taskId)).toEqual(NOTHING);
    expect(await networkExists(network)).toBe(true);
    await docker.removeNetwork(network);
  }, 400_000);

  it('run SIGKILLed mid-startup: gc --active removes what it left', async () => {
    const taskId = slugid();
    const dir = await mkdtemp(join(work, 'kill-'));
    const payload = { services: [{ name: 'idle', image: IMAGES.busybox, command: ['sleep', '600'] }] };
    const network = await makeWorkerNetwork(taskId, 0);
    // An owner of its own: gc removes every inactive task of its owner.
    const owner = testOwnerId('gw-gc');
    const run = startRun(
      runArgs(await writePayload(dir, payload), taskId, network, dir, [], owner),
      credentialsEnv(WORKER),
    );
    try {
      // An event means the library has made an object of the task.
      await whileRunning(run, async () => run.events().some((e) => e.type === 'created'), 'a created event');
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe(null);
    } finally {
      run.child.kill('SIGKILL');
    }
    expect(await objectsOf(taskId)).not.toEqual(NOTHING);
    const gc = await cli(['gc', '--owner-id', owner, '--active', slugid()]);
    expect(gc).toMatch(new RegExp(`task ${taskId} run 0: removed`));
    expect(await objectsOf(taskId)).toEqual(NOTHING);
    expect(await networkExists(network)).toBe(true);
    await docker.removeNetwork(network);
  }, 400_000);

  it('SIGTERM before it is ready: the start is cancelled, nothing left, exit 0 without a failure file', async () => {
    const taskId = slugid();
    const dir = await mkdtemp(join(work, 'cancel-'));
    const payload = { services: [{ name: 'idle', image: IMAGES.busybox, command: ['sleep', '600'] }] };
    const network = await makeWorkerNetwork(taskId, 0);
    const run = startRun(
      runArgs(await writePayload(dir, payload), taskId, network, dir),
      credentialsEnv(WORKER),
    );
    try {
      await whileRunning(run, async () => run.events().some((e) => e.type === 'created'), 'a created event');
      run.child.kill('SIGTERM');
      expect(await exitOf(run)).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
    expect(run.stderr()).toMatch(/stopped before the services were ready; nothing of the task is left/);
    expect(existsSync(join(dir, 'ready.json'))).toBe(false);
    expect(existsSync(join(dir, 'failure.json'))).toBe(false);
    expect(await objectsOf(taskId)).toEqual(NOTHING);
    expect(await networkExists(network)).toBe(true);
    await docker.removeNetwork(network);
  }, 400_000);

  it('SIGHUP with a new credentials file: the proxy signs with the new credentials', async () => {
    const taskId = slugid();
    const dir = await mkdtemp(join(work, 'hup-'));
    const credentialsFile = join(dir, 'credentials.json');
    await writeFile(credentialsFile, JSON.stringify(WORKER));
    const payload = { services: [{ name: 'idle', image: IMAGES.busybox, command: ['sleep', '600'] }] };
    const network = await makeWorkerNetwork(taskId, 0);
    const run = startRun(
      runArgs(await writePayload(dir, payload), taskId, network, dir, [
        '--credentials-file',
        credentialsFile,
      ]),
    );
    let upstream: string | undefined;
    let client: string | undefined;
    try {
      const ready = await whileRunning(
        run,
        () => readJson<ReadyFile>(join(dir, 'ready.json')),
        'the ready file',
      );
      const roleScope = ready.services[0]!.proxy.roleScope;
      // The fake Taskcluster on the task network (the worker's), as the proxies' root URL names it.
      upstream = await docker.createContainer({
        name: `ds-test-${testRunId()}-gw-upstream`,
        Image: 'ds-fixtures/upstream:latest',
        Env: [
          `UPSTREAM_CLIENTS=${JSON.stringify({
            [WORKER.clientId]: { accessToken: WORKER.accessToken, scopes: [ROLE_PATTERN] },
            [ROTATED.clientId]: { accessToken: ROTATED.accessToken, scopes: [ROLE_PATTERN] },
          })}`,
        ],
        Labels: testLabels({ 'docker-services-test.role': 'gw-harness' }),
        HostConfig: { NetworkMode: network },
        NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [UPSTREAM_ALIAS] } } },
      });
      await docker.startContainer(upstream);
      // A client in the service's pod (its proxy's network namespace), where the proxy listens.
      client = await docker.createContainer({
        name: `ds-test-${testRunId()}-gw-client`,
        Image: 'ds-fixtures/upstream:latest',
        Entrypoint: ['sleep', '600'],
        Labels: testLabels({ 'docker-services-test.role': 'gw-harness' }),
        HostConfig: { NetworkMode: `container:${ready.services[0]!.proxy.containerId}` },
      });
      await docker.startContainer(client);

      expect(await throughProxy(client)).toMatchObject({
        valid: true,
        clientId: WORKER.clientId,
        certificateScopes: [roleScope],
      });

      await writeFile(credentialsFile, JSON.stringify(ROTATED));
      run.child.kill('SIGHUP');
      await whileRunning(run, async () => /new credentials pushed to 1 proxy/.test(run.stderr()), 'the push');
      expect(await throughProxy(client)).toMatchObject({
        valid: true,
        clientId: ROTATED.clientId,
        certificateScopes: [roleScope],
      });

      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.stdout() + run.stderr()).not.toContain(ROTATED.accessToken);
      expect(run.stdout() + run.stderr()).not.toContain(WORKER.accessToken);
    } finally {
      run.child.kill('SIGKILL');
      if (client) await docker.removeContainer(client).catch(() => {});
      if (upstream) await docker.removeContainer(upstream).catch(() => {});
    }
    expect(await objectsOf(taskId)).toEqual(NOTHING);
    await docker.removeNetwork(network);
  }, 400_000);
});

// From a container in a service's pod, through the proxy (`$TASKCLUSTER_PROXY_URL`) to the fake
// Taskcluster, which answers with what it saw of the request's Hawk credentials.
const FETCH = `
require('http').get(process.argv[1], { timeout: 10000 }, (res) => {
  let body = '';
  res.on('data', (d) => (body += d));
  res.on('end', () => { process.stdout.write(body); process.exit(res.statusCode < 400 ? 0 : 3); });
}).on('error', (e) => { console.log('ERR ' + (e.code || e.message)); process.exit(4); });`;

async function throughProxy(container: string): Promise<Seen> {
  const out = await eventually(
    async () => {
      const text = await dockerCli(
        'exec',
        container,
        'node',
        '-e',
        FETCH,
        `http://taskcluster:${DEFAULT_PROXY_PORT}/api/queue/v1/ping`,
      );
      return text.startsWith('{') ? text : undefined;
    },
    'an answer through the proxy',
    60_000,
  );
  return JSON.parse(out) as Seen;
}

/** `run`'s exit status, once it exits on its own; a run that does not is killed and its stderr shown. */
async function exitOf(run: Run): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        run.child.kill('SIGKILL');
        reject(new Error(`run did not exit on its own; stderr:\n${run.stderr()}`));
      },
      (STARTUP_S + 60) * 1000,
    );
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The built CLI, run to completion (for `gc`). */
async function cli(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`docker-services ${args.join(' ')} exited ${code}: ${out}`);
  return out;
}
