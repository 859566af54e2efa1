import { describe, expect, it } from '@jest/globals';
import { decodeWorkerConfig, defaultWorkerConfig } from '../../src/desired-state/config.js';
import { ConfigError } from '../../src/desired-state/errors.js';

const identity = {
  ownerId: 'worker-group/worker-1',
  provisionerId: 'proj-ci',
  workerType: 'linux',
  rootUrl: 'https://tc.example.com',
  proxy: { image: 'ds-fixtures/proxy:latest' },
};

function configErrors(input: unknown): string[] {
  try {
    decodeWorkerConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.errors.map((e) => `${e.path}: ${e.message}`);
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('worker configuration', () => {
  it('fills in every default from identity and proxy image', () => {
    expect(defaultWorkerConfig(identity)).toEqual({
      ...identity,
      proxy: { image: 'ds-fixtures/proxy:latest', port: 61080 },
      limits: {
        maxServices: 16,
        maxEnvEntries: 64,
        maxEnvBytes: 65536,
        maxValueBytes: 32768,
        memoryBytes: 1073741824,
        pidsLimit: 1024,
        logMaxBytes: 10485760,
      },
      images: { pullPolicy: 'always', stallTimeoutMs: 60000, timeoutMs: 1800000 },
      registries: {},
      restart: {
        mode: 'restart',
        initialBackoffMs: 1000,
        maxBackoffMs: 30000,
        maxRestarts: 5,
        resetAfterMs: 600000,
      },
      startupTimeoutMs: 120000,
      concurrency: 8,
      isolationGuard: 'off',
    });
  });

  it('keeps what is given and defaults the rest of a section', () => {
    const config = defaultWorkerConfig({
      ...identity,
      limits: { maxServices: 2 },
      restart: { mode: 'fail' },
    });
    expect(config.limits.maxServices).toBe(2);
    expect(config.limits.pidsLimit).toBe(1024);
    expect(config.restart).toEqual({
      mode: 'fail',
      initialBackoffMs: 1000,
      maxBackoffMs: 30000,
      maxRestarts: 5,
      resetAfterMs: 600000,
    });
  });

  it('gives every decode its own defaults', () => {
    const a = defaultWorkerConfig(identity);
    a.limits.maxServices = 1;
    expect(defaultWorkerConfig(identity).limits.maxServices).toBe(16);
  });

  it('reports every problem with path, value and what is valid', () => {
    expect(
      configErrors({
        ownerId: 'has space',
        provisionerId: 'proj/ci',
        rootUrl: 'tc.example.com',
        proxy: { image: '-v /:/host alpine', port: 80.5 },
        limits: { maxServices: -1, memoryBytes: 1024 },
        restart: { mode: 'always' },
        concurrency: 0,
        isolationGuard: 'iptables',
        extra: true,
      }),
    ).toEqual([
      'ownerId: must be 1–256 printable characters without spaces (the worker\'s id); got "has space"',
      "provisionerId: must be a Taskcluster identifier (1–38 of a-z, A-Z, 0-9, '-', '_'); got \"proj/ci\"",
      'workerType: required field missing (fix: the worker pool\'s workerType, e.g. "linux")',
      'rootUrl: must be the deployment\'s http(s) root URL, e.g. "https://tc.example.com"; got "tc.example.com"',
      'proxy.image: "-v /:/host alpine" is not an image reference: must not start with \'-\'; must not contain whitespace',
      'proxy.port: must be an integer from 1 to 65535; got 80.5',
      'limits.maxServices: must be an integer from 0 to 1000; got -1',
      'limits.memoryBytes: must be an integer from 6291456 to 9007199254740991; got 1024',
      'restart.mode: must be "restart" (restart a died service with backoff) or "fail" (fail the task); got "always"',
      'concurrency: must be an integer from 1 to 1000; got 0',
      'isolationGuard: must be "off" (Docker\'s own rules only) or "nftables" (also drop traffic between our networks and other bridges in a table of our own; needs nft and root); got "iptables"',
      'extra: unknown field; allowed: ownerId, provisionerId, workerType, rootUrl, proxy, limits, restart, startupTimeoutMs, concurrency, isolationGuard, images, registries',
    ]);
  });

  it('takes registry logins and a pull policy, and never shows a password in its errors', () => {
    const config = defaultWorkerConfig({
      ...identity,
      images: { pullPolicy: 'if-not-present' },
      registries: { '127.0.0.1:5000': { username: 'ci', password: 'hunter2-secret' } },
    });
    expect(config.images).toEqual({
      pullPolicy: 'if-not-present',
      stallTimeoutMs: 60000,
      timeoutMs: 1800000,
    });
    expect(config.registries['127.0.0.1:5000']).toEqual({ username: 'ci', password: 'hunter2-secret' });
    const errors = configErrors({
      ...identity,
      images: { pullPolicy: 'sometimes' },
      registries: { 'bad host/x': { username: 'ci', password: 'hunter2-secret' }, ok: { password: 7 } },
    });
    expect(errors).toEqual([
      'images.pullPolicy: must be "always" (a tag is pulled on every start, a digest when missing), "if-not-present" or "never"; got "sometimes"',
      'registries["bad host/x"]: is not a registry host (fix: the host as images name it, e.g. "registry.example.com" or "127.0.0.1:5000")',
      'registries.ok.username: required field missing (fix: the login)',
      'registries.ok.password: must be a non-empty string',
    ]);
    try {
      decodeWorkerConfig({
        ...identity,
        registries: { 'bad host': { username: 'ci', password: 'hunter2-secret' } },
      });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
      expect(JSON.stringify((error as ConfigError).errors)).not.toContain('hunter2');
    }
    expect.assertions(5);
  });

  it('refuses a configuration that is not an object, and a backoff that shrinks', () => {
    expect(configErrors('x')).toEqual(['config: must be an object (the worker configuration); got "x"']);
    expect(configErrors({ ...identity, restart: { initialBackoffMs: 5000, maxBackoffMs: 10 } })).toEqual([
      'restart.maxBackoffMs: must be at least restart.initialBackoffMs (5000); got 10',
    ]);
  });

  it('accepts every number at the ends of its range, and every named mode and policy', () => {
    const config = decodeWorkerConfig({
      ...identity,
      proxy: { image: 'ds-fixtures/proxy:latest', port: 65535 },
      limits: { maxServices: 1000, maxEnvEntries: 0, maxValueBytes: 1 },
      restart: { mode: 'restart', initialBackoffMs: 0, maxBackoffMs: 0 },
      concurrency: 1000,
      isolationGuard: 'nftables',
      images: { pullPolicy: 'never' },
    });
    expect(config.proxy.port).toBe(65535);
    expect(config.limits).toMatchObject({ maxServices: 1000, maxEnvEntries: 0, maxValueBytes: 1 });
    // A backoff that does not grow is not one that shrinks.
    expect(config.restart).toMatchObject({ mode: 'restart', initialBackoffMs: 0, maxBackoffMs: 0 });
    expect(config.isolationGuard).toBe('nftables');
    expect(
      decodeWorkerConfig({ ...identity, proxy: { ...identity.proxy, port: 1 }, isolationGuard: 'off' }),
    ).toMatchObject({
      proxy: { port: 1 },
      isolationGuard: 'off',
    });
    expect(configErrors({ ...identity, proxy: { ...identity.proxy, port: 65536 } })).toEqual([
      'proxy.port: must be an integer from 1 to 65535; got 65536',
    ]);
  });

  it('refuses an owner id, a provisionerId, a root URL, a proxy image or registries of the wrong type whose text would pass, each with its message', () => {
    expect(
      configErrors({
        ...identity,
        ownerId: 12345,
        provisionerId: 12345,
        rootUrl: ['https://tc.example.com'],
        proxy: { image: 5 },
        registries: ['127.0.0.1:5000'],
      }),
    ).toEqual([
      "ownerId: must be 1–256 printable characters without spaces (the worker's id); got 12345",
      "provisionerId: must be a Taskcluster identifier (1–38 of a-z, A-Z, 0-9, '-', '_'); got 12345",
      'rootUrl: must be the deployment\'s http(s) root URL, e.g. "https://tc.example.com"; got ["https://tc.example.com"]',
      'proxy.image: must be an image reference string; got 5',
      'registries: must be an object mapping registry hosts to {username, password}; got ["127.0.0.1:5000"]',
    ]);
  });

  it('takes an http or https root URL, and nothing around it', () => {
    expect(defaultWorkerConfig({ ...identity, rootUrl: 'http://localhost:8080' }).rootUrl).toBe(
      'http://localhost:8080',
    );
    for (const rootUrl of ['ftp://tc.example.com', ' https://tc.example.com', 'https://tc.example.com '])
      expect(configErrors({ ...identity, rootUrl })).toEqual([
        `rootUrl: must be the deployment's http(s) root URL, e.g. "https://tc.example.com"; got ${JSON.stringify(rootUrl)}`,
      ]);
  });

  it('takes a registry login of 1 to 4096 characters', () => {
    const login = (username: string, password: string) => ({
      ...identity,
      registries: { 'registry.example.com': { username, password } },
    });
    expect(defaultWorkerConfig(login('u', 'p'.repeat(4096))).registries['registry.example.com']).toEqual({
      username: 'u',
      password: 'p'.repeat(4096),
    });
    expect(configErrors(login('', 'p'.repeat(4097)))).toEqual([
      'registries["registry.example.com"].username: must be a non-empty string',
      'registries["registry.example.com"].password: must be a non-empty string',
    ]);
  });

  it('says what is wrong in the thrown message', () => {
    expect(() => decodeWorkerConfig({ ...identity, concurrency: 'x' })).toThrow(
      'invalid worker configuration (1 error):\n  concurrency: must be an integer from 1 to 1000; got "x"',
    );
  });
});
