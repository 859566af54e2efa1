// A TypeScript CommonJS embedder: the `require` condition's declarations (dist/*.d.cts) give the
// library's types, not `any` (each @ts-expect-error fails the check if they were `any`).
/* eslint-disable @typescript-eslint/no-require-imports */
import ds = require('docker-services');
import types = require('docker-services/types');
import Docker = require('dockerode');

export async function startAndStop(task: ds.StartTask): Promise<ds.StopResult> {
  const manager: ds.ServiceManager = new ds.ServiceManager({
    docker: new Docker(),
    config: ds.decodeWorkerConfig({
      ownerId: 'worker',
      provisionerId: 'prov',
      workerType: 'wt',
      rootUrl: 'https://tc.example',
      proxy: { image: 'docker-services/proxy:latest' },
    }),
    credentials: { clientId: 'c', accessToken: 't' },
  });
  const session = await manager.start(task);
  // @ts-expect-error: the session's state is a SessionState, not a number
  const state: number = session.state;
  void state;
  return session.stop();
}

export const ownerLabel: string = types.Label.owner;
// @ts-expect-error: a manager needs its options
export const broken = new ds.ServiceManager();
