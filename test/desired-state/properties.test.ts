/**
 * Properties of compile over generated payloads: determinism, well-formed graphs, hash stability
 * and sensitivity, and that no env value (the payload's secrets) leaks outside the graph's env.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compile, type CompileContext } from '../../src/desired-state/compile.js';
import { PayloadValidationError } from '../../src/desired-state/errors.js';
import {
  canonicalJson,
  containerHashInput,
  networkHashInput,
  specHash,
} from '../../src/desired-state/hash.js';
import { bindImages, resolveImage } from '../../src/desired-state/images.js';
import { Label } from '../../src/desired-state/labels.js';
import { TASK_NETWORK_NODE, parseOwnedName } from '../../src/desired-state/names.js';
import { envNameProblem } from '../../src/desired-state/payload.js';
import { RESERVED_SERVICE_NAMES } from '../../src/desired-state/policy.js';
import { taskContainerOptions } from '../../src/desired-state/task-container.js';
import type { DesiredState, ResolvedImage } from '../../src/desired-state/types.js';
import { OWNERSHIP_LABELS, serviceNameArb, taskIdArb, testConfig } from './support.js';

const config = testConfig();

const imageArb = fc.constantFrom(
  'redis:7',
  'ds-fixtures/redis:latest',
  'postgres@sha256:' + 'a'.repeat(64),
  'registry.example.com:5000/team/app:v1',
);
const envNameArb = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/)
  .filter((name) => envNameProblem(name) === undefined);
/** Env values carry a marker, so that a leak is found by searching for it. */
const secretArb = fc.string({ maxLength: 12 }).map((s) => `SECRET-${Buffer.from(s).toString('hex')}-END`);
const argArb = fc.string({ maxLength: 10 }).filter((s) => !s.includes('\0'));

const healthArb = fc.record(
  {
    command: fc.array(argArb, { minLength: 1, maxLength: 3 }),
    interval: fc.integer({ min: 1, max: 3600 }),
    timeout: fc.double({ min: 0.001, max: 3600, noNaN: true }),
    startPeriod: fc.integer({ min: 0, max: 60 }),
    retries: fc.integer({ min: 1, max: 100 }),
  },
  { requiredKeys: ['command'] },
);

const serviceArb = fc.record(
  {
    name: serviceNameArb.filter((n) => !RESERVED_SERVICE_NAMES.includes(n)),
    image: imageArb,
    command: fc.array(argArb, { maxLength: 4 }),
    env: fc.dictionary(envNameArb, secretArb, { maxKeys: 5 }),
    healthCheck: healthArb,
  },
  { requiredKeys: ['name', 'image'] },
);

const servicesArb = fc.uniqueArray(serviceArb, { selector: (s) => s.name, minLength: 1, maxLength: 5 });
const scopesArb = fc.array(fc.constantFrom('a:b', 'queue:x', 'secrets:get:y', '*'), { maxLength: 4 });

const contextArb = fc.record({
  config: fc.constant(config),
  taskId: taskIdArb,
  runId: fc.nat({ max: 50 }),
  scopes: scopesArb,
}) as fc.Arbitrary<CompileContext>;

/** The same value with every object's keys in another order. */
function reorderKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => reorderKeys(v, seed + i));
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    const rotated = entries.length ? seed % entries.length : 0;
    const order = [...entries.slice(rotated), ...entries.slice(0, rotated)].reverse();
    return Object.fromEntries(order.map(([k, v]) => [k, reorderKeys(v, seed + 1)]));
  }
  return value;
}

function allNodes(desired: DesiredState) {
  return [...desired.networks, ...desired.containers];
}

describe('compile', () => {
  it('is deterministic under reordering of services, keys and scopes, and ignores docker-worker keys', () => {
    fc.assert(
      fc.property(servicesArb, contextArb, fc.nat(), fc.nat(), (services, context, seed, rotation) => {
        const a = compile({ services }, context);
        const k = rotation % services.length;
        const shuffled = [...services.slice(k), ...services.slice(0, k)].reverse();
        const b = compile(reorderKeys({ maxRunTime: 5, image: 'x', services: shuffled }, seed), {
          ...context,
          scopes: [...context.scopes, ...context.scopes].reverse(),
        });
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
    );
  });

  it('builds well-formed graphs', () => {
    fc.assert(
      fc.property(servicesArb, contextArb, (services, context) => {
        const desired = compile({ services }, context);
        const owner = desired.owner;
        const networks = new Map(desired.networks.map((n) => [n.id, n]));
        const ids = new Set(allNodes(desired).map((n) => n.id));
        expect(ids.size).toBe(allNodes(desired).length);
        expect(new Set(allNodes(desired).map((n) => `${n.kind}:${n.name}`)).size).toBe(ids.size);
        expect(desired.containers).toHaveLength(2 * services.length);
        // One network per task, whatever the number of services.
        expect(desired.networks).toHaveLength(1);

        const aliases = new Map<string, string[]>();
        const containers = new Map(desired.containers.map((c) => [c.id, c]));
        for (const container of desired.containers) {
          for (const dependency of container.dependsOn) expect(ids.has(dependency)).toBe(true);
          for (const attachment of container.networks) {
            expect(networks.has(attachment.network)).toBe(true);
            aliases.set(attachment.network, [
              ...(aliases.get(attachment.network) ?? []),
              ...attachment.aliases,
            ]);
            // Every network a container joins exists before it: it depends on them.
            expect(container.dependsOn).toContain(attachment.network);
          }
          if (container.role === 'proxy') {
            // The pod's endpoint: the service's alias on the task network, `taskcluster` on loopback.
            expect(container.networks).toEqual([
              { network: TASK_NETWORK_NODE, aliases: [container.service] },
            ]);
            expect(container.extraHosts).toEqual(['taskcluster:127.0.0.1']);
            expect(container.cmd).toContain('--ip-address=127.0.0.1');
            expect(container.cmd).toContain(`--port=${context.config.proxy.port}`);
            expect(container.networkNamespaceOf).toBeUndefined();
            expect(container.needsCredentials).toBe(true);
            expect(container.env).toEqual({});
          } else {
            // No endpoint of its own: it joins its own proxy's namespace, and only that.
            expect(container.networks).toEqual([]);
            expect(container.networkNamespaceOf).toBe(`container/proxy/${container.service}`);
            expect(containers.get(container.networkNamespaceOf!)?.service).toBe(container.service);
            expect(container.dependsOn).toEqual([`container/proxy/${container.service}`]);
            expect(container.env.TASKCLUSTER_PROXY_URL).toBe(
              `http://taskcluster:${context.config.proxy.port}`,
            );
            expect(container.needsCredentials).toBe(false);
          }
        }
        for (const list of aliases.values()) expect(new Set(list).size).toBe(list.length);

        // The task container joins the task network only.
        const options = taskContainerOptions(desired);
        const taskNetwork = networks.get(TASK_NETWORK_NODE)!;
        expect(taskNetwork.role).toBe('task-network');
        expect(options.HostConfig!.NetworkMode).toBe(taskNetwork.name);
        expect(Object.keys(options.NetworkingConfig!.EndpointsConfig)).toEqual([taskNetwork.name]);

        for (const node of allNodes(desired)) {
          for (const key of OWNERSHIP_LABELS) expect(typeof node.labels[key]).toBe('string');
          expect(node.labels[Label.owner]).toBe(owner.ownerId);
          expect(node.labels[Label.taskId]).toBe(owner.taskId);
          expect(node.labels[Label.runId]).toBe(String(owner.runId));
          expect(node.labels[Label.node]).toBe(node.id);
          expect(node.labels[Label.specHash]).toBe(node.specHash);
          const parsed = parseOwnedName(node.name);
          expect(parsed).toBeDefined();
          expect(parsed!.taskId).toBe(owner.taskId);
          expect(parsed!.runId).toBe(owner.runId);
          if (node.id !== TASK_NETWORK_NODE) expect(node.labels[Label.service]).toBe(parsed!.service);
          expect(parsed!.proxy ?? false).toBe(node.kind === 'container' && node.role === 'proxy');
        }
        expect(desired.images).toEqual([...new Set(desired.containers.map((c) => c.image))].sort());
      }),
    );
  });
});

describe('spec hash', () => {
  it('canonical JSON, and so the hash, is independent of key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
        expect(canonicalJson(reorderKeys(value, seed))).toBe(canonicalJson(value));
        expect(specHash(reorderKeys(value, seed))).toBe(specHash(value));
      }),
    );
  });

  type Mutation = (s: Record<string, unknown>) => Record<string, unknown>;
  const mutations: Record<string, Mutation> = {
    image: (s) => ({ ...s, image: s.image === 'redis:7' ? 'redis:8' : 'redis:7' }),
    'command added': (s) => ({ ...s, command: [...((s.command as string[]) ?? []), 'x'] }),
    'command removed': (s) => ({ ...s, command: s.command === undefined ? [] : undefined }),
    'env value': (s) => ({ ...s, env: { ...(s.env as object), ZZ_EXTRA: 'a' } }),
    'health check interval': (s) => ({
      ...s,
      healthCheck: {
        command: ['true'],
        // Another valid interval: one second more, or less at the 3600 s ceiling.
        interval: ((interval) => (interval >= 3600 ? interval - 1 : interval + 1))(
          (s.healthCheck as { interval?: number })?.interval ?? 2,
        ),
      },
    }),
  };

  it('changes when any hashed field of a service changes', () => {
    fc.assert(
      fc.property(
        servicesArb,
        contextArb,
        fc.constantFrom(...Object.keys(mutations)),
        (services, context, which) => {
          const before = compile({ services }, context);
          const [first, ...rest] = services;
          const after = compile({ services: [mutations[which]!(first!), ...rest] }, context);
          const hash = (d: DesiredState) =>
            d.containers.find((c) => c.id === `container/service/${first!.name}`)!.specHash;
          expect(hash(after)).not.toBe(hash(before));
        },
      ),
    );
  });

  it('changes when an env value changes, by any character', () => {
    fc.assert(
      fc.property(serviceArb, contextArb, secretArb, secretArb, (service, context, a, b) => {
        fc.pre(a !== b);
        const hash = (value: string) =>
          compile({ services: [{ ...service, env: { ...service.env, V: value } }] }, context).containers.find(
            (c) => c.role === 'service',
          )!.specHash;
        expect(hash(a)).not.toBe(hash(b));
      }),
    );
  });

  it('changes with the worker limits, the task, the run and the scopes', () => {
    fc.assert(
      fc.property(servicesArb, contextArb, (services, context) => {
        const base = compile({ services }, context).containers.map((c) => c.specHash);
        const variants: CompileContext[] = [
          { ...context, config: testConfig({ limits: { memoryBytes: config.limits.memoryBytes * 2 } }) },
          { ...context, config: testConfig({ limits: { pidsLimit: 17 } }) },
          { ...context, config: testConfig({ limits: { logMaxBytes: 1 << 20 } }) },
          { ...context, runId: context.runId + 1 },
        ];
        for (const variant of variants) {
          const changed = compile({ services }, variant).containers.map((c) => c.specHash);
          for (let i = 0; i < base.length; i++) expect(changed[i]).not.toBe(base[i]);
        }
        const rescoped = compile({ services }, { ...context, scopes: [...context.scopes, 'new:scope'] });
        for (const container of rescoped.containers.filter((c) => c.role === 'service'))
          expect(base).not.toContain(container.specHash);
      }),
    );
  });

  it('after binding, changes with the image id and the served key, and is stable otherwise', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    fc.assert(
      fc.property(servicesArb, contextArb, hex, hex, hex, (services, context, x, y, z) => {
        fc.pre(x !== y && y !== z && x !== z);
        const desired = compile({ services }, context);
        const resolver =
          (id: string, key: string) =>
          (ref: string): ResolvedImage =>
            resolveImage(ref, {
              id: `sha256:${id}`,
              repoDigests: key === id ? [] : [`${ref}@sha256:${key}`],
            });
        // A service joins its proxy's namespace: its binding names that container's id too.
        const [pod, other] = [`sha256:${x}`, `sha256:${y}`].map((id) => id.slice(7));
        for (const node of desired.containers) {
          const base = bindImages(node, resolver(x, x), pod)!;
          expect(bindImages(node, resolver(x, x), pod)!.specHash).toBe(base.specHash);
          expect(base.specHash).not.toBe(node.specHash);
          expect(bindImages(node, resolver(y, x), pod)!.specHash).not.toBe(base.specHash);
          if (node.role === 'proxy') {
            expect(bindImages(node, resolver(x, z), pod)!.specHash).not.toBe(base.specHash);
            // A proxy joins no namespace: an id offered is ignored.
            expect(bindImages(node, resolver(x, x), other)!.specHash).toBe(base.specHash);
          } else {
            expect(bindImages(node, resolver(x, x))).toBeUndefined();
            expect(base.namespaceContainerId).toBe(pod);
            expect(bindImages(node, resolver(x, x), other)!.specHash).not.toBe(base.specHash);
          }
        }
      }),
    );
  });

  it('networks hash their identity', () => {
    expect(specHash(networkHashInput({ name: 'a', role: 'task-network' }))).not.toBe(
      specHash(networkHashInput({ name: 'b', role: 'task-network' })),
    );
  });
});

describe('secrets', () => {
  it('no env value appears in labels, hash inputs, or the rendering outside env', () => {
    fc.assert(
      fc.property(servicesArb, contextArb, (services, context) => {
        const secrets = services.flatMap((s) => Object.values(s.env ?? {}));
        const desired = compile({ services }, context);
        const bound = desired.containers.map((node) =>
          bindImages(
            node,
            (ref) => resolveImage(ref, { id: `sha256:${'1'.repeat(64)}`, repoDigests: [] }),
            '2'.repeat(64),
          )!,
        );
        const outside = [
          ...allNodes(desired).map((n) => JSON.stringify(n.labels)),
          ...bound.map((n) => JSON.stringify(n.labels)),
          ...desired.containers.map((c) => canonicalJson(containerHashInput(c))),
          ...desired.networks.map((n) => canonicalJson(networkHashInput(n))),
          canonicalJson({
            ...desired,
            containers: desired.containers.map((c) => ({ ...c, env: undefined })),
          }),
          canonicalJson({ ...desired, containers: bound.map((c) => ({ ...c, env: undefined })) }),
        ].join('\n');
        for (const secret of secrets) expect(outside).not.toContain(secret);
        expect(outside).not.toContain('SECRET-');
      }),
    );
  });

  it('no env value appears in the errors of a refused payload', () => {
    const badEnvArb = fc.dictionary(
      fc.oneof(envNameArb, fc.constantFrom('LD_PRELOAD', 'TASK_ID', 'A=B', '', 'X\nY', 'TASKCLUSTER_X')),
      fc.oneof(
        secretArb,
        secretArb.map((s) => `${s}\0`),
        secretArb.map((s) => s.repeat(3000)),
      ),
      { minKeys: 1, maxKeys: 5 },
    );
    fc.assert(
      fc.property(badEnvArb, fc.boolean(), (env, extraError) => {
        const payload = { services: [{ name: 'db', image: extraError ? '-bad' : 'redis', env }] };
        let error: unknown;
        try {
          compile(payload, { config, taskId: 'fixture_Task-Id0123456', runId: 0, scopes: [] });
        } catch (e) {
          error = e;
        }
        fc.pre(error !== undefined);
        expect(error).toBeInstanceOf(PayloadValidationError);
        const text = `${(error as Error).message}\n${JSON.stringify((error as PayloadValidationError).errors)}`;
        expect(text).not.toContain('SECRET-');
      }),
    );
  });
});
