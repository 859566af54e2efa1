/**
 * The loop, teardown and garbage collection on the real engine with the local images: three
 * services (redis, postgres, busybox) and their proxies converge and are reachable by alias from
 * the task network; a killed service and one removed from outside come back; `down` leaves
 * nothing; a library process SIGKILLed mid-`up` leaves objects that `collectGarbage` removes; a
 * decoy container and network that are not ours stay untouched throughout.
 *
 * The child process runs `test/integration/reconcile-child.ts` under `node --import tsx`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Subject, filter, firstValueFrom, share, timeout } from 'rxjs';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { Label } from '../../src/desired-state/labels.js';
import type { DesiredState } from '../../src/desired-state/types.js';
import type { RefreshRequest } from '../../src/observed-state/requests.js';
import { observe } from '../../src/observed-state/observe.js';
import { scopeOf } from '../../src/observed-state/scope.js';
import { converge, reconcile, type LoopEvent } from '../../src/loop/reconcile.js';
import { collectGarbage, down } from '../../src/loop/teardown.js';
import {
  IMAGES,
  dockerCli,
  removeMadeByThisRun,
  runToCompletion,
  testDocker,
  testLabels,
  testOwnerId,
} from '../support/docker.js';

const docker = testDocker();
const ownerId = testOwnerId('reconcile');
const childOwnerId = testOwnerId('reconcile-child');
const PROXY_IMAGE = IMAGES.proxy;
const credentials = async () => ({ TASKCLUSTER_CLIENT_ID: 'dummy', TASKCLUSTER_ACCESS_TOKEN: 'dummy' });
const suite = { 'docker-services-test.suite': 'reconcile' };

function taskId(): string {
  // 22 characters of the slugid alphabet.
  return `it${randomBytes(15).toString('base64url')}`.slice(0, 22);
}

const payload = {
  services: [
    { name: 'redis', image: IMAGES.redis },
    { name: 'pg', image: IMAGES.postgres, env: { POSTGRES_PASSWORD: 'integration-pw' } },
    {
      name: 'web',
      image: IMAGES.busybox,
      command: [
        'sh',
        '-c',
        'mkdir -p /www && echo hello-web > /www/index.html && exec httpd -f -p 8080 -h /www',
      ],
    },
  ],
};

function desiredFor(owner: string, task: string): DesiredState {
  const config = defaultWorkerConfig({
    ownerId: owner,
    // Fixture images are built here, never in a registry: nothing to pull.
    images: { pullPolicy: 'if-not-present' },
    provisionerId: 'prov',
    workerType: 'wt',
    rootUrl: 'https://tc.example.com',
    proxy: { image: PROXY_IMAGE },
  });
  return compile(payload, { config, taskId: task, runId: 0, scopes: [] });
}

async function ownedBy(owner: string): Promise<{ containers: string[]; networks: string[] }> {
  const label = [`${Label.owner}=${owner}`];
  return {
    containers: (await docker.listContainers({ label })).map((c) => c.Names[0] ?? c.Id),
    networks: (await docker.listNetworks({ label })).map((n) => n.Name),
  };
}

let decoy: { containerId: string; networkId: string; before: string };
async function decoyState(): Promise<string> {
  const container = await docker.inspectContainer(decoy.containerId);
  const network = await docker.inspectNetwork(decoy.networkId);
  return JSON.stringify({
    container: container && [container.Id, container.Name, container.State.Status, container.Config.Labels],
    network: network && [network.Id, network.Name, network.Labels],
  });
}

beforeAll(async () => {
  const suffix = randomBytes(4).toString('hex');
  const networkId = await docker.createNetwork({
    Name: `decoy-net-${suffix}`,
    Driver: 'bridge',
    Labels: testLabels(suite),
  });
  const containerId = await docker.createContainer({
    name: `decoy-${suffix}`,
    Image: IMAGES.busybox,
    Cmd: ['sleep', '3600'],
    Labels: testLabels(suite),
    HostConfig: { NetworkMode: `decoy-net-${suffix}` },
  });
  await docker.startContainer(containerId);
  decoy = { containerId, networkId, before: '' };
  decoy.before = await decoyState();
});

afterAll(async () => {
  await removeMadeByThisRun(
    docker,
    (labels) => labels[Label.owner] === ownerId || labels[Label.owner] === childOwnerId,
  );
  await removeMadeByThisRun(docker, (labels) => labels['docker-services-test.suite'] === 'reconcile');
});

describe('reconcile on the real engine', () => {
  const task = taskId();
  const desired = desiredFor(ownerId, task);
  const taskNetwork = desired.networks.find((n) => n.role === 'task-network')!.name;
  const serviceName = (service: string) =>
    desired.containers.find((c) => c.role === 'service' && c.service === service)!.name;

  it('converges redis, postgres and busybox with their proxies; a container on the task network reaches each by alias', async () => {
    const started = Date.now();
    const result = await converge({
      docker,
      desired,
      execute: { credentials },
      until: 'ready',
      pollIntervalMs: 250,
      // Postgres's first start and health check take minutes on a 2-core machine at a load of 40.
      deadline: Date.now() + 240_000,
    });
    console.log(`converged in ${Date.now() - started} ms with ${result.finished.length} actions`);
    expect(result.plan.ready).toBe(true);
    const probe = await runToCompletion(docker, {
      image: IMAGES.busybox,
      network: taskNetwork,
      cmd: [
        'sh',
        '-c',
        "printf 'PING\\r\\n' | nc -w 3 redis 6379 | grep -q PONG && nc -w 3 pg 5432 </dev/null && wget -q -O- http://web:8080/ | grep -q hello-web && echo reached-all",
      ],
    });
    expect(probe).toEqual({ exitCode: 0, output: expect.stringContaining('reached-all') });
    expect(await decoyState()).toBe(decoy.before);
  }, 300_000);

  it('detects a `docker kill` of a service and a service removed from outside, and brings each back', async () => {
    const refresh$ = new Subject<RefreshRequest | void>();
    const events = reconcile({
      docker,
      desired,
      snapshots: observe(docker, scopeOf(desired), { refresh$, relistIntervalMs: 5_000 }),
      refresh: (request) => refresh$.next(request),
      execute: { credentials },
      until: 'forever',
      pollIntervalMs: 250,
      restart: { mode: 'restart', initialBackoffMs: 200, maxBackoffMs: 1_000, maxRestarts: 5 },
    }).pipe(share());
    const subscription = events.subscribe({ error: () => {} });
    // `ready` is said on each transition into ready. A wait for the next one, subscribed before
    // the change, could still be answered by a transition from before the loop saw the change (a
    // proxy's health check flapping on a busy machine): so it only counts a `ready` that follows
    // the loop's own reaction to the change, and the test then checks the state it expects.
    const readyAfter = (reaction: (e: LoopEvent) => boolean) => {
      let reacted = false;
      return firstValueFrom(
        events.pipe(
          filter((e) => (reacted ||= reaction(e)) && e.type === 'ready'),
          timeout(180_000),
        ),
      );
    };
    try {
      await readyAfter(() => true);
      const killedId = (await docker.inspectContainer(serviceName('redis')))!.Id;
      const backAfterKill = readyAfter(
        (e) => e.type === 'restart-recorded' && e.action.target.name === serviceName('redis'),
      );
      await dockerCli('kill', killedId);
      await backAfterKill;
      const redis = await docker.inspectContainer(serviceName('redis'));
      expect(redis?.Id).toBe(killedId);
      expect(redis?.State.Running).toBe(true);

      const removedId = (await docker.inspectContainer(serviceName('web')))!.Id;
      const backAfterRemoval = readyAfter(
        (e) =>
          e.type === 'action-finished' &&
          e.action.kind === 'start-container' &&
          e.action.target.name === serviceName('web'),
      );
      await dockerCli('rm', '-f', removedId);
      await backAfterRemoval;
      const web = await docker.inspectContainer(serviceName('web'));
      expect(web?.Id).not.toBe(removedId);
      expect(web?.State.Running).toBe(true);
      expect(await decoyState()).toBe(decoy.before);
    } finally {
      subscription.unsubscribe();
      refresh$.complete();
    }
  }, 600_000);

  it('down leaves zero objects of the task, and the decoy untouched', async () => {
    const removed = await down(docker, desired.owner, { pollIntervalMs: 250 });
    expect(removed.containers.length).toBe(6);
    expect(removed.networks.length).toBe(1);
    expect(await ownedBy(ownerId)).toEqual({ containers: [], networks: [] });
    expect(await decoyState()).toBe(decoy.before);
  }, 120_000);

  it('after the library process is SIGKILLed mid-up, collectGarbage leaves zero objects', async () => {
    const childTask = taskId();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/reconcile-child.ts'], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        DS_CHILD_INPUT: JSON.stringify({
          ownerId: childOwnerId,
          taskId: childTask,
          proxyImage: PROXY_IMAGE,
          payload,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('created')) resolve();
      });
      void exited.then((how) =>
        reject(new Error(`child ended (${String(how)}) before creating anything: ${stderr}`)),
      );
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const left = await ownedBy(childOwnerId);
    expect(left.containers.length + left.networks.length).toBeGreaterThan(0);

    // The task is not active any more; another task of the same owner would be kept.
    const collected = await collectGarbage(docker, childOwnerId, ['someOtherActiveTask_xx'], {
      pollIntervalMs: 250,
    });
    expect(collected.map((c) => c.taskId)).toEqual([childTask]);
    expect(await ownedBy(childOwnerId)).toEqual({ containers: [], networks: [] });
    expect(await decoyState()).toBe(decoy.before);
  }, 120_000);
});
