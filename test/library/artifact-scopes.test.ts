/**
 * A task image artifact the task may not read is refused by `start()` before any Docker call:
 * the manager runs on a Docker client that records every call and answers none.
 */
import { describe, expect, it } from '@jest/globals';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { PayloadValidationError } from '../../src/desired-state/errors.js';
import type { DockerApi } from '../../src/docker/client.js';
import { ServiceManager } from '../../src/library/manager.js';

describe('artifact scopes', () => {
  it('refuses a private task image without queue:get-artifact:<name> before any Docker call', async () => {
    const calls: string[] = [];
    const docker = new Proxy({} as DockerApi, {
      get: (_target, name) => () => {
        calls.push(String(name));
        return Promise.reject(new Error(`no Docker here (${String(name)})`));
      },
    });
    const manager = new ServiceManager({
      docker,
      config: defaultWorkerConfig({
        ownerId: 'worker-1',
        provisionerId: 'prov',
        workerType: 'wt',
        rootUrl: 'https://tc.example.com',
        proxy: { image: 'proxy:1' },
      }),
      credentials: { clientId: 'worker', accessToken: 'worker-token-0123456789' },
    });
    const start = manager.start({
      taskId: 'fXaAmhBlTXmKjFmfd7Fh9A',
      runId: 0,
      payload: {
        services: [
          {
            name: 'a',
            image: { type: 'task-image', taskId: 'Zq0vH1sVRhmDw0oJxzzXtA', path: 'private/i.tar' },
          },
        ],
      },
      scopes: ['queue:get-artifact:public/*'],
      deadline: new Date(Date.now() + 3_600_000),
    });
    await expect(start).rejects.toBeInstanceOf(PayloadValidationError);
    await expect(start).rejects.toThrow('queue:get-artifact:private/i.tar');
    expect(calls).toEqual([]);
  });
});
