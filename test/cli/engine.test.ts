/**
 * The CLI against the real engine: `up` (the built bin, as a child process: it exits leaving the
 * services running), then `plan` shows nothing to do; a service killed from outside makes `plan`
 * show it without changing anything on the engine; with every container exited, `plan` shows the
 * restarts and `up` brings the task back; `down` leaves nothing.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Label } from '../../src/desired-state/labels.js';
import { main } from '../../src/cli/run.js';
import { dockerCli, eventually, removeMadeByThisRun, testDocker, testOwnerId } from '../support/docker.js';
import { slugid } from '../support/slugid.js';
import { captureIo } from './support/io.js';

const exec = promisify(execFile);
const docker = testDocker();
const ownerId = testOwnerId('cli');
const taskId = slugid();
const ids = ['--task-id', taskId, '--run-id', '0', '--owner-id', ownerId];
// The fixture images are built here, in no registry: `up` must not try to pull them.
const LOCAL_IMAGES = ['--pull-policy', 'if-not-present'];
const payload = 'fixtures/payloads/three-services.json';
const env = {
  PATH: process.env.PATH,
  TASKCLUSTER_ROOT_URL: 'https://tc.example.invalid',
  TASKCLUSTER_CLIENT_ID: 'test/docker-services-cli',
  TASKCLUSTER_ACCESS_TOKEN: randomBytes(33).toString('base64url'),
};

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo({ env });
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/**
 * What `plan` must not change: every object of this owner as the docker CLI lists it, and the
 * inspected state that a write would touch (ids, state, exit code, start and finish times,
 * restarts, network endpoints). Health probe logs are left out: they advance by themselves.
 */
async function engineState(): Promise<string> {
  const filter = `label=${Label.owner}=${ownerId}`;
  const ps = await dockerCli(
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    filter,
    '--format',
    '{{.ID}} {{.Names}} {{.Image}}',
  );
  const ls = await dockerCli(
    'network',
    'ls',
    '--no-trunc',
    '--filter',
    filter,
    '--format',
    '{{.ID}} {{.Name}}',
  );
  const containerIds = ps
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0]!);
  const networkIds = ls
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0]!);
  const containers = containerIds.length
    ? await dockerCli(
        'inspect',
        '--format',
        '{{.Id}} {{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.RestartCount}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.EndpointID}} {{end}}',
        ...containerIds,
      )
    : '';
  const networks = networkIds.length
    ? await dockerCli(
        'network',
        'inspect',
        '--format',
        '{{.Id}} {{.Name}} {{range $k, $v := .Containers}}{{$k}} {{end}}',
        ...networkIds,
      )
    : '';
  return [ps, ls, containers, networks].map((part) => part.split('\n').sort().join('\n')).join('\n--\n');
}

afterAll(async () => {
  // Whatever a failed assertion left: `down` first (the product's way), then by label.
  await main(['down', ...ids], captureIo({ env })).catch(() => {});
  await removeMadeByThisRun(docker, (labels) => labels[Label.owner] === ownerId);
});

describe('docker-services on the engine', () => {
  it('up, plan (nothing), kill, plan (shows it, changes nothing), status, down (nothing left)', async () => {
    const up = await exec(
      'node',
      ['dist/cli/main.js', 'up', payload, ...ids, ...LOCAL_IMAGES, '--timeout', '120'],
      {
        env,
        timeout: 180_000,
      },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(up.stderr).not.toContain(env.TASKCLUSTER_ACCESS_TOKEN);
    expect(up).toMatchObject({ stdout: expect.stringContaining('NetworkMode') });
    const options = JSON.parse(up.stdout) as { HostConfig: { NetworkMode: string } };
    expect(options.HostConfig.NetworkMode).toBe(`ds-${taskId}-0`);
    // Plain progress (stderr is a pipe): one line per phase change, ending with every service ready.
    for (const service of ['postgres', 'redis', 'web'])
      expect(up.stderr).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${service}: ready`, 'm'));

    const converged = await cli('plan', payload, ...ids, ...LOCAL_IMAGES);
    expect(converged.err).toBe('');
    expect(converged.out).toContain('No changes. Services are up to date.');
    expect(converged.code).toBe(0);

    await dockerCli('kill', `ds-${taskId}-0_redis`);
    await dockerCli('wait', `ds-${taskId}-0_redis`);
    const before = await engineState();
    expect(before).toContain(`/ds-${taskId}-0_redis exited 137`);

    const drifted = await cli('plan', payload, ...ids, ...LOCAL_IMAGES);
    expect(drifted.err).toBe('');
    expect(drifted.code).toBe(2);
    expect(drifted.out).toMatch(new RegExp(`ds-${taskId}-0_redis\\s.*(exited|137)`));
    const json = await cli('plan', payload, ...ids, ...LOCAL_IMAGES, '--output', 'json');
    expect(json.code).toBe(2);
    const machine = JSON.parse(json.out) as {
      actions: { target: { name: string } }[];
      waiting: { name: string }[];
    };
    // A restart is an action, or waits on its backoff when the plan came within a second of the kill.
    const named = [...machine.actions.map((a) => a.target.name), ...machine.waiting.map((w) => w.name)];
    expect(named).toContain(`ds-${taskId}-0_redis`);
    const down = await cli('plan', '--down', ...ids);
    expect(down.code).toBe(2);
    expect(down.out).toMatch(/Plan: 0 to add, 0 to change, 7 to destroy\./);
    expect(await engineState()).toBe(before);

    const status = await cli('status', '--owner-id', ownerId);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`Task ${taskId} run 0: 3 service(s), 1 network(s)`);
    expect(status.out).toMatch(/^ {2}redis\s+exited \(code 137\)\s+proxy (running|healthy)$/m);
    expect(status.out).toMatch(/^ {2}web\s+healthy\s+proxy (running|healthy)$/m);

    // gc: this task is garbage unless named active; the dry run changes nothing either.
    const kept = await cli('gc', '--dry-run', '--owner-id', ownerId, '--active', taskId);
    expect(kept).toMatchObject({
      code: 0,
      out: `No garbage: owner ${ownerId} has no objects of inactive tasks.\n`,
    });
    const garbage = await cli('gc', '--dry-run', '--owner-id', ownerId);
    expect(garbage.code).toBe(2);
    expect(garbage.out).toMatch(/Plan: 0 to add, 0 to change, 7 to destroy\./);
    expect(await engineState()).toBe(before);

    // Every container exited, as a dockerd SIGKILL leaves them (137; killing the daemon itself
    // would take it from under the suites running beside this one): plan says each is restarted,
    // and up does what plan says and brings the task back.
    const all = (await dockerCli('ps', '-aq', '--filter', `label=${Label.owner}=${ownerId}`)).split('\n');
    expect(all).toHaveLength(6);
    await dockerCli(
      'kill',
      ...(await dockerCli('ps', '-q', '--filter', `label=${Label.owner}=${ownerId}`)).split('\n'),
    );
    await dockerCli('wait', ...all);
    const crashed = await cli('plan', payload, ...ids, ...LOCAL_IMAGES, '--output', 'json');
    expect(crashed.code).toBe(2);
    const restarts = JSON.parse(crashed.out) as {
      actions: { target: { name: string }; cause: string }[];
      waiting: { name: string; reason: string }[];
      blocked: unknown[];
    };
    // Each is restarted now or after its backoff, a service after its proxy: none is blocked.
    const toRestart = [...restarts.actions.map((a) => a.target.name), ...restarts.waiting.map((w) => w.name)];
    expect(new Set(toRestart).size).toBe(6);
    expect(restarts.actions.every((a) => /exited\(137\) — restart 1 of/.test(a.cause))).toBe(true);
    expect(restarts.blocked).toEqual([]);
    const back = await exec(
      'node',
      ['dist/cli/main.js', 'up', payload, ...ids, ...LOCAL_IMAGES, '--timeout', '120'],
      {
        env,
        timeout: 180_000,
      },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    // On failure the message shows why up gave up (its stderr), not only the missing options.
    expect({ stdout: back.stdout, stderr: back.stdout ? '' : back.stderr }).toMatchObject({
      stdout: expect.stringContaining('NetworkMode'),
      stderr: '',
    });
    expect((await cli('plan', payload, ...ids, ...LOCAL_IMAGES)).code).toBe(0);
    expect((await engineState()).match(/ running /g)).toHaveLength(6);

    const removed = await cli('down', ...ids);
    expect(removed.code).toBe(0);
    expect(removed.out).toContain('6 container(s) and 1 network(s) removed');
    expect(await dockerCli('ps', '-aq', '--filter', `label=${Label.owner}=${ownerId}`)).toBe('');
    expect(await dockerCli('network', 'ls', '-q', '--filter', `label=${Label.owner}=${ownerId}`)).toBe('');
    expect((await cli('plan', '--down', ...ids)).code).toBe(0);
    expect((await cli('status', '--owner-id', ownerId)).out).toContain('No tasks');
  }, 240_000);

  it('up interrupted by SIGINT stops, removes what it made and exits 1', async () => {
    const interrupted = slugid();
    const child = spawn(
      'node',
      ['dist/cli/main.js', 'up', payload, ...LOCAL_IMAGES, '--task-id', interrupted, '--owner-id', ownerId],
      {
        env,
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      // A progress line means the library has made an object of the task.
      await eventually(
        async () => {
          if (/: created/.test(stderr)) return true;
          // Said with what it printed: a timeout alone hid why (an exit, or a wait on its proxy).
          throw new Error(
            `up ${child.exitCode === null ? 'still running' : `exited ${child.exitCode}`}; its stderr:\n${stderr}`,
          );
        },
        'up to create a container',
        // Long enough to outlast a dockerd hang that test.sh's watchdog notices and restarts.
        120_000,
      );
      child.kill('SIGINT');
      expect(await exited).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).toMatch(/^docker-services up: .*was cancelled by the caller/m);
    const filter = `label=${Label.taskId}=${interrupted}`;
    expect(await dockerCli('ps', '-aq', '--filter', filter)).toBe('');
    expect(await dockerCli('network', 'ls', '-q', '--filter', filter)).toBe('');
  }, 240_000);
});
