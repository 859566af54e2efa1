import { describe, expect, it } from '@jest/globals';
import { main } from '../../src/cli/run.js';
import { captureIo } from './support/io.js';

describe('validate', () => {
  it.each([
    ['fixtures/payloads/three-services.json', 'valid, 3 services (postgres, redis, web)'],
    ['fixtures/payloads/bare-payload.json', 'valid, 1 service (web)'],
    ['fixtures/payloads/no-services.json', 'valid, 0 services'],
  ])('%s', async (file, summary) => {
    const io = captureIo();
    expect(await main(['validate', file], io)).toBe(0);
    expect(io.out()).toBe(`${file}: ${summary}\n`);
    expect(io.err()).toBe('');
  });

  it('reports every error with its path, as the desired-state reporter prints them, exit 1', async () => {
    const io = captureIo();
    expect(await main(['validate', 'fixtures/payloads/invalid.json'], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err().split('\n').slice(1).join('\n')).toBe(
      (await import('node:fs'))
        .readFileSync('fixtures/golden/cli/invalid.stderr.txt', 'utf8')
        .split('\n')
        .slice(1)
        .join('\n'),
    );
    expect(io.err()).toMatch(/^docker-services validate: invalid task payload \(8 errors\):\n/);
  });

  it('checks the worker options too', async () => {
    const io = captureIo();
    expect(
      await main(['validate', 'fixtures/payloads/bare-payload.json', '--proxy-image=-bad image'], io),
    ).toBe(1);
    expect(io.err()).toMatch(/proxy\.image: "-bad image" is not an image reference/);
  });
});
