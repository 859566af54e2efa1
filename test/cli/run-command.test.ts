/**
 * `run`'s refusals, in-process: each is decided before anything is created, says what to fix
 * (naming the flag, the file and the field, never a secret), and exits with the status a worker
 * branches on: 64 for the worker's own mistakes, 65 for an invalid payload. The supervising
 * itself (ready, failure and log files, signals) is tested end to end by test/host.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/run.js';
import { captureIo } from './support/io.js';

const PAYLOAD = 'fixtures/payloads/bare-payload.json';
const TASK = ['--task-id', 'fN1SbArXTPSVFNUvaOlinQ', '--run-id', '0'];
const TOKEN = 'access-token-never-printed-0123456789';
const ENV = {
  TASKCLUSTER_ROOT_URL: 'https://tc.example.invalid',
  TASKCLUSTER_CLIENT_ID: 'worker/x',
  TASKCLUSTER_ACCESS_TOKEN: TOKEN,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ds-run-cmd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(
  argv: string[],
  env: Record<string, string> = ENV,
): Promise<{ code: number; err: string }> {
  const io = captureIo({ env });
  const code = await main(['run', ...argv], io);
  expect(io.out()).toBe('');
  expect(io.err()).not.toContain(TOKEN);
  return { code, err: io.err() };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('run refuses, before creating anything', () => {
  it.each([
    ['no --task-id', [PAYLOAD, '--run-id', '0'], /--task-id is required/],
    ['no --run-id', [PAYLOAD, '--task-id', 'fN1SbArXTPSVFNUvaOlinQ'], /--run-id is required/],
    ['no FILE', [...TASK], /missing FILE/],
    ['an unknown flag', [PAYLOAD, ...TASK, '--network', 'x'], /Unknown option '--network'/],
    [
      'a past deadline',
      [PAYLOAD, ...TASK, '--deadline', '2001-01-01T00:00:00Z'],
      /--deadline must be a future/,
    ],
    ['a deadline that is not a time', [PAYLOAD, ...TASK, '--deadline', 'soon'], /got "soon"/],
    ['a bad --output', [PAYLOAD, ...TASK, '--output', 'yaml'], /--output must be text or json/],
    [
      'a --task-network that is no network name',
      [PAYLOAD, ...TASK, '--task-network', 'has space'],
      /--task-network must be a Docker network name .*; got "has space"/,
    ],
    [
      'a --task-network named like ours',
      [PAYLOAD, ...TASK, '--task-network', 'ds-fN1SbArXTPSVFNUvaOlinQ-0'],
      /--task-network is named like a network docker-services makes/,
    ],
    [
      '--config with a flag it replaces',
      [PAYLOAD, ...TASK, '--config', 'c.json', '--owner-id', 'w'],
      /drop --owner-id/,
    ],
  ])('%s: exit 64', async (_name, argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(64);
    expect(err).toMatch(message);
  });

  it('an invalid payload: exit 65, every problem with its path', async () => {
    const { code, err } = await run(['fixtures/payloads/invalid.json', ...TASK]);
    expect(code).toBe(65);
    expect(err).toMatch(/invalid task payload \(8 errors\)/);
    expect(err).toMatch(/services\[2\]\.env\.LD_PRELOAD/);
  });

  it('no credentials for the proxies: exit 64, saying where they come from', async () => {
    const { code, err } = await run([PAYLOAD, ...TASK], {
      TASKCLUSTER_ROOT_URL: 'https://tc.example.invalid',
    });
    expect(code).toBe(64);
    expect(err).toMatch(
      /set TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN .* or give --credentials-file/,
    );
  });

  it('a --config file with a bad field: exit 64, naming the file, the field and what is valid', async () => {
    const config = await file(
      'config.json',
      JSON.stringify({
        ownerId: 'worker-1',
        provisionerId: 'proj',
        workerType: 'linux',
        rootUrl: 'not a url',
        proxy: { image: 'docker-services/proxy:latest' },
        restart: { mode: 'sometimes' },
      }),
    );
    const { code, err } = await run([PAYLOAD, ...TASK, '--config', config]);
    expect(code).toBe(64);
    expect(err).toContain(`invalid worker configuration in --config ${config} (2 errors)`);
    expect(err).toMatch(/rootUrl: must be the deployment's http\(s\) root URL.*got "not a url"/);
    expect(err).toMatch(/restart\.mode: must be "restart" .* or "fail" .*; got "sometimes"/);
  });

  it('a --config file that is missing or not JSON: exit 64, naming it', async () => {
    expect((await run([PAYLOAD, ...TASK, '--config', join(dir, 'nope.json')])).err).toMatch(
      /--config .*nope\.json: cannot read \(no such file\)/,
    );
    const broken = await file('broken.json', '{"ownerId": ');
    expect(await run([PAYLOAD, ...TASK, '--config', broken])).toEqual({
      code: 64,
      err: `docker-services run: --config ${broken}: not valid JSON\n`,
    });
  });

  it('a --credentials-file that is unreadable, not JSON or lacks a field: exit 64, never quoting it', async () => {
    const missing = await run([PAYLOAD, ...TASK, '--credentials-file', join(dir, 'none.json')], {});
    expect(missing.code).toBe(64);
    expect(missing.err).toMatch(/--credentials-file .*none\.json: cannot read \(no such file\)/);

    const notJson = await file('creds-broken.json', `{"accessToken": "${TOKEN}"`);
    const broken = await run([PAYLOAD, ...TASK, '--credentials-file', notJson], {});
    expect(broken).toEqual({
      code: 64,
      err: `docker-services run: --credentials-file ${notJson}: not valid JSON\n`,
    });

    const partial = await file('creds-partial.json', JSON.stringify({ accessToken: TOKEN }));
    const lacking = await run([PAYLOAD, ...TASK, '--credentials-file', partial], {});
    expect(lacking.code).toBe(64);
    expect(lacking.err).toMatch(/creds-partial\.json: worker credentials must be .*bad: .*clientId/);
  });

  it('a --task-network that does not exist: exit 64, naming the flag (asks the engine, creates nothing)', async () => {
    const { code, err } = await run([PAYLOAD, ...TASK, '--task-network', 'gw-task-doesnotexist-0']);
    expect(code).toBe(64);
    expect(err).toBe(
      'docker-services run: --task-network gw-task-doesnotexist-0: no such network; the worker creates its task network before it starts run\n',
    );
  });

  it('documents its exit codes and signals in --help', async () => {
    const io = captureIo();
    expect(await main(['run', '--help'], io)).toBe(0);
    for (const line of [
      /^ {2}0 {3}stopped by SIGTERM/m,
      /^ {2}3 {3}a service failed to start/m,
      /^ {2}64 {2}the worker/m,
      /^ {2}65 {2}the task's payload/m,
      /SIGHUP +read --credentials-file again/,
    ])
      expect(io.out()).toMatch(line);
  });
});
