/**
 * An ES module embedder beside a CommonJS one in the same process: `import` and `require()` of
 * 'docker-services' must give the very same objects (one ServiceManager, one PayloadValidationError),
 * or `instanceof` fails across them (the dual-package hazard). Run by test/package/commonjs.test.ts;
 * prints what it found as one line of JSON.
 */
/* global console */
import { createRequire } from 'node:module';
import Docker from 'dockerode';
import * as imported from 'docker-services';
import { Label } from 'docker-services/types';

const require = createRequire(import.meta.url);
const required = require('docker-services');

// A manager made from the required class refuses a payload with an error of the imported class.
const manager = new required.ServiceManager({
  docker: new Docker({ socketPath: '/var/run/docker.sock' }),
  config: imported.decodeWorkerConfig({
    ownerId: 'never-used',
    provisionerId: 'test-prov',
    workerType: 'test-wt',
    rootUrl: 'http://taskcluster.invalid',
    proxy: { image: 'docker-services/proxy:latest' },
  }),
  credentials: { clientId: 'test/esm-embedder', accessToken: 'test-access-token-not-real-0123456789' },
});
const refused = await manager
  .start({
    taskId: 'fN1SbArXTPSVFNUvaOlinQ',
    runId: 0,
    payload: { services: [{ name: 'localhost', image: 'x' }] },
    scopes: [],
    deadline: new Date(Date.now() + 60000),
  })
  .then(
    () => undefined,
    (error) => error,
  );

console.log(
  JSON.stringify({
    imported: Object.keys(imported).sort(),
    required: Object.keys(required).sort(),
    different: Object.keys(required).filter((name) => imported[name] !== required[name]),
    refusedIsImportedClass: refused instanceof imported.PayloadValidationError,
    refusedIsRequiredClass: refused instanceof required.PayloadValidationError,
    labelsAgree: Label.owner === require('docker-services/types').Label.owner,
  }),
);
