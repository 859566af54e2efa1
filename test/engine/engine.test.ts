/**
 * The local engine and the fixture images do what every other integration test relies on:
 * user-defined networks with aliases and DNS, and redis and postgres that answer clients.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { READY_LINE_LABEL } from '../../src/observed-state/ready-line.js';
import {
  IMAGES,
  dockerCli,
  eventually,
  removeMadeByThisRun,
  runToCompletion,
  testDocker,
  testLabels,
} from '../support/docker.js';

const docker = testDocker();
const mine = { 'docker-services-test.suite': 'engine' };
const suffix = `${process.env.DS_TEST_RUN}-${process.pid}`;

afterAll(async () => {
  await removeMadeByThisRun(docker, (labels) => labels['docker-services-test.suite'] === 'engine');
});

async function network(name: string): Promise<string> {
  return docker.createNetwork({ Name: name, Driver: 'bridge', Labels: testLabels(mine) });
}

async function startOn(
  networkName: string,
  options: { name: string; image: string; cmd?: string[]; aliases: string[]; env?: string[] },
): Promise<string> {
  const id = await docker.createContainer({
    name: options.name,
    Image: options.image,
    Cmd: options.cmd,
    Env: options.env,
    Labels: testLabels(mine),
    HostConfig: { NetworkMode: networkName },
    NetworkingConfig: { EndpointsConfig: { [networkName]: { Aliases: options.aliases } } },
  });
  await docker.startContainer(id);
  return id;
}

describe('engine smoke', () => {
  it('resolves and reaches a container by its alias on a user-defined network, then removes both', async () => {
    const net = `ds-test-smoke-${suffix}`;
    const networkId = await network(net);
    const serverId = await startOn(net, {
      name: `ds-test-smoke-server-${suffix}`,
      image: IMAGES.busybox,
      cmd: [
        'sh',
        '-c',
        'mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www',
      ],
      aliases: ['server'],
    });

    const result = await runToCompletion(docker, {
      image: IMAGES.busybox,
      network: net,
      cmd: [
        'sh',
        '-c',
        'nslookup server >/dev/null 2>&1 || getent hosts server; for i in $(seq 1 50); do wget -qO- http://server:8080/ && exit 0; sleep 0.1; done; exit 1',
      ],
    });
    expect(result).toEqual({ exitCode: 0, output: expect.stringContaining('hello-from-server') });

    // A container on another network cannot resolve the alias: networks are isolated.
    const other = `ds-test-smoke-other-${suffix}`;
    const otherId = await network(other);
    const isolated = await runToCompletion(docker, {
      image: IMAGES.busybox,
      network: other,
      cmd: ['sh', '-c', 'wget -T 2 -qO- http://server:8080/'],
    });
    expect(isolated.exitCode).not.toBe(0);

    await docker.removeContainer(serverId);
    await docker.removeNetwork(networkId);
    await docker.removeNetwork(otherId);
    expect(await docker.inspectContainer(serverId)).toBeUndefined();
    expect(await docker.inspectNetwork(networkId)).toBeUndefined();
  });

  it('serves redis and postgres from the local image to a client on a user-defined network', async () => {
    const net = `ds-test-db-${suffix}`;
    const networkId = await network(net);
    const ids = [
      await startOn(net, { name: `ds-test-redis-${suffix}`, image: IMAGES.redis, aliases: ['cache'] }),
      await startOn(net, {
        name: `ds-test-postgres-${suffix}`,
        image: IMAGES.postgres,
        aliases: ['db'],
        env: ['POSTGRES_PASSWORD=s3cret'],
      }),
    ];
    // Both images declare a health check; wait for it rather than guess a delay.
    for (const id of ids) {
      await eventually(
        async () => (await docker.inspectContainer(id))?.State.Health?.Status === 'healthy',
        `container ${id} healthy`,
        60_000,
      );
    }
    const client = await runToCompletion(docker, {
      image: IMAGES.debian,
      network: net,
      env: ['PGPASSWORD=s3cret'],
      cmd: [
        'sh',
        '-c',
        'redis-cli -h cache set greeting hi >/dev/null && redis-cli -h cache get greeting && ' +
          "psql -h db -U postgres -tAc 'select 40 + 2'",
      ],
    });
    expect(client.exitCode).toBe(0);
    expect(client.output.split('\n').map((l) => l.trim())).toEqual(expect.arrayContaining(['hi', '42']));

    for (const id of ids) await docker.removeContainer(id);
    await docker.removeNetwork(networkId);
  });

  it('the proxy image says it listens, its probe passes while it serves /__ready, and fails on a frozen proxy or a closed port', async () => {
    const net = `ds-test-probe-${suffix}`;
    const networkId = await network(net);
    const id = await startOn(net, {
      name: `ds-test-probe-${suffix}`,
      image: IMAGES.proxy,
      cmd: ['--root-url=https://tc.example.com', 'assume:probe-test'],
      env: ['TASKCLUSTER_CLIENT_ID=probe', 'TASKCLUSTER_ACCESS_TOKEN=not-a-secret'],
      aliases: [],
    });
    const inspect = await docker.inspectContainer(id);
    expect(inspect?.Config.Healthcheck?.Test).toEqual(['CMD', '/proxy/healthcheck.sh']);
    // Liveness, not readiness: readiness is the line the image declares (ready-line.ts).
    expect(inspect?.Config.Healthcheck?.Interval).toBe(30e9);
    expect(inspect?.Config.Labels?.[READY_LINE_LABEL]).toBe('taskcluster-proxy listening on');
    const probe = async (...args: string[]) =>
      dockerCli('exec', id, '/proxy/healthcheck.sh', ...args).then(
        () => 0,
        (error: { code?: number }) => error.code ?? -1,
      );
    // Docker's first probe comes one interval (30 s) after the start: the test runs it itself.
    await eventually(async () => (await probe()) === 0, 'proxy answers its probe', 60_000);
    expect(await docker.containerLogs(id, {})).toContain('taskcluster-proxy listening on');
    expect(await probe('81')).toBe(1);
    // A proxy whose process no longer answers: the kernel still accepts the connection, and the
    // probe gives up on the missing answer instead of hanging until Docker's timeout.
    await dockerCli('kill', '--signal', 'STOP', id);
    try {
      const started = Date.now();
      expect(await probe()).toBe(1);
      expect(Date.now() - started).toBeLessThan(9_000);
    } finally {
      await dockerCli('kill', '--signal', 'CONT', id);
    }
    await docker.removeContainer(id);
    await docker.removeNetwork(networkId);
  }, 120_000);
});
