/**
 * The front door's table: valid payloads decode, and each invalid payload is refused with its
 * exact, path-qualified messages, all of them at once.
 */
import { describe, expect, it } from '@jest/globals';
import { PayloadValidationError } from '../../src/desired-state/errors.js';
import { decodeServices, decodeServicesEither } from '../../src/desired-state/payload.js';
import {
  INVALID_PAYLOADS as invalid,
  KiB,
  TASK_ID,
  artifactName,
  env,
  indexNamespace,
  long,
  svc,
} from './payload-cases.js';
import { testConfig } from './support.js';

const config = testConfig();

function errorsOf(payload: unknown): PayloadValidationError {
  try {
    decodeServices(payload, config);
  } catch (error) {
    if (error instanceof PayloadValidationError) return error;
    throw error;
  }
  throw new Error('the payload was accepted');
}

describe('invalid payloads', () => {
  it('has at least 40 cases', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(40);
  });

  it.each(invalid)('%s', (_name, payload, expected) => {
    const error = errorsOf(payload);
    expect(error.errors.map((e) => `${e.path}: ${e.message}`)).toEqual(expected);
    const n = expected.length;
    expect(error.message).toBe(
      `invalid task payload (${n} error${n === 1 ? '' : 's'}):\n${expected.map((line) => `  ${line}`).join('\n')}`,
    );
  });

  it('never shows an env value, whatever is wrong with it', () => {
    const secret = 'hunter2-correct-horse';
    const error = errorsOf(
      env({ LD_PRELOAD: secret, 'A=B': secret, NUL: `${secret}\0`, BIG: secret.repeat(10_000), N: 12345 }),
    );
    expect(error.errors.filter((e) => e.path.startsWith('services[0].env')).map((e) => e.value)).toEqual(
      Array(6).fill('<elided>'),
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('12345');
    expect(JSON.stringify(error.errors)).not.toContain('hunter2');
  });

  it('refuses the services of a worker with smaller limits', () => {
    const small = testConfig({ limits: { maxServices: 1, maxEnvEntries: 1, maxValueBytes: 4 } });
    const result = decodeServicesEither(
      { services: [svc({ env: { A: '12345', B: '1' } }), svc({ name: 'x' })] },
      small,
    );
    expect(result._tag).toBe('Left');
    if (result._tag === 'Left')
      expect(result.left.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
        'services: has 2 services; at most 1 per task (fix: run fewer services)',
        'services[0].env: has 2 variables; at most 1 per service (fix: set fewer)',
        'services[0].env.A: value is 5 bytes; at most 4 bytes per value (fix: pass large data another way, e.g. an artifact or a secret fetched at run time)',
      ]);
  });
});

describe('valid payloads', () => {
  it("a payload without services has none, and other payload keys are docker-worker's", () => {
    expect(
      decodeServices({ image: 'x', command: ['true'], maxRunTime: 5, features: { x: true } }, config),
    ).toEqual([]);
    expect(decodeServices({}, config)).toEqual([]);
    expect(decodeServices({ services: [] }, config)).toEqual([]);
  });

  it('decodes every field', () => {
    const service = {
      name: 'db',
      image: 'registry.example.com:5000/team/postgres:16.1@sha256:' + 'a'.repeat(64),
      command: ['postgres', '-c', 'fsync=off'],
      env: { POSTGRES_PASSWORD: 'x', EMPTY: '', PATH: '/usr/bin' },
      healthCheck: { command: ['pg_isready'], interval: 0.5, timeout: 2, startPeriod: 0, retries: 10 },
    };
    expect(decodeServices({ services: [service] }, config)).toEqual([service]);
  });

  it('accepts limits exactly at their bound', () => {
    const services = Array.from({ length: 16 }, (_, i) => svc({ name: `s${i}` }));
    services[0] = svc({
      name: 's0',
      env: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`V${String(i).padStart(2, '0')}`, 'x'])),
    });
    services[1] = svc({ name: 's1', env: { BIG: long(32 * KiB) } });
    services[2] = svc({ name: 'x'.repeat(63) });
    expect(decodeServices({ services }, config)).toHaveLength(16);
  });

  it('accepts an artifact name and an index namespace exactly at their length limits', () => {
    const images = [
      { type: 'task-image', taskId: TASK_ID, path: artifactName(1024) },
      { type: 'indexed-image', namespace: indexNamespace(255), path: artifactName(1024) },
    ];
    expect(images[0]!.path).toHaveLength(1024);
    expect(images[1]!.namespace).toHaveLength(255);
    const services = images.map((image, i) => svc({ name: `s${i}`, image }));
    expect(decodeServices({ services }, config)).toEqual(services);
  });

  it('keeps an env name such as __proto__ an ordinary variable', () => {
    const payload = JSON.parse(
      '{"services":[{"name":"db","image":"redis","env":{"__proto__":"x","constructor":"y"}}]}',
    );
    const [service] = decodeServices(payload, config);
    expect(Object.keys(service!.env!)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(service!.env)).toBe(Object.prototype);
  });
});
