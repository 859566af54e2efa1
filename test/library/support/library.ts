/** Shared by the library's engine tests: a manager per test owner, slugid task ids, event helpers. */
import { filter, firstValueFrom, timeout } from 'rxjs';
import { defaultWorkerConfig, type WorkerConfigInput } from '../../../src/desired-state/config.js';
import { Label } from '../../../src/desired-state/labels.js';
import { ServiceManager } from '../../../src/library/manager.js';
import type { ServiceEvent, ServiceEventType } from '../../../src/library/phases.js';
import type { ServiceSession } from '../../../src/library/session.js';
import { Writable } from 'node:stream';
import winston from 'winston';
import { IMAGES, testDocker, testOwnerId } from '../../support/docker.js';
import { slugid } from '../../support/slugid.js';

/** `DS_TEST_LOG=debug` shows what the library logs (for finding out why a test failed). */
const logger = process.env.DS_TEST_LOG
  ? winston.createLogger({
      level: process.env.DS_TEST_LOG,
      transports: [new winston.transports.Console({ format: winston.format.simple() })],
    })
  : undefined;

export const docker = testDocker();
export const PROXY_IMAGE = IMAGES.proxy;
export const CREDENTIALS = {
  clientId: 'test/docker-services-worker',
  accessToken: 'test-access-token-not-real-0123456789',
};

export function manager(name: string, config: Partial<WorkerConfigInput> = {}): ServiceManager {
  return new ServiceManager({
    docker,
    config: defaultWorkerConfig({
      ownerId: testOwnerId(name),
      // Fixture images are built here, never in a registry: nothing to pull.
      images: { pullPolicy: 'if-not-present' },
      provisionerId: 'test-prov',
      workerType: 'test-wt',
      rootUrl: 'http://taskcluster.invalid',
      proxy: { image: PROXY_IMAGE },
      startupTimeoutMs: 120_000,
      ...config,
    }),
    credentials: CREDENTIALS,
    ...(logger ? { logger } : {}),
  });
}

// Task ids as Taskcluster makes them: one generator for every test.
export { slugid };

export function task(services: unknown[], runId = 0) {
  return {
    taskId: slugid(),
    runId,
    payload: { services },
    scopes: ['queue:get-artifact:public/*'],
    deadline: new Date(Date.now() + 3_600_000),
  };
}

/** Events the session has emitted so far (`events$` replays them to a new subscriber). */
export function eventsSoFar(session: ServiceSession): ServiceEvent[] {
  const seen: ServiceEvent[] = [];
  session.events$.subscribe((e) => seen.push(e)).unsubscribe();
  return seen;
}

/** The first event (replayed or to come) of `type` for the service `service`'s own container. */
export function nextEvent(
  session: ServiceSession,
  type: ServiceEventType,
  service: string,
  afterIndex = 0,
  ms = 60_000,
): Promise<ServiceEvent> {
  let index = 0;
  return firstValueFrom(
    session.events$.pipe(
      filter(
        (e) => index++ >= afterIndex && e.type === type && e.service === service && e.role === 'service',
      ),
      timeout(ms),
    ),
  );
}

/** Containers and networks of one owner on the engine now (by label). */
export async function objectsOf(ownerId: string): Promise<{ containers: string[]; networks: string[] }> {
  const containers = await docker.listContainers({ label: [`${Label.owner}=${ownerId}`] });
  const networks = await docker.listNetworks({ label: [`${Label.owner}=${ownerId}`] });
  return { containers: containers.map((c) => c.Names[0] ?? c.Id), networks: networks.map((n) => n.Name) };
}

export const NOTHING = { containers: [], networks: [] };

/** A debug-level logger that keeps every line it is given (as JSON), for tests that look for secrets in logs. */
export function capturingLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = winston.createLogger({
    level: 'debug',
    transports: [
      new winston.transports.Stream({
        stream: new Writable({
          objectMode: true,
          write(info: unknown, _encoding, next) {
            lines.push(JSON.stringify(info));
            next();
          },
        }),
      }),
    ],
  });
  return { logger, lines };
}
