/**
 * Golden renderings of compiled graphs. The renderings live under fixtures/golden/desired-state/
 * and are compared exactly; `UPDATE_GOLDEN=1` rewrites them (review the diff before committing).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { taskInputFromJson } from '../../src/cli/input.js';
import { compile, emptyGraph } from '../../src/desired-state/compile.js';
import { ConfigError, PayloadValidationError } from '../../src/desired-state/errors.js';
import { canonicalJson } from '../../src/desired-state/hash.js';
import { bindImages, resolveImage } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import { taskContainerOptions } from '../../src/desired-state/task-container.js';
import {
  IMAGE_KEY_PLACEHOLDER,
  type DesiredState,
  type ResolvedImage,
} from '../../src/desired-state/types.js';
import { OWNERSHIP_LABELS, TASK_ID, testConfig, testContext } from './support.js';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../fixtures/payloads/${name}`, import.meta.url), 'utf8'));
}

function render(desired: DesiredState): string {
  return `${canonicalJson(desired, 2)}\n`;
}

function expectGolden(name: string, text: string): void {
  const file = new URL(`../../fixtures/golden/desired-state/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

function compileFixture(name: string): DesiredState {
  const { payload, scopes } = taskInputFromJson(fixture(name), name);
  return compile(payload, testContext({ scopes }));
}

const hex = (c: string): string => c.repeat(64);

/** What the observed state would report for the fixture images. */
const images: Record<string, ResolvedImage> = Object.fromEntries(
  [
    resolveImage('ds-fixtures/redis:latest', { id: `sha256:${hex('1')}`, repoDigests: [] }),
    resolveImage('ds-fixtures/postgres:latest', {
      id: `sha256:${hex('2')}`,
      repoDigests: [
        `registry.example.com/postgres@sha256:${hex('b')}`,
        `ds-fixtures/postgres@sha256:${hex('a')}`,
      ],
    }),
    resolveImage('ds-fixtures/busybox:latest', { id: `sha256:${hex('3')}`, repoDigests: [] }),
    resolveImage('ds-fixtures/proxy:latest', { id: `sha256:${hex('4')}`, repoDigests: [] }),
  ].map((image) => [image.ref, image]),
);

describe('golden graphs', () => {
  it.each([
    ['three-services.json', 'three-services.json'],
    ['bare-payload.json', 'bare-payload.json'],
    ['no-services.json', 'no-services.json'],
  ])('%s', (input, golden) => {
    expectGolden(golden, render(compileFixture(input)));
  });

  it('three-services.json with its images bound', () => {
    const desired = compileFixture('three-services.json');
    // A service joins its proxy's network namespace: bound with that container's (made-up) id.
    const proxyId = (node: { service: string }) => `${node.service.padEnd(12, '0')}${'0'.repeat(52)}`;
    const bound = desired.containers.map((node) =>
      bindImages(node, (ref) => images[ref], node.role === 'service' ? proxyId(node) : undefined),
    );
    expect(bound.every((node) => node !== undefined)).toBe(true);
    expectGolden('three-services.bound.json', render({ ...desired, containers: bound.map((node) => node!) }));
  });

  it('every field of a service', () => {
    const payload = {
      services: [
        {
          name: 'db',
          image: `registry.example.com:5000/team/postgres:16@sha256:${hex('c')}`,
          command: ['postgres', '-c', 'fsync=off'],
          env: { POSTGRES_PASSWORD: 'pw', POSTGRES_DB: 'ci' },
          healthCheck: {
            command: ['pg_isready', '-U', 'postgres'],
            interval: 0.5,
            timeout: 2,
            startPeriod: 1.25,
            retries: 10,
          },
        },
        { name: 'cache', image: 'ds-fixtures/redis:latest', healthCheck: { command: ['redis-cli', 'ping'] } },
      ],
    };
    const config = testConfig({
      limits: { memoryBytes: 256 * 1024 * 1024, pidsLimit: 64, logMaxBytes: 1024 * 1024 },
    });
    expectGolden(
      'every-field.json',
      render(compile(payload, testContext({ config, runId: 3, scopes: ['b', 'a', 'b'] }))),
    );
  });
});

describe('compile', () => {
  it('a task without services is the empty graph', () => {
    const context = testContext();
    const owner = { ownerId: context.config.ownerId, taskId: TASK_ID, runId: 0 };
    expect(compile({ image: 'x' }, context)).toEqual(emptyGraph(owner));
    expect(compile({ services: [] }, context)).toEqual(emptyGraph(owner));
    expect(emptyGraph(owner)).toEqual({ owner, networks: [], containers: [], images: [] });
  });

  it('refuses a bad payload with every problem and builds nothing', () => {
    const { payload } = taskInputFromJson(fixture('invalid.json'), 'invalid.json');
    expect(() => compile(payload, testContext())).toThrow(PayloadValidationError);
    try {
      compile(payload, testContext());
    } catch (error) {
      expect((error as PayloadValidationError).errors.map((e) => e.path)).toEqual([
        'services[0].image',
        'services[0].privileged',
        'services[1].name',
        'services[1].command',
        'services[2].name',
        'services[2].env.LD_PRELOAD',
        'services[2].env.TASK_SCOPES',
        'services[2].env["A=B"]',
      ]);
    }
  });

  it('refuses a context the worker got wrong', () => {
    expect(() =>
      compile({}, testContext({ taskId: 'short', runId: -1, scopes: [5 as unknown as string] })),
    ).toThrow(
      new ConfigError(
        [
          {
            path: 'taskId',
            value: '"short"',
            message: 'must be a Taskcluster task id (a slugid: 22 of A-Z, a-z, 0-9, -, _); got "short"',
          },
          { path: 'runId', value: '-1', message: 'must be a non-negative integer; got -1' },
          { path: 'scopes', value: '[5]', message: 'must be an array of strings; got [5]' },
        ],
        'compile context',
      ).message,
    );
  });

  it('refuses a task id or a task network given as an array, which would stringify to a valid one', () => {
    const context = testContext({
      taskId: [TASK_ID] as unknown as string,
      taskNetwork: ['gw-task-network'] as unknown as string,
    });
    try {
      compile({}, context);
    } catch (error) {
      expect((error as ConfigError).errors.map((e) => e.path)).toEqual(['taskId', 'taskNetwork']);
    }
    expect.assertions(1);
  });

  it('gives every object the full ownership label set', () => {
    const desired = compileFixture('three-services.json');
    for (const node of [...desired.networks, ...desired.containers]) {
      for (const key of OWNERSHIP_LABELS) expect(node.labels[key]).toBeDefined();
      expect(node.labels[Label.specHash]).toBe(node.specHash);
      expect(node.labels[Label.node]).toBe(node.id);
    }
  });

  it('leaves the served image key symbolic in a proxy until bound', () => {
    const desired = compileFixture('bare-payload.json');
    const proxy = desired.containers.find((c) => c.role === 'proxy')!;
    expect(proxy.cmd).toEqual([
      '--ip-address=127.0.0.1',
      '--port=61080',
      '--root-url=https://tc.example.com',
      `assume:docker-service-image:proj-ci/linux/${IMAGE_KEY_PLACEHOLDER}`,
    ]);
    expect(proxy.imageKeyOf).toBe('ds-fixtures/busybox:latest');
  });
});

describe('compile with the task network of the worker (taskNetwork)', () => {
  const WORKER_NETWORK = `gw-task-${TASK_ID.slice(0, 12)}-0`;
  const { payload, scopes } = taskInputFromJson(fixture('three-services.json'), 'three-services.json');
  // Compiled inside each test: mutation testing credits a test only with the code it runs itself.
  const joinedGraph = () => compile(payload, testContext({ scopes, taskNetwork: WORKER_NETWORK }));

  it('joins it as the task network node, unlabelled and marked external; everything else is as without it', () => {
    const joined = joinedGraph();
    const own = compile(payload, testContext({ scopes }));
    const task = joined.networks.find((n) => n.id === 'network/task')!;
    expect(task).toMatchObject({
      kind: 'network',
      name: WORKER_NETWORK,
      role: 'task-network',
      external: true,
      labels: {},
    });
    expect(joined.networks.filter((n) => n.external)).toEqual([task]);
    // The containers (their labels and spec hashes) do not depend on the task network's name.
    expect(joined.containers).toEqual(own.containers);
    expect(joined.networks.filter((n) => n.id !== 'network/task')).toEqual(
      own.networks.filter((n) => n.id !== 'network/task'),
    );
    // Each pod's endpoint (its proxy's) carries the service's alias there.
    for (const proxy of joined.containers.filter((c) => c.role === 'proxy'))
      expect(proxy.networks).toEqual([{ network: 'network/task', aliases: [proxy.service] }]);
  });

  it('hands the task container that network', () => {
    expect(taskContainerOptions(joinedGraph())).toEqual({
      HostConfig: { NetworkMode: WORKER_NETWORK },
      NetworkingConfig: { EndpointsConfig: { [WORKER_NETWORK]: {} } },
    });
  });

  it.each([
    ['', 'must be a Docker network name'],
    ['-leading-dash', 'must be a Docker network name'],
    ['has space', 'must be a Docker network name'],
    [`ds-${TASK_ID}-0`, 'is named like a network docker-services makes'],
  ])('refuses %j naming the path', (name, message) => {
    expect(() => compile(payload, testContext({ scopes, taskNetwork: name }))).toThrow(ConfigError);
    try {
      compile(payload, testContext({ scopes, taskNetwork: name }));
    } catch (error) {
      const errors = (error as ConfigError).errors;
      expect(errors.map((e) => e.path)).toEqual(['taskNetwork']);
      expect(errors[0]!.message).toContain(message);
    }
  });
});

describe('taskContainerOptions', () => {
  it('joins the task network only', () => {
    const name = `ds-${TASK_ID}-0`;
    expect(taskContainerOptions(compileFixture('three-services.json'))).toEqual({
      HostConfig: { NetworkMode: name },
      NetworkingConfig: { EndpointsConfig: { [name]: {} } },
    });
  });

  it('is empty for the empty graph', () => {
    expect(taskContainerOptions(compileFixture('no-services.json'))).toEqual({});
  });
});

describe('image shapes', () => {
  const TASK_IMAGE_TASK = 'Zq0vH1sVRhmDw0oJxzzXtA';
  const payload = {
    services: [
      { name: 'a', image: 'redis:7' },
      { name: 'b', image: { type: 'docker-image', name: 'postgres@sha256:' + 'a'.repeat(64) } },
      {
        name: 'c',
        image: { type: 'indexed-image', namespace: 'proj.images.latest', path: 'public/i.tar.zst' },
      },
      { name: 'd', image: { type: 'task-image', taskId: TASK_IMAGE_TASK, path: 'private/i.tar' } },
    ],
  };

  it('each service runs its local reference, and the graph says where each comes from under the policy', () => {
    const desired = compile(payload, testContext());
    const sources = desired.imageSources ?? [];
    const byService = (name: string) => desired.containers.find((c) => c.id === `container/service/${name}`)!;
    const sourceOf = (name: string) => sources.find((s) => s.ref === byService(name).image)!;
    expect(sourceOf('a')).toEqual({ from: 'registry', ref: 'redis:7', policy: 'always' });
    // A digest names one manifest for ever: fetched only when missing.
    expect(sourceOf('b')).toMatchObject({ from: 'registry', policy: 'if-not-present' });
    expect(sourceOf('c')).toMatchObject({
      from: 'indexed-image',
      namespace: 'proj.images.latest',
      path: 'public/i.tar.zst',
      policy: 'always',
    });
    // A task's artifact cannot change: fetched only when missing.
    expect(sourceOf('d')).toMatchObject({
      from: 'task-image',
      taskId: TASK_IMAGE_TASK,
      path: 'private/i.tar',
      policy: 'if-not-present',
    });
    expect(byService('d').image).toMatch(/^docker-services\/task-image:[0-9a-f]{40}$/);
    // Each proxy's scope names the key of the image its service runs.
    for (const name of ['a', 'b', 'c', 'd'])
      expect(desired.containers.find((c) => c.id === `container/proxy/${name}`)!.imageKeyOf).toBe(
        byService(name).image,
      );
    expect(desired.images).toEqual([...new Set(desired.containers.map((c) => c.image))].sort());
    expect(sources.map((s) => s.ref)).toEqual(desired.images);
  });

  it("a service that runs the proxy image fetches it under the worker's policy, as its own", () => {
    const proxyImage = testConfig().proxy.image;
    const desired = compile({ services: [{ name: 'a', image: proxyImage }] }, testContext());
    expect(desired.imageSources).toEqual([{ from: 'registry', ref: proxyImage, policy: 'always' }]);
    // Run by proxies only, the worker's own image is fetched when missing.
    expect(
      compile({ services: [{ name: 'a', image: 'redis:7' }] }, testContext()).imageSources,
    ).toContainEqual({
      from: 'registry',
      ref: proxyImage,
      policy: 'if-not-present',
    });
  });

  it('under "never", nothing is fetched; under "if-not-present", tags are not refreshed', () => {
    for (const pullPolicy of ['never', 'if-not-present'] as const) {
      const desired = compile(payload, testContext({ config: testConfig({ images: { pullPolicy } }) }));
      const policies = new Set((desired.imageSources ?? []).map((s) => s.policy));
      expect(policies).toEqual(new Set([pullPolicy]));
    }
  });
});

describe('private image artifacts', () => {
  const image = (path: string) => ({ type: 'task-image', taskId: 'Zq0vH1sVRhmDw0oJxzzXtA', path });

  it('a non-public artifact needs queue:get-artifact:<name> in the task scopes; the error names the scope', () => {
    const payload = { services: [{ name: 'a', image: image('private/builds/image.tar.zst') }] };
    let error: unknown;
    try {
      compile(
        payload,
        testContext({ scopes: ['queue:get-artifact:public/*', 'queue:get-artifact:private/other/*'] }),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect((error as PayloadValidationError).errors).toEqual([
      {
        path: 'services[0].image.path',
        value: '"private/builds/image.tar.zst"',
        message:
          'is a private artifact: the task\'s scopes must include "queue:get-artifact:private/builds/image.tar.zst" (fix: add that scope to the task, or publish the image under public/)',
      },
    ]);
    // With the scope (here through a star scope) it compiles; a public artifact needs none.
    expect(() =>
      compile(payload, testContext({ scopes: ['queue:get-artifact:private/builds/*'] })),
    ).not.toThrow();
    expect(() =>
      compile({ services: [{ name: 'a', image: image('public/image.tar') }] }, testContext({ scopes: [] })),
    ).not.toThrow();
  });
});
