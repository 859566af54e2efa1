/**
 * A CommonJS embedder, as a docker-worker fork is: `require('docker-services')` from the installed
 * package, a ServiceManager on a dockerode client of its own, one service started for real and
 * stopped. Run by test/package/commonjs.test.ts with DS_OWNER_ID and DS_TASK_ID; asserts as it
 * goes and prints what it saw as one line of JSON for the test to check.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
/* global require, process, console */
'use strict';
const assert = require('node:assert/strict');
const Docker = require('dockerode');
const {
  ServiceManager,
  PayloadValidationError,
  ServiceSession,
  decodeWorkerConfig,
} = require('docker-services');
const { Label } = require('docker-services/types');

const ownerId = process.env.DS_OWNER_ID;
const taskId = process.env.DS_TASK_ID;
assert.ok(ownerId && taskId, 'DS_OWNER_ID and DS_TASK_ID must be set');

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const manager = new ServiceManager({
  docker,
  config: decodeWorkerConfig({
    ownerId,
    provisionerId: 'test-prov',
    workerType: 'test-wt',
    rootUrl: 'http://taskcluster.invalid',
    proxy: { image: 'docker-services/proxy:latest' },
    startupTimeoutMs: 120000,
    // The fixture images are in no registry: pulling a tag on every start (the default) would fail.
    images: { pullPolicy: 'if-not-present' },
  }),
  credentials: { clientId: 'test/cjs-embedder', accessToken: 'test-access-token-not-real-0123456789' },
});
const task = (services) => ({
  taskId,
  runId: 0,
  payload: { services },
  scopes: ['queue:get-artifact:public/*'],
  deadline: new Date(Date.now() + 3600000),
});

async function objectsOfOwner() {
  const filters = JSON.stringify({ label: [`${Label.owner}=${ownerId}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return containers.length + networks.length;
}

async function main() {
  // The error classes an embedder catches are the ones its require() gave it.
  const refused = await manager.start(task([{ name: 'taskcluster', image: 'x' }])).then(
    () => undefined,
    (error) => error,
  );
  assert.ok(refused instanceof PayloadValidationError, `expected a PayloadValidationError, got ${refused}`);

  const events = [];
  const session = await manager.start({
    ...task([
      {
        name: 'web',
        image: 'ds-fixtures/busybox:latest',
        command: ['httpd', '-f', '-p', '8080', '-h', '/etc'],
      },
    ]),
    onEvent: (event) => events.push(`${event.service}/${event.role}: ${event.type}`),
  });
  assert.ok(session instanceof ServiceSession);
  const running = await objectsOfOwner();
  const { logs } = await session.stop();
  return {
    refused: refused.name,
    networkMode: session.taskContainerOptions.HostConfig.NetworkMode,
    events,
    objectsWhileRunning: running,
    objectsAfterStop: await objectsOfOwner(),
    logs: Object.keys(logs).sort(),
  };
}

// No process.exit(): once stopped, the library holds nothing open, and the process ends by itself
// (the test would time out otherwise).
main().then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
