/** Builders shared by the desired-state tests. */
import { defaultWorkerConfig, type WorkerConfig } from '../../src/desired-state/config.js';
import type { CompileContext } from '../../src/desired-state/compile.js';
import { Label } from '../../src/desired-state/labels.js';
import { SERVICE_NAME } from '../../src/desired-state/policy.js';
import fc from 'fast-check';

/** Every object compile creates carries at least these label keys. */
export const OWNERSHIP_LABELS: readonly string[] = [
  Label.owner,
  Label.taskId,
  Label.runId,
  Label.node,
  Label.role,
  Label.specHash,
  Label.hashVersion,
];

/** A slugid-shaped task id (22 characters, with `_` and `-` to exercise name parsing). */
export const TASK_ID = 'fixture_Task-Id0123456';

export function testConfig(overrides: Partial<Parameters<typeof defaultWorkerConfig>[0]> = {}): WorkerConfig {
  return defaultWorkerConfig({
    ownerId: 'worker-group/worker-1',
    provisionerId: 'proj-ci',
    workerType: 'linux',
    rootUrl: 'https://tc.example.com',
    proxy: { image: 'ds-fixtures/proxy:latest' },
    ...overrides,
  });
}

export function testContext(overrides: Partial<CompileContext> = {}): CompileContext {
  return {
    config: testConfig(),
    taskId: TASK_ID,
    runId: 0,
    scopes: ['queue:get-artifact:private/*', 'secrets:get:project/ci/db'],
    ...overrides,
  };
}

const slugChar = fc.constantFrom(
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
);
/** Slugid-shaped task ids. */
export const taskIdArb = fc.string({ unit: slugChar, minLength: 22, maxLength: 22 });
/** Valid service names (reserved ones included: filter where it matters). */
export const serviceNameArb = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')),
    minLength: 1,
    maxLength: 63,
  })
  .filter((name) => SERVICE_NAME.test(name));
