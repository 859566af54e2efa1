/**
 * After a dockerd SIGKILL with services up, `plan` and `up` agree. On a dockerd of the test's own
 * (the shared one is never killed): `up` brings two services and their proxies up, the daemon is
 * killed with SIGKILL and started again (every container exited, as without live-restore), `plan`
 * names a restart for each and nothing blocked, and `up` brings the task back to what `plan` then
 * calls up to date; `down` leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/run.js';
import { loadImage, startPrivateDockerd, type PrivateDockerd } from '../observed-state/private-dockerd.js';
import { IMAGES, testOwnerId } from '../support/docker.js';
import { captureIo } from './support/io.js';

const PROXY_IMAGE = 'docker-services/proxy:latest';
const taskId = randomBytes(16).toString('base64url');
const ids = ['--task-id', taskId, '--run-id', '0', '--owner-id', testOwnerId('cli-crash')];
// The fixture images are built here, in no registry: `up` must not try to pull them.
const LOCAL_IMAGES = ['--pull-policy', 'if-not-present'];
const dir = mkdtempSync(join(tmpdir(), 'ds-crash-'));
const payload = join(dir, 'payload.json');
let daemon: PrivateDockerd | undefined;

beforeAll(async () => {
  daemon = await startPrivateDockerd();
  await loadImage(daemon, IMAGES.busybox);
  await loadImage(daemon, PROXY_IMAGE);
  const sleeper = (name: string) => ({
    name,
    image: IMAGES.busybox,
    command: ['sh', '-c', 'exec sleep 600'],
  });
  writeFileSync(payload, JSON.stringify({ services: [sleeper('db'), sleeper('web')] }));
}, 240_000);

afterAll(async () => {
  await daemon?.destroy();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo({
    env: {
      PATH: process.env.PATH,
      DOCKER_HOST: daemon!.host,
      TASKCLUSTER_ROOT_URL: 'https://tc.example.invalid',
      TASKCLUSTER_CLIENT_ID: 'test/docker-services-cli',
      TASKCLUSTER_ACCESS_TOKEN: randomBytes(33).toString('base64url'),
    },
  });
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe('after a dockerd SIGKILL', () => {
  it('plan names a restart for every container, and up brings the task back as plan said', async () => {
    const d = daemon!;
    const up = await cli(
      'up',
      payload,
      ...ids,
      ...LOCAL_IMAGES,
      '--proxy-image',
      PROXY_IMAGE,
      '--timeout',
      '120',
    );
    expect(up).toMatchObject({ code: 0, out: expect.stringContaining('NetworkMode') });
    const names = (await d.cli('ps', '--format', '{{.Names}}')).split('\n').sort();
    expect(names).toHaveLength(4);

    await d.kill9();
    await d.start();
    expect((await d.cli('ps', '-a', '--format', '{{.State}}')).split('\n')).toEqual(
      names.map(() => 'exited'),
    );

    const planned = await cli(
      'plan',
      payload,
      ...ids,
      ...LOCAL_IMAGES,
      '--proxy-image',
      PROXY_IMAGE,
      '--output',
      'json',
    );
    expect(planned.code).toBe(2);
    const plan = JSON.parse(planned.out) as {
      actions: { target: { name: string }; cause: string }[];
      waiting: { name: string; reason: string }[];
      blocked: unknown[];
    };
    expect(plan.blocked).toEqual([]);
    const named = [...plan.actions.map((a) => a.target.name), ...plan.waiting.map((w) => w.name)];
    expect([...new Set(named)].sort()).toEqual(names);
    expect(plan.actions.every((a) => /— restart 1 of \d+$/.test(a.cause))).toBe(true);

    const back = await cli(
      'up',
      payload,
      ...ids,
      ...LOCAL_IMAGES,
      '--proxy-image',
      PROXY_IMAGE,
      '--timeout',
      '120',
    );
    expect(back).toMatchObject({ code: 0, out: expect.stringContaining('NetworkMode') });
    expect((await d.cli('ps', '--format', '{{.Names}}')).split('\n').sort()).toEqual(names);
    expect((await cli('plan', payload, ...ids, ...LOCAL_IMAGES, '--proxy-image', PROXY_IMAGE)).code).toBe(0);

    expect((await cli('down', ...ids)).code).toBe(0);
    expect(await d.cli('ps', '-aq')).toBe('');
  }, 300_000);
});
