import { describe, expect, it } from '@jest/globals';
import { main } from '../../src/cli/run.js';
import { captureIo } from './support/io.js';

const payload = 'fixtures/payloads/three-services.json';

describe('errors', () => {
  it('an engine that is not there: exit 1, and where it was looked for', async () => {
    const io = captureIo({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(await main(['plan', payload], io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^docker-services plan: .*ENOENT/);
    expect(io.err()).toContain(
      'Is the Docker engine running and reachable at DOCKER_HOST=unix:///nonexistent/docker.sock?',
    );
  });

  it('the worker credentials never reach the output, whatever a message would carry', async () => {
    const token = 'tok-0123456789-very-secret';
    const io = captureIo({ env: { TASKCLUSTER_CLIENT_ID: 'me', TASKCLUSTER_ACCESS_TOKEN: token } });
    expect(await main(['plan', '--offline', `${token}.json`], io)).toBe(1);
    expect(io.err()).toBe('docker-services plan: [redacted].json: cannot read (no such file)\n');
  });

  it('up without worker credentials says which variables to set, before contacting Docker', async () => {
    const io = captureIo({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(await main(['up', payload], io)).toBe(1);
    expect(io.err()).toMatch(/set TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN/);
    expect(io.err()).not.toMatch(/ENOENT/);
  });

  it('bad worker credentials are named, not shown', async () => {
    const io = captureIo({
      env: {
        TASKCLUSTER_ROOT_URL: 'https://tc.example.invalid',
        TASKCLUSTER_CLIENT_ID: 'me',
        TASKCLUSTER_ACCESS_TOKEN: 'tok-0123456789-very-secret',
        TASKCLUSTER_CERTIFICATE: '{not json: tok-0123456789-very-secret',
      },
    });
    expect(await main(['up', payload], io)).toBe(1);
    expect(io.err()).toBe('docker-services up: the worker certificate is not valid JSON\n');
  });
});
