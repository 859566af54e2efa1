/**
 * What every test that touches the real engine shares: one client with timeouts, the label that
 * marks what this test run made, and owner ids that tie product objects to this run, so that the
 * after-all leftover check (global-teardown.ts) finds anything a test forgot, and nothing else.
 */
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dockerApi, type DockerApi } from '../../src/docker/client.js';
import { Label } from '../../src/desired-state/labels.js';

export const TEST_RUN_LABEL = 'docker-services-test.run';

/** Set by global-setup.ts for the whole jest run. */
export function testRunId(): string {
  const id = process.env.DS_TEST_RUN;
  if (!id) throw new Error('DS_TEST_RUN is not set: run the tests through `npm test` or `npm run jest`');
  return id;
}

/** Labels for objects a test creates by hand (decoys, clients, …). */
export function testLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { [TEST_RUN_LABEL]: testRunId(), ...extra };
}

/** An owner id unique to this run and test; product objects created under it are found by the leftover check. */
export function testOwnerId(name: string): string {
  return `test-${testRunId()}-${name}`;
}

export const IMAGES = {
  busybox: 'ds-fixtures/busybox:latest',
  debian: 'ds-fixtures/debian:latest',
  redis: 'ds-fixtures/redis:latest',
  postgres: 'ds-fixtures/postgres:latest',
  node: 'ds-fixtures/node:latest',
  // The proxy image is built from the checkout's dist/proxy: a branch whose proxy differs can test
  // its own under another tag without retagging the one other checkouts on this engine use.
  proxy: process.env.DS_TEST_PROXY_IMAGE ?? 'ds-fixtures/proxy:latest',
};

export function dockerode(): Docker {
  return new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
}

export function testDocker(): DockerApi {
  return dockerApi(dockerode(), { timeoutMs: 30_000, slowTimeoutMs: 60_000 });
}

/** Is this object something the current run made (by hand, or as a product object of a test owner)? */
export function madeByThisRun(
  labels: Record<string, string> | null | undefined,
  runId = testRunId(),
): boolean {
  if (!labels) return false;
  return labels[TEST_RUN_LABEL] === runId || (labels[Label.owner] ?? '').startsWith(`test-${runId}-`);
}

export interface Leftovers {
  containers: string[];
  networks: string[];
}

export async function leftovers(docker: DockerApi, runId = testRunId()): Promise<Leftovers> {
  const containers = await docker.listContainers({});
  const networks = await docker.listNetworks({});
  return {
    containers: containers.filter((c) => madeByThisRun(c.Labels, runId)).map((c) => c.Names[0] ?? c.Id),
    networks: networks.filter((n) => madeByThisRun(n.Labels, runId)).map((n) => n.Name),
  };
}

/** Removes every object of this run that matches `keep`; for a test's afterAll. */
export async function removeMadeByThisRun(
  docker: DockerApi,
  matches: (labels: Record<string, string>) => boolean = () => true,
): Promise<void> {
  const runId = testRunId();
  for (const c of await docker.listContainers({})) {
    if (madeByThisRun(c.Labels, runId) && matches(c.Labels ?? {}))
      await docker.removeContainer(c.Id).catch(() => {});
  }
  for (const n of await docker.listNetworks({})) {
    if (madeByThisRun(n.Labels, runId) && matches(n.Labels ?? {}))
      await docker.removeNetwork(n.Id).catch(() => {});
  }
}

const exec = promisify(execFile);

/** Runs the docker CLI (for doing things *outside* the library, as a person would). */
export async function dockerCli(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/**
 * Runs a one-shot container from `image` on `network` and returns its exit code and output;
 * the container is removed afterwards whatever happens.
 */
export async function runToCompletion(
  docker: DockerApi,
  options: {
    image: string;
    cmd: string[];
    network?: string;
    env?: string[];
    timeoutMs?: number;
    name?: string;
  },
): Promise<{ exitCode: number; output: string }> {
  const id = await docker.createContainer({
    Image: options.image,
    Cmd: options.cmd,
    Env: options.env,
    Labels: testLabels({ 'docker-services-test.role': 'client' }),
    ...(options.name ? { name: options.name } : {}),
    HostConfig: { NetworkMode: options.network ?? 'none' },
  });
  try {
    await docker.startContainer(id);
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const inspect = await docker.inspectContainer(id);
      if (inspect && !inspect.State.Running && inspect.State.Status !== 'created') {
        return { exitCode: inspect.State.ExitCode, output: await docker.containerLogs(id, {}) };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${options.cmd.join(' ')} did not finish in time; output: ${await docker.containerLogs(id, {})}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await docker.removeContainer(id).catch(() => {});
  }
}

/** Polls `check` until it returns a value or the deadline passes (for waiting on the engine in tests). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
