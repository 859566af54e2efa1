import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/cli/errors.js';
import { loadTaskInput, taskInputFromJson } from '../../src/cli/input.js';
import { dockerTarget } from '../../src/cli/docker.js';
import { captureIo } from './support/io.js';

const dir = mkdtempSync(join(tmpdir(), 'ds-cli-input-'));
function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

describe('input', () => {
  const payload = { image: 'x', services: [{ name: 'db', image: 'postgres' }] };

  it('takes payload and scopes from a whole task definition', () => {
    const task = { provisionerId: 'p', workerType: 'w', scopes: ['a:b', 'c'], payload };
    expect(taskInputFromJson(task, 't.json')).toEqual({
      payload,
      scopes: ['a:b', 'c'],
      shape: 'task definition',
      source: 't.json',
    });
    expect(taskInputFromJson({ payload }, 't.json').scopes).toEqual([]);
  });

  it('takes a bare payload as it is, with no scopes', () => {
    expect(taskInputFromJson(payload, 'p.json')).toEqual({
      payload,
      scopes: [],
      shape: 'payload',
      source: 'p.json',
    });
    // A payload with services and no image of its own is still a payload.
    expect(taskInputFromJson({ services: [] }, 'p.json')).toEqual({
      payload: { services: [] },
      scopes: [],
      shape: 'payload',
      source: 'p.json',
    });
  });

  it.each([
    [[], /expected a JSON object/],
    [
      { paylod: { image: 'x' } },
      /neither a task definition \(no "payload"\) nor a payload \(no "image" or "services"\)/,
    ],
    [null, /expected a JSON object/],
    [{ payload: [] }, /"payload" must be an object/],
    [{ payload: {}, scopes: 'a' }, /"scopes" must be an array of strings/],
    [{ payload: {}, scopes: [1] }, /"scopes" must be an array of strings/],
  ])('refuses %j', (value, message) => {
    expect(() => taskInputFromJson(value, 'x')).toThrow(message);
  });

  it('reads a file relative to the working directory, and stdin for -', async () => {
    const name = file('task.json', JSON.stringify({ payload, scopes: ['s'] }));
    expect((await loadTaskInput(name, captureIo({ cwd: dir }))).scopes).toEqual(['s']);
    const fromStdin = await loadTaskInput('-', captureIo({ stdin: JSON.stringify(payload) }));
    expect(fromStdin).toEqual({ payload, scopes: [], shape: 'payload', source: 'stdin' });
  });

  it('says where JSON is broken without quoting the text (it may hold a secret)', async () => {
    const name = file('bad.json', '{\n  "env": {"PASSWORD": "hunter2hunter2"\n  x\n}');
    const error = await loadTaskInput(name, captureIo({ cwd: dir })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/^bad\.json: not valid JSON \(at line 3, column 3\)$/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('names a missing file', async () => {
    await expect(loadTaskInput('nope.json', captureIo({ cwd: dir }))).rejects.toThrow(
      'nope.json: cannot read (no such file)',
    );
  });
});

describe('DOCKER_HOST', () => {
  it.each([
    [undefined, { socketPath: '/var/run/docker.sock' }],
    ['', { socketPath: '/var/run/docker.sock' }],
    ['unix:///run/user/1000/docker.sock', { socketPath: '/run/user/1000/docker.sock' }],
    ['/tmp/d.sock', { socketPath: '/tmp/d.sock' }],
    ['tcp://10.0.0.2:2375', { protocol: 'http', host: '10.0.0.2', port: 2375 }],
    ['tcp://docker.example', { protocol: 'http', host: 'docker.example', port: 2375 }],
    ['https://docker.example', { protocol: 'https', host: 'docker.example', port: 2376 }],
  ])('%s', (value, target) => {
    expect(dockerTarget({ DOCKER_HOST: value })).toEqual(target);
  });

  it('tcp with DOCKER_TLS_VERIFY=1 is https', () => {
    expect(dockerTarget({ DOCKER_HOST: 'tcp://h:1', DOCKER_TLS_VERIFY: '1' })).toEqual({
      protocol: 'https',
      host: 'h',
      port: 1,
    });
  });

  it('refuses an unknown scheme', () => {
    expect(() => dockerTarget({ DOCKER_HOST: 'ssh://me@host' })).toThrow(/unsupported scheme ssh:/);
  });
});
