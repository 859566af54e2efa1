import { describe, expect, it } from '@jest/globals';
import { DEFAULT_LIMITS } from '../../src/desired-state/config.js';
import { servicesSchema } from '../../src/desired-state/schema.js';
import { main } from '../../src/cli/run.js';
import { captureIo } from './support/io.js';

describe('schema', () => {
  it('prints the JSON Schema of payload.services at the default limits on stdout, exit 0', async () => {
    // An unreachable engine: the command must not need one.
    const io = captureIo({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(await main(['schema'], io)).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out().endsWith('}\n')).toBe(true);
    const printed: unknown = JSON.parse(io.out());
    expect(printed).toEqual(servicesSchema(DEFAULT_LIMITS));
    expect(printed).toMatchObject({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'array',
      maxItems: DEFAULT_LIMITS.maxServices,
      items: { required: ['name', 'image'], additionalProperties: false },
    });
  });

  it('takes no argument', async () => {
    const io = captureIo();
    expect(await main(['schema', 'payload.json'], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^docker-services schema: unexpected argument "payload.json"\n/);
  });
});
