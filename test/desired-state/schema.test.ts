/**
 * The JSON Schema of `payload.services` says what the codec says. ajv (the schema embedded as a
 * host embeds it: under `properties.services`, without `$schema`) and `decodeServicesEither` give
 * the same verdict on every payload fixture, every case of the bad-payload table and thousands of
 * generated payloads, valid and nearly valid, except on a payload that breaks a rule JSON Schema
 * cannot state (`schemaGaps`): `gapsBroken` below states those rules again, independently of both,
 * and every input must satisfy  codec accepts ⇔ schema accepts ∧ no gap rule broken.
 */
import { beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import fc from 'fast-check';
import { DEFAULT_LIMITS, type WorkerConfig } from '../../src/desired-state/config.js';
import { decodeServicesEither } from '../../src/desired-state/payload.js';
import {
  INJECTED_ENV_NAMES,
  LOADER_HIJACK_ENV_NAMES,
  RESERVED_SERVICE_NAMES,
} from '../../src/desired-state/policy.js';
import {
  JSON_SCHEMA_DRAFT,
  schemaGaps,
  servicesSchema,
  type JsonSchema,
  type SchemaLimits,
} from '../../src/desired-state/schema.js';
import { INVALID_PAYLOADS } from './payload-cases.js';
import { serviceNameArb, testConfig } from './support.js';

const Ajv = AjvModule.default;
type Limits = WorkerConfig['limits'];

const config = testConfig();
const GENERATED_RUNS = 2_000;

function isObject(u: unknown): u is Record<string, unknown> {
  return typeof u === 'object' && u !== null && !Array.isArray(u);
}

/** A payload schema with `services` in it, the way docs/d2g.md tells a host to add it. */
function payloadValidator(schema: JsonSchema): (payload: unknown) => boolean {
  const { $schema: _dropped, ...embedded } = schema;
  // strict: an unknown or misspelt keyword is an error, not a rule silently not applied.
  const ajv = new Ajv({ strict: true });
  return ajv.compile({ type: 'object', properties: { services: embedded } }) as (u: unknown) => boolean;
}

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * The rules of `schemaGaps` that `payload` breaks, stated again from the codec's documentation:
 * unique names, UTF-8 byte caps on values and arguments, the total size of an environment.
 */
function gapsBroken(payload: unknown, limits: SchemaLimits): string[] {
  const services = isObject(payload) ? payload.services : undefined;
  if (!Array.isArray(services)) return [];
  const broken = new Set<string>();
  const names = services.map((s) => (isObject(s) ? s.name : undefined)).filter((n) => typeof n === 'string');
  if (new Set(names).size !== names.length) broken.add('unique names');
  for (const service of services) {
    if (!isObject(service)) continue;
    const strings = (u: unknown): string[] =>
      Array.isArray(u) ? u.filter((x): x is string => typeof x === 'string') : [];
    const envEntries = isObject(service.env)
      ? Object.entries(service.env).filter((e): e is [string, string] => typeof e[1] === 'string')
      : [];
    const values = [
      ...strings(service.command),
      ...strings(isObject(service.healthCheck) ? service.healthCheck.command : undefined),
      ...envEntries.map(([, value]) => value),
    ];
    if (values.some((value) => bytes(value) > limits.maxValueBytes)) broken.add('value bytes');
    const total = envEntries.reduce((sum, [name, value]) => sum + bytes(`${name}=${value}`), 0);
    if (total > limits.maxEnvBytes) broken.add('env bytes');
  }
  return [...broken].sort();
}

interface Verdict {
  codec: boolean;
  schema: boolean;
  gaps: string[];
}

function verdictOf(payload: unknown, schemaAccepts: (u: unknown) => boolean, limits: Limits): Verdict {
  return {
    codec: decodeServicesEither(payload, { limits })._tag === 'Right',
    schema: schemaAccepts(payload),
    gaps: gapsBroken(payload, limits),
  };
}

/** Throws, with the payload in the message, unless the verdicts agree up to the gaps. */
function expectAgreement(payload: unknown, verdict: Verdict): void {
  if (verdict.codec !== (verdict.schema && verdict.gaps.length === 0))
    throw new Error(
      `codec ${verdict.codec ? 'accepts' : 'refuses'}, schema ${verdict.schema ? 'accepts' : 'refuses'}` +
        `, gap rules broken: [${verdict.gaps.join(', ')}]; payload: ${JSON.stringify(payload).slice(0, 2000)}`,
    );
}

describe('the schema document', () => {
  // Made inside each test: mutation testing credits a test only with the code it runs itself.
  const schema = (): JsonSchema => servicesSchema(DEFAULT_LIMITS);

  it('is a draft-07 schema that ajv compiles in strict mode', () => {
    const ajv = new Ajv({ strict: true });
    expect(schema().$schema).toBe(JSON_SCHEMA_DRAFT);
    expect(ajv.validateSchema(schema())).toBe(true);
    expect(() => ajv.compile(schema())).not.toThrow();
  });

  /** Every schema object below `schema`, each with its path. */
  /**
   * Every schema object below `schema`, each with its path: under `properties` each value, and under
   * any other keyword an object or an array's objects (`items`, `not`, `anyOf`, `oneOf`, …), so a
   * keyword added later is walked too. `enum` holds values, not schemas.
   */
  function subschemas(s: JsonSchema, path = '#'): Array<[string, JsonSchema]> {
    const below = Object.entries(s).flatMap(([key, value]): Array<[string, JsonSchema]> => {
      if (key === 'enum') return [];
      if (key === 'properties')
        return Object.entries(value as Record<string, JsonSchema>).flatMap(([name, child]) =>
          subschemas(child, `${path}/properties/${name}`),
        );
      if (Array.isArray(value))
        return value.flatMap((child, i) => (isObject(child) ? subschemas(child, `${path}/${key}/${i}`) : []));
      return isObject(value) ? subschemas(value, `${path}/${key}`) : [];
    });
    return [[path, s], ...below];
  }

  it('uses only keywords draft-06 has too (Taskcluster payload schemas are draft-06), and no $ref or $id', () => {
    const draft06 = JSON.parse(
      readFileSync(join('node_modules', 'ajv', 'dist', 'refs', 'json-schema-draft-06.json'), 'utf8'),
    ) as { properties: Record<string, unknown> };
    const keywords = new Set(Object.keys(draft06.properties));
    const foreign = subschemas(schema()).flatMap(([path, s]) =>
      Object.keys(s)
        .filter((k) => !keywords.has(k) || k === '$ref' || k === '$id' || k === 'definitions')
        .map((k) => `${path}: ${k}`),
    );
    expect(foreign).toEqual([]);
    // The walk reaches the deepest parts, so the check above looked at them.
    expect(subschemas(schema()).map(([path]) => path)).toEqual(
      expect.arrayContaining([
        '#/items/properties/healthCheck/properties/retries',
        '#/items/properties/env/propertyNames/not/anyOf/1',
        '#/items/properties/env/additionalProperties',
      ]),
    );
  });

  it("has patterns that RE2 (Go's regexp, used by gojsonschema) also reads: no lookaround, no backreference", () => {
    const patterns = subschemas(schema()).flatMap(([, s]) => (s.pattern === undefined ? [] : [s.pattern]));
    expect(patterns.length).toBeGreaterThanOrEqual(5);
    expect(patterns.filter((p) => /\(\?[=!<]|\\[1-9]/.test(p))).toEqual([]);
  });

  // What a host embeds and shows task authors, titles and descriptions included: any change to
  // it is a diff to review (UPDATE_GOLDEN=1 rewrites the file).
  it('is the document in fixtures/golden/desired-state/services.schema.json', () => {
    const file = new URL('../../fixtures/golden/desired-state/services.schema.json', import.meta.url);
    const text = `${JSON.stringify(schema(), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });

  it('names the rules it cannot state, with the limits', () => {
    expect(schema().description).toContain(schemaGaps(DEFAULT_LIMITS).join('; '));
    expect(schemaGaps(DEFAULT_LIMITS).join('\n')).toMatch(
      /unique[^\n]*\n[^\n]*32768 bytes[^\n]*\n[^\n]*65536 bytes/,
    );
  });
});

describe('schema and codec agree', () => {
  // Made before each test, not once: mutation testing credits a test only with the code run for it.
  let accepts: (payload: unknown) => boolean = () => false;
  beforeEach(() => {
    accepts = payloadValidator(servicesSchema(config.limits));
  });
  const verdict = (payload: unknown): Verdict => verdictOf(payload, accepts, config.limits);

  it('at the default limits, which the CLI prints', () => {
    expect(config.limits).toEqual(DEFAULT_LIMITS);
  });

  it('on every payload fixture', () => {
    const dir = join('fixtures', 'payloads');
    const verdicts = Object.fromEntries(
      readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .map((file) => {
          const json: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
          // A whole task definition holds the payload under `payload`, as the CLI reads it.
          const payload = isObject(json) && 'payload' in json ? json.payload : json;
          const v = verdict(payload);
          expectAgreement(payload, v);
          return [file, v.schema];
        }),
    );
    expect(verdicts).toEqual({
      'bare-payload.json': true,
      'invalid.json': false,
      'no-services.json': true,
      'three-services.json': true,
    });
  });

  it.each(INVALID_PAYLOADS)('on the bad payload "%s"', (_name, payload) => {
    const v = verdict(payload);
    expect(v.codec).toBe(false);
    expectAgreement(payload, v);
  });

  it('the bad payloads that pass the schema are exactly those that break only a gap rule', () => {
    const passing = INVALID_PAYLOADS.filter(([, payload]) => accepts(payload)).map(([name, payload]) => [
      name,
      gapsBroken(payload, config.limits),
    ]);
    expect(passing).toEqual([
      ['duplicate names', ['unique names']],
      // maxLength counts characters: 16,385 of them are 32,770 bytes.
      ['command argument over the byte limit in two-byte characters', ['value bytes']],
      ['env over its total size', ['env bytes']],
    ]);
  });

  it('on every near miss, alone in an otherwise valid service', () => {
    const verdicts = nearMisses(config.limits).map(([field, value]) => {
      const payload: unknown = JSON.parse(
        JSON.stringify({ services: [{ name: 'db', image: 'redis:7', [field]: value }] }),
      );
      const v = verdict(payload);
      expectAgreement(payload, v);
      return v.codec;
    });
    expect(verdicts.length).toBeGreaterThan(150);
    expect(verdicts.filter((accepted) => accepted).length).toBeGreaterThan(20);
    expect(verdicts.filter((accepted) => !accepted).length).toBeGreaterThan(100);
  });

  it(`on ${GENERATED_RUNS} generated payloads, valid and nearly valid, reaching every side`, () => {
    const seen = { accepted: 0, refused: 0, gaps: new Map<string, number>() };
    fc.assert(
      fc.property(payloadArb(config.limits), (generated) => {
        // Through JSON, as a payload reaches a worker: keys such as __proto__ become own properties.
        const payload: unknown = JSON.parse(JSON.stringify(generated));
        const v = verdict(payload);
        expectAgreement(payload, v);
        if (v.codec) seen.accepted++;
        else if (!v.schema) seen.refused++;
        for (const gap of v.schema ? v.gaps : []) seen.gaps.set(gap, (seen.gaps.get(gap) ?? 0) + 1);
      }),
      { numRuns: GENERATED_RUNS },
    );
    // Both verdicts are common, and each gap rule is met where it makes the difference. The
    // bounds are far below what a run gives: about a quarter accepted, nearly half refused by
    // both, each gap rule over a hundred times.
    expect(seen.accepted).toBeGreaterThan(GENERATED_RUNS / 10);
    expect(seen.refused).toBeGreaterThan(GENERATED_RUNS / 10);
    expect([...seen.gaps.keys()].sort()).toEqual(['env bytes', 'unique names', 'value bytes']);
  });

  it('under smaller worker limits, where the generated payloads reach every limit', () => {
    const limits: Limits = testConfig({
      limits: { maxServices: 2, maxEnvEntries: 3, maxValueBytes: 8, maxEnvBytes: 20 },
    }).limits;
    const small = payloadValidator(servicesSchema(limits));
    for (const [field, value] of nearMisses(limits)) {
      const payload: unknown = JSON.parse(
        JSON.stringify({ services: [{ name: 'db', image: 'redis:7', [field]: value }] }),
      );
      expectAgreement(payload, verdictOf(payload, small, limits));
    }
    let accepted = 0;
    fc.assert(
      fc.property(payloadArb(limits), (generated) => {
        const payload: unknown = JSON.parse(JSON.stringify(generated));
        const v = verdictOf(payload, small, limits);
        expectAgreement(payload, v);
        if (v.codec) accepted++;
      }),
      { numRuns: 500 },
    );
    expect(accepted).toBeGreaterThan(10);
  });
});

// --- near misses and generated payloads -----------------------------------------------------

/** Strings over the byte cap and under the same number of characters: é is 2 bytes, 😀 is 4. */
function overByteCap(limits: Limits): string[] {
  const half = Math.floor(limits.maxValueBytes / 2);
  return ['é'.repeat(half + 1), '😀'.repeat(half + 1)];
}

const UNKNOWN_KEYS = [
  'privileged',
  'entrypoint',
  'Name',
  'IMAGE',
  '',
  '__proto__',
  'constructor',
  'toString',
];

/**
 * For each field of a service, values one step from one of its rules: at a limit and just over,
 * reserved names, a wrong type, images next to the reference grammar. Some are valid (the near side
 * of a step): the codec decides, the schema must follow.
 */
function nearMisses(limits: Limits): Array<[field: string, value: unknown]> {
  const nul = 'a\0b';
  const max = limits.maxValueBytes;
  const over = overByteCap(limits);
  const entries = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, 'x']));
  const of = (field: string, values: unknown[]): Array<[string, unknown]> =>
    values.map((value) => [field, value]);
  return [
    ...of('name', [
      ...['DB', 'a_b', 'pypi.org', '-rm', 'rm-', '', 'x'.repeat(64), 'dЬ', 5, null],
      ...RESERVED_SERVICE_NAMES,
      ...['x'.repeat(63), 'taskcluster1', 'localhost0', '0', 'a-b'],
    ]),
    ...of('image', [
      ...['Redis:7', 'redis:', 'redis@sha256:1234', `x@sha256:${'a'.repeat(31)}`, '-v /:/host alpine'],
      ...['alpine --privileged', 'redis:7\n', '', 5, null, 'a'.repeat(256), `x:${'a'.repeat(129)}`],
      ...['x:-tag', 'a___b', 'a.-b', 'a//b', '/a', 'localhost:/x', 'ＲEDIS', ['redis:7']],
      ...['a'.repeat(255), `x:${'a'.repeat(128)}`, `a@sha256:${'A'.repeat(32)}`, 'x:_tag', 'a__b'],
      ...['Registry.Example.COM/x', 'localhost:5000/a_b/c__d/e---f:V1.2-x', '[::1]:5000/x'],
      // docker-worker's other image forms, and one step off each of their rules.
      { type: 'docker-image', name: 'redis:7' },
      { type: 'docker-image', name: 'Redis:7' },
      { type: 'docker-image' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'public/../x' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: '/abs' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'a//b' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: '.../x' },
      // The same artifact names with a tarball's suffix: only the name's grammar refuses them.
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'public/../x.tar' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: '/abs.tar' },
      { type: 'indexed-image', namespace: 'project.ci', path: 'a//b.tar' },
      { type: 'indexed-image', namespace: 'project.ci', path: 'public/my image.tar' },
      { type: 'task-image', taskId: 'short', path: 'public/i.tar' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'public/i.tar', extra: 1 },
      { type: 'indexed-image', namespace: 'a..b', path: 'public/i.tar' },
      { type: 'indexed-image', namespace: 'x'.repeat(101), path: 'public/i.tar' },
      { type: 'docker-tarball', name: 'x' },
      { type: 'indexed-image', namespace: 'project.ci.images.latest', path: 'public/image.tar.zst' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'public/image.tar.zst' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'public/image.tar.lz4' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'public/image.tar.gz' },
      { type: 'task-image', taskId: 'fixture_Task-Id0123456', path: 'public/image.tar.zst.sig' },
      { type: 'indexed-image', namespace: 'project.ci.images.latest', path: 'public/image' },
    ]),
    ...of('command', [
      ...['redis-server --port 6380', { 0: 'x' }, [1], [null], [nul], ['a'.repeat(max + 1)]],
      ...[Array<string>(256).fill('x'), Array<string>(257).fill('x'), [], ['a'.repeat(max)]],
      ...over.map((text) => [text]),
    ]),
    ...of('env', [
      ...[null, [], 'A=B', { A: 5 }, { A: null }, { A: ['x'] }, { A: nul }, { A: 'a'.repeat(max + 1) }],
      ...[{ A: 'a'.repeat(max) }, entries(limits.maxEnvEntries), entries(limits.maxEnvEntries + 1)],
      ...over.map((text) => ({ A: text })),
      // Each value under the cap, together over the environment's.
      Object.fromEntries(['A', 'B', 'C'].map((n) => [n, 'a'.repeat(Math.ceil(limits.maxEnvBytes / 3))])),
      ...[...INJECTED_ENV_NAMES, ...LOADER_HIJACK_ENV_NAMES, 'TASKCLUSTER_X', 'TASKCLUSTER_', 'LD_']
        .concat(['LD_X', 'DYLD_X', 'A=B', '1A', '', 'A-B', 'É', 'X\nY'])
        .concat(['ld_preload', 'TASKCLUSTERX', 'XLD_', '__proto__', 'constructor', '_'])
        .map((name) => ({ [name]: 'x' })),
    ]),
    ...of('healthCheck', [
      ...['redis-cli ping', {}, { interval: 1 }, { command: [] }, { command: 'true' }, { command: [nul] }],
      ...over.map((text) => ({ command: [text] })),
      ...(
        [
          ['interval', [0, 0.0009, 0.001, 3600, 3600.5, -1, null, '1']],
          ['timeout', [0, 0.001, 3600, 3601]],
          ['startPeriod', [-0.5, 0, 3600, 3600.001, 'x']],
          ['retries', [0, 1, 100, 101, 1.5, '3']],
          ['test', [['CMD', 'true']]],
        ] as Array<[string, unknown[]]>
      ).flatMap(([key, values]) => values.map((value) => ({ command: ['true'], [key]: value }))),
    ]),
    ...UNKNOWN_KEYS.map((key): [string, unknown] => [key, true]),
  ];
}

/** A payload whose services are valid, or nearly: a flawed service is one near miss off. */
function payloadArb(limits: Limits): fc.Arbitrary<unknown> {
  const atByteCap = ['a'.repeat(limits.maxValueBytes), 'é'.repeat(Math.floor(limits.maxValueBytes / 2))];
  const nameArb = fc.oneof(
    serviceNameArb.filter((n) => !RESERVED_SERVICE_NAMES.includes(n)),
    fc.constantFrom('db', 'a', '0', 'a-b', 'x'.repeat(63)),
  );
  const imageArb = fc.oneof(
    fc.constantFrom('redis:7', 'ds-fixtures/redis:latest', `postgres@sha256:${'a'.repeat(64)}`),
    fc.stringMatching(
      /^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4}){0,2}(?:\/[a-z0-9]{1,5}){0,2}(?::\w[\w.-]{0,8})?$/,
    ),
  );
  const textArb = fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.constantFrom(...atByteCap),
  );
  const envNameArb = fc.oneof(
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/),
    fc.constantFrom('PATH', '__proto__', 'constructor'),
  );
  const secondsArb = fc.oneof(
    fc.double({ min: 0.001, max: 3600, noNaN: true }),
    fc.constantFrom(0.001, 1, 3600),
  );
  const validService = fc.record(
    {
      name: nameArb,
      image: imageArb,
      command: fc.array(textArb, { maxLength: 4 }),
      env: fc.dictionary(envNameArb, textArb, { maxKeys: Math.min(4, limits.maxEnvEntries) }),
      healthCheck: fc.record(
        {
          command: fc.array(textArb, { minLength: 1, maxLength: 3 }),
          interval: secondsArb,
          timeout: secondsArb,
          startPeriod: fc.oneof(fc.constant(0), secondsArb),
          retries: fc.integer({ min: 1, max: 100 }),
        },
        { requiredKeys: ['command'] },
      ),
    },
    { requiredKeys: ['name', 'image'] },
  );

  type Service = Record<string, unknown>;
  type Flaw = (service: Service) => Service;
  const setTo =
    (key: string, value: unknown): Flaw =>
    (service) => ({ ...service, [key]: value });
  const overByteCapArb: fc.Arbitrary<Flaw> = fc
    .constantFrom(...overByteCap(limits))
    .chain((text) =>
      fc.constantFrom(
        setTo('command', [text]),
        setTo('env', { A: text }),
        setTo('healthCheck', { command: [text] }),
      ),
    );
  const flawArb: fc.Arbitrary<Flaw> = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...nearMisses(limits)).map(([key, value]) => setTo(key, value)) },
    { weight: 1, arbitrary: overByteCapArb },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...UNKNOWN_KEYS), fc.jsonValue({ maxDepth: 1 }))
        .map(([key, value]) => setTo(key, value)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('name', 'image').map(
        (key): Flaw =>
          (service) =>
            Object.fromEntries(Object.entries(service).filter(([k]) => k !== key)),
      ),
    },
  );
  const serviceArb = fc.oneof(
    { weight: 4, arbitrary: validService },
    { weight: 3, arbitrary: fc.tuple(validService, flawArb).map(([service, flaw]) => flaw(service)) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 'redis', [], 5) },
  );
  const servicesArb = fc.oneof(
    { weight: 6, arbitrary: fc.array(serviceArb, { maxLength: Math.min(4, limits.maxServices + 1) }) },
    // Unique names, so that the count is the only question: at the limit and one over.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(limits.maxServices, limits.maxServices + 1)
        .map((n) => Array.from({ length: n }, (_, i) => ({ name: `s${i}`, image: 'redis:7' }))),
    },
    // One service over a byte cap; everything else valid.
    {
      weight: 1,
      arbitrary: fc.tuple(validService, overByteCapArb).map(([service, flaw]) => [flaw(service)]),
    },
    // The same name twice; everything else valid.
    {
      weight: 2,
      arbitrary: fc
        .tuple(validService, validService)
        .map(([first, second]) => [first, { ...second, name: first.name }]),
    },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, {}, 'x', 5) },
  );
  return fc.oneof(
    { weight: 12, arbitrary: servicesArb.map((services) => ({ image: 'x', maxRunTime: 60, services })) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>({ image: 'x' }, {}, 5, [], null, 'x') },
  );
}
