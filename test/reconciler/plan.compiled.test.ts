/**
 * The planner over a graph made by the real `compile()`, bound by the real `bindImages` (the
 * defaults of `PlanOptions`), and the test builders checked against it: the table and property
 * tests build their graphs with `test/support/builders.ts`, which must have compile's shape.
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/desired-state/compile.js';
import { defaultWorkerConfig } from '../../src/desired-state/config.js';
import type { DesiredState } from '../../src/desired-state/types.js';
import type { Snapshot } from '../../src/observed-state/types.js';
import { formatPlan } from '../../src/reconciler/format.js';
import { plan } from '../../src/reconciler/plan.js';
import { DEFAULT_RESTART_POLICY } from '../../src/reconciler/restarts.js';
import { BASE_NOW, BASE_TIME, buildDesired, observedImage } from '../support/builders.js';

const GOLDEN = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/plans/compiled-nothing-there.txt',
);
const SECRET = 'correct-horse-battery-staple';
const OWNER_ID = 'worker-group/worker-1';
const TASK_ID = 'fXaAmhBlTXmKjFmfd7Fh9A';

function compiled(): DesiredState {
  const config = defaultWorkerConfig({
    ownerId: OWNER_ID,
    // Fixture images are built here, never in a registry: nothing to pull.
    images: { pullPolicy: 'if-not-present' },
    provisionerId: 'proj-ci',
    workerType: 'linux',
    rootUrl: 'https://tc.example.com',
    proxy: { image: 'ds-fixtures/proxy:latest' },
  });
  const payload = {
    services: [
      { name: 'db', image: 'ds-fixtures/postgres:latest', env: { POSTGRES_PASSWORD: SECRET } },
      { name: 'cache', image: 'ds-fixtures/redis:latest' },
    ],
  };
  return compile(payload, { config, taskId: TASK_ID, runId: 0, scopes: ['secrets:get:project/ci/db'] });
}

function emptyEngine(desired: DesiredState): Snapshot {
  return {
    time: BASE_TIME,
    containers: [],
    networks: [],
    images: desired.images.map((ref) => observedImage(ref)),
    missingImages: [],
    foreign: [],
  };
}

describe('plan over a compiled graph', () => {
  test('with the default bind and resolve, from an empty engine', () => {
    const desired = compiled();
    const p = plan(desired, emptyEngine(desired), {
      now: BASE_NOW,
      restarts: {},
      restart: DEFAULT_RESTART_POLICY,
    });
    const text = formatPlan(p, 'text');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    else if (!existsSync(GOLDEN)) throw new Error(`missing golden ${GOLDEN}: run with UPDATE_GOLDEN=1`);
    else expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
    expect(text).not.toContain(SECRET);
    expect(formatPlan(p, 'json')).not.toContain(SECRET);
    // The proxy is created with its scope bound to the served image's key.
    const proxy = p.actions.find(
      (a) => a.kind === 'create-container' && a.container.role === 'proxy' && a.container.service === 'db',
    );
    expect(proxy?.kind === 'create-container' && proxy.container.cmd?.join(' ')).toContain(
      observedImage('ds-fixtures/postgres:latest').id.replace('sha256:', ''),
    );
  });

  test('the test builders make graphs of the same shape as compile()', () => {
    const real = compiled();
    const built = buildDesired(
      [
        { name: 'db', image: 'ds-fixtures/postgres:latest' },
        { name: 'cache', image: 'ds-fixtures/redis:latest' },
      ],
      { ownerId: OWNER_ID, taskId: TASK_ID, runId: 0 },
    );
    const shape = (d: DesiredState) => ({
      networks: d.networks.map((n) => [n.id, n.name, n.role]).sort(),
      containers: d.containers
        .map((c) => ({
          id: c.id,
          name: c.name,
          role: c.role,
          image: c.image,
          imageKeyOf: c.imageKeyOf,
          networks: c.networks,
          dependsOn: [...c.dependsOn].sort(),
          labelKeys: Object.keys(c.labels).sort(),
        }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      images: [...d.images].sort(),
    });
    expect(shape(built)).toEqual(shape(real));
  });
});
