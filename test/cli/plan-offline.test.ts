/**
 * Golden tests of `plan --offline` over every fixture payload: text and JSON, and the exit codes
 * (0 nothing to do, 2 changes planned, 1 error). Run with UPDATE_GOLDEN=1 to rewrite the goldens
 * after a deliberate change, then read the diff.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../src/cli/run.js';
import { captureIo } from './support/io.js';

const PAYLOADS = 'fixtures/payloads';
const GOLDEN = 'fixtures/golden/cli';
const update = process.env.UPDATE_GOLDEN === '1';

/** Offline, the snapshot time is the local clock: the one thing that may differ between runs. */
function normalize(text: string): string {
  return text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>');
}

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (update || !existsSync(path)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, actual);
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

/** The fixture payloads that are valid; `invalid-*.json` are refused and tested below. */
const payloads = readdirSync(PAYLOADS)
  .filter((f) => f.endsWith('.json') && !f.startsWith('invalid'))
  .sort();

// Offline plans must not depend on the caller's environment: credentials and root URL unset.
const env = { PATH: process.env.PATH };

describe('plan --offline', () => {
  it('has payloads to test', () => {
    expect(payloads).toEqual(expect.arrayContaining(['three-services.json']));
  });

  it.each(payloads)('%s: text', async (file) => {
    const io = captureIo({ env });
    const code = await main(['plan', '--offline', join(PAYLOADS, file)], io);
    expect(io.err()).toBe('');
    golden(file.replace(/\.json$/, '.plan.txt'), normalize(io.out()));
    expect(code).toBe(io.out().includes('No changes.') ? 0 : 2);
  });

  it.each(payloads)('%s: json', async (file) => {
    const io = captureIo({ env });
    const code = await main(['plan', '--offline', '--output', 'json', join(PAYLOADS, file)], io);
    expect(io.err()).toBe('');
    const plan = JSON.parse(io.out()) as { actions: unknown[] };
    golden(file.replace(/\.json$/, '.plan.json'), normalize(io.out()));
    expect(code).toBe(plan.actions.length === 0 ? 0 : 2);
  });

  it('plans the empty graph with --down: nothing to do offline, exit 0', async () => {
    const io = captureIo({ env });
    expect(await main(['plan', '--offline', '--down', '--task-id', 'fN1SbArXTPSVFNUvaOlinQ'], io)).toBe(0);
    expect(normalize(io.out())).toBe(
      'Plan for task fN1SbArXTPSVFNUvaOlinQ run 0, snapshot <time> (offline: empty engine, local clock)\n\nNo changes. Services are up to date.\n',
    );
  });

  it('reads the payload from stdin with -', async () => {
    const text = readFileSync(join(PAYLOADS, 'three-services.json'), 'utf8');
    const io = captureIo({ env, stdin: text });
    expect(await main(['plan', '--offline', '-'], io)).toBe(2);
    expect(normalize(io.out())).toBe(readFileSync(join(GOLDEN, 'three-services.plan.txt'), 'utf8'));
  });

  it('prints no payload env value and no credential, in either form', async () => {
    const secrets = { TASKCLUSTER_CLIENT_ID: 'me', TASKCLUSTER_ACCESS_TOKEN: 'tok-very-secret-0123456789' };
    for (const output of ['text', 'json']) {
      const io = captureIo({ env: { ...env, ...secrets } });
      await main(['plan', '--offline', '--output', output, join(PAYLOADS, 'three-services.json')], io);
      expect(io.out()).toContain('postgres');
      expect(io.out() + io.err()).not.toContain('fixture-password');
      expect(io.out() + io.err()).not.toContain(secrets.TASKCLUSTER_ACCESS_TOKEN);
    }
  });

  describe('with a worker configuration from --config', () => {
    const password = `registry-pw-${process.pid}-very-secret`;
    const dir = mkdtempSync(join(tmpdir(), 'ds-plan-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    function configFile(name: string, overrides: Record<string, unknown> = {}): string {
      const path = join(dir, name);
      writeFileSync(
        path,
        JSON.stringify({
          ownerId: 'plan-config',
          provisionerId: 'prov-from-config',
          workerType: 'wt-from-config',
          rootUrl: 'https://tc.example.invalid',
          proxy: { image: 'ds-test/proxy-from-config:1' },
          registries: { '127.0.0.1:5000': { username: 'ci-bot', password } },
          ...overrides,
        }),
      );
      return path;
    }

    it('plans with it, and its registry password appears in neither form', async () => {
      const config = configFile('good.json');
      for (const output of ['text', 'json']) {
        const io = captureIo({ env });
        const code = await main(
          [
            'plan',
            '--offline',
            '--config',
            config,
            '--output',
            output,
            join(PAYLOADS, 'three-services.json'),
          ],
          io,
        );
        expect(io.err()).toBe('');
        expect(code).toBe(2);
        expect(io.out()).toContain('postgres');
        // The plan is the configuration's, not the flags' defaults.
        expect(io.out()).toContain('ds-test/proxy-from-config:1');
        expect(io.out()).not.toContain(password);
        expect(io.out()).not.toContain('ci-bot');
      }
    });

    it('a bad one: the field and the file are named, the password is not', async () => {
      const config = configFile('bad.json', { images: { pullPolicy: 'sometimes' } });
      const io = captureIo({ env });
      expect(
        await main(['plan', '--offline', '--config', config, join(PAYLOADS, 'three-services.json')], io),
      ).toBe(1);
      expect(io.out()).toBe('');
      expect(io.err()).toContain('pullPolicy');
      expect(io.err()).toContain(config);
      expect(io.err()).not.toContain(password);
    });

    it('says all of the configuration: a worker flag beside it is a usage error', async () => {
      const io = captureIo({ env });
      const argv = ['plan', '--offline', '--config', configFile('flags.json'), '--pull-policy', 'never'];
      expect(await main([...argv, join(PAYLOADS, 'three-services.json')], io)).toBe(1);
      expect(io.err()).toMatch(/--config says all of the worker configuration; drop --pull-policy/);
    });
  });

  it('an invalid payload: every error with its path on stderr, nothing on stdout, exit 1', async () => {
    const io = captureIo({ env });
    expect(await main(['plan', '--offline', join(PAYLOADS, 'invalid.json')], io)).toBe(1);
    expect(io.out()).toBe('');
    golden('invalid.stderr.txt', io.err());
    expect(io.err()).toMatch(/^docker-services plan: invalid task payload \(\d+ errors\):\n/);
    expect(io.err()).toContain('services[0].privileged');
    expect(io.err()).not.toContain('/tmp/evil.so');
  });

  it.each([
    [['plan', '--offline', 'no/such/file.json'], /no\/such\/file\.json: cannot read \(no such file\)/],
    [
      ['plan', '--offline', '--task-id', 'not-a-slug', join(PAYLOADS, 'three-services.json')],
      /taskId: must be a Taskcluster task id/,
    ],
    [
      ['plan', '--offline', '--down', join(PAYLOADS, 'three-services.json')],
      /--down plans the empty graph and takes no FILE/,
    ],
    [['plan', '--offline'], /missing FILE/],
    [
      ['plan', '--offline', '--output', 'yaml', join(PAYLOADS, 'three-services.json')],
      /--output must be text or json/,
    ],
    [
      ['plan', '--offline', '--provisioner-id', 'a b', join(PAYLOADS, 'three-services.json')],
      /provisionerId: must be a Taskcluster identifier/,
    ],
  ])('exit 1 on %j', async (argv, message) => {
    const io = captureIo({ env });
    expect(await main(argv, io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(message);
  });
});

describe('the built bin', () => {
  const exec = promisify(execFile);
  const bin = 'dist/cli/main.js';

  it('runs as a child process with the same output and exit codes (after `npm run build`)', async () => {
    expect(existsSync(bin)).toBe(true);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const changes = await exec('node', [bin, 'plan', '--offline', join(PAYLOADS, 'three-services.json')], {
      env,
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(changes.code).toBe(2);
    expect(changes.stderr).toBe('');
    expect(normalize(changes.stdout)).toBe(readFileSync(join(GOLDEN, 'three-services.plan.txt'), 'utf8'));

    const none = await exec('node', [bin, 'plan', '--offline', join(PAYLOADS, 'no-services.json')], { env });
    expect(normalize(none.stdout)).toBe(readFileSync(join(GOLDEN, 'no-services.plan.txt'), 'utf8'));

    const bad = await exec('node', [bin, 'plan', '--offline', join(PAYLOADS, 'invalid.json')], { env }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect((bad as { stderr: string }).stderr).toBe(readFileSync(join(GOLDEN, 'invalid.stderr.txt'), 'utf8'));
  });
});
