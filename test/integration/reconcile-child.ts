/**
 * The library process that the SIGKILL test kills mid-`up`: it converges the graph given in its
 * environment and says on stdout when the first container exists, so that the parent kills it
 * with work half done. Run with `node --import tsx` (tsx is a devDependency), which spares the
 * test a build of `dist/`.
 */
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import { converge } from '../../src/loop/reconcile.js';
import { testDocker } from '../support/docker.js';

const input = JSON.parse(process.env.DS_CHILD_INPUT ?? '{}') as {
  ownerId: string;
  taskId: string;
  proxyImage: string;
  payload: unknown;
};
const config = defaultWorkerConfig({
  ownerId: input.ownerId,
  // Fixture images are built here, never in a registry: nothing to pull.
  images: { pullPolicy: 'if-not-present' },
  provisionerId: 'prov',
  workerType: 'wt',
  rootUrl: 'https://tc.example.com',
  proxy: { image: input.proxyImage },
});
const desired = compile(input.payload, { config, taskId: input.taskId, runId: 0, scopes: [] });
let announced = false;
await converge({
  docker: testDocker(),
  desired,
  execute: {
    credentials: async () => ({ TASKCLUSTER_CLIENT_ID: 'dummy', TASKCLUSTER_ACCESS_TOKEN: 'dummy' }),
  },
  until: 'ready',
  pollIntervalMs: 200,
  onEvent: (event) => {
    if (!announced && event.type === 'action-finished' && event.action.kind === 'create-container') {
      announced = true;
      process.stdout.write('created\n');
    }
  },
});
process.stdout.write('ready\n');
