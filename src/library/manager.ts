/**
 * `ServiceManager`: what docker-worker embeds. One per worker: it holds the Docker client, the
 * worker's configuration and credentials, and the live sessions (one per task run).
 *
 * The library logs through the winston logger it is given (child loggers per task and service)
 * and never configures transports; without a logger it is silent.
 */
import type Docker from 'dockerode';
import type { Logger } from 'winston';
import { taskclusterArtifacts, type ArtifactFetcher } from '../actions/artifacts.js';
import { CredentialsSource } from '../credentials/source.js';
import { decodeWorkerCredentials, type WorkerCredentials } from '../credentials/proxy-credentials.js';
import type { WorkerConfig } from '../desired-state/config.js';
import { decodeServices } from '../desired-state/payload.js';
import { dockerApi, type DockerApi } from '../docker/client.js';
import { NftablesGuard } from '../host/isolation-guard.js';
import type { PushResult } from '../credentials/source.js';
import { DEFAULT_MAX_LOG_BYTES } from './logs.js';
import type { CollectedTask, Runtime } from './runtime.js';
import { defaultRuntime } from './default-runtime.js';
import { ServiceSession } from './session.js';
import type { ServiceEvent } from './phases.js';

export const DEFAULT_READY_SETTLE_MS = 1_000;

export interface ServiceManagerOptions {
  /** The narrow client (`dockerApi(new Docker())`), or a dockerode instance to wrap in one. */
  docker: DockerApi | Docker;
  config: WorkerConfig;
  /** The worker's Taskcluster credentials; each service's auth proxy gets credentials derived from them. */
  credentials?: WorkerCredentials;
  logger?: Logger;
  /** Bound of each service's log returned by `stop()` and `logs()` (default 1 MiB, the last part kept). */
  maxLogBytes?: number;
  /**
   * A service without a health check is ready once it has run this long (default 1000 ms): one
   * that exits at once is reported as failed instead of being caught "running" for an instant.
   */
  readySettleMs?: number;
  /** Replaces the real modules (tests of the library alone). */
  runtime?: Runtime;
  /**
   * Fetches task image artifacts. Default: taskcluster-client against the configuration's
   * `rootUrl`, with the worker's credentials as they are at each download.
   */
  artifacts?: ArtifactFetcher;
}

export interface StartTask {
  taskId: string;
  runId: number;
  /** The task's payload (its `services` are used). */
  payload: unknown;
  /** The task's scopes; services see them as `TASK_SCOPES`. */
  scopes: string[];
  /**
   * A network the worker made for the task (generic-worker's `gw-task-…`), to join as the task
   * network instead of making one: the services go on it with their aliases, and it is never
   * created, relabelled or removed. It must exist before `start()`.
   */
  taskNetwork?: string;
  /** The task's deadline: startup gives up then, and proxy credentials expire then. */
  deadline: Date;
  /** Aborts startup (the task was cancelled); `start()` then rejects, having cleaned up. */
  signal?: AbortSignal;
  /**
   * Sees every service event from the first one on, while `start()` is still waiting (the
   * session, and its `events$`, only reach the caller once every service is ready).
   */
  onEvent?: (event: ServiceEvent) => void;
}

export class ServiceManager {
  private readonly docker: DockerApi;
  private readonly config: WorkerConfig;
  private readonly logger: Logger | undefined;
  private readonly runtime: Runtime;
  private readonly isolation: NftablesGuard | undefined;
  private readonly maxLogBytes: number;
  private readonly readySettleMs: number;
  private credentials: WorkerCredentials | undefined;
  private readonly artifacts: ArtifactFetcher;
  private readonly sessions = new Map<string, ServiceSession>();

  constructor(options: ServiceManagerOptions) {
    this.docker = isDockerApi(options.docker) ? options.docker : dockerApi(options.docker);
    this.config = options.config;
    this.logger = options.logger;
    this.credentials = options.credentials ? decodeWorkerCredentials(options.credentials) : undefined;
    this.isolation = this.config.isolationGuard === 'nftables' ? new NftablesGuard() : undefined;
    this.runtime =
      options.runtime ?? defaultRuntime(this.docker, this.isolation ? { isolation: this.isolation } : {});
    this.maxLogBytes = options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
    this.readySettleMs = options.readySettleMs ?? DEFAULT_READY_SETTLE_MS;
    this.artifacts =
      options.artifacts ??
      taskclusterArtifacts({ rootUrl: this.config.rootUrl, credentials: () => this.credentials });
  }

  /**
   * Brings up the task's services and resolves once every one is ready (running, and healthy
   * where the image or the payload has a health check). Rejects with a `ServiceStartError` (or a
   * `PayloadValidationError` or `IsolationGuardError` before anything was created) and leaves
   * nothing behind.
   */
  async start(task: StartTask): Promise<ServiceSession> {
    // Before anything is created: a guard that cannot work fails the start with its reason.
    await this.isolation?.ensure();
    const key = `${task.taskId}/${task.runId}`;
    if (this.sessions.has(key)) throw new Error(`task ${key} already has a session`);
    const desired = this.runtime.compile(task.payload, {
      config: this.config,
      taskId: task.taskId,
      runId: task.runId,
      scopes: task.scopes,
      ...(task.taskNetwork !== undefined ? { taskNetwork: task.taskNetwork } : {}),
    });
    const logger = this.logger?.child({ taskId: task.taskId, runId: task.runId });
    const credentials = this.credentials
      ? new CredentialsSource({
          workerCredentials: this.credentials,
          deadline: task.deadline,
          ...(logger ? { logger } : {}),
        })
      : undefined;
    const session = new ServiceSession({
      docker: this.docker,
      runtime: this.runtime,
      config: this.config,
      desired,
      taskContainerOptions: this.runtime.taskContainerOptions(desired),
      credentials,
      payloadSecrets: payloadSecrets(task.payload, this.config),
      maxLogBytes: this.maxLogBytes,
      readySettleMs: this.readySettleMs,
      logger,
      artifacts: this.artifacts,
    });
    this.sessions.set(key, session);
    // A stopped session (by stop() or a failed start) is forgotten.
    session.events$.subscribe({ complete: () => this.sessions.delete(key) });
    if (task.onEvent) session.events$.subscribe(task.onEvent);
    try {
      await session.start({ deadline: task.deadline, ...(task.signal ? { signal: task.signal } : {}) });
    } catch (error) {
      this.sessions.delete(key);
      throw error;
    }
    return session;
  }

  /** Live sessions (started and not yet stopped). */
  activeSessions(): ServiceSession[] {
    return [...this.sessions.values()];
  }

  /**
   * Removes everything of this owner that belongs to a task not in `activeTaskIds`: for the
   * worker's start-up (after a crash) and its periodic sweep. Tasks with a live session here are
   * always kept.
   */
  async collectGarbage(activeTaskIds: readonly string[]): Promise<CollectedTask[]> {
    const active = new Set([...activeTaskIds, ...[...this.sessions.values()].map((s) => s.taskId)]);
    return this.runtime.collectGarbage(this.config.ownerId, [...active].sort(), {
      concurrency: this.config.concurrency,
      ...(this.logger ? { logger: this.logger } : {}),
    });
  }

  /**
   * Takes the worker's rotated credentials: proxies created from now on get them, and every live
   * proxy is sent what it should now hold. Rejects (with the credentials module's push error) when
   * a proxy did not take them; the others did.
   */
  async updateCredentials(credentials: WorkerCredentials): Promise<PushResult[]> {
    this.credentials = decodeWorkerCredentials(credentials);
    const results = await Promise.allSettled(
      [...this.sessions.values()].map((session) => session.pushCredentials(this.credentials!)),
    );
    const pushed: PushResult[] = [];
    let firstError: unknown;
    for (const result of results) {
      if (result.status === 'fulfilled') pushed.push(...result.value);
      else firstError ??= result.reason;
    }
    if (firstError !== undefined) throw firstError;
    return pushed;
  }
}

/** A dockerode instance has a modem (its HTTP transport); the narrow client has none. */
function isDockerApi(docker: DockerApi | Docker): docker is DockerApi {
  return !('modem' in docker);
}

/** Every env value of the payload's services: payload env may hold passwords, and logs echo them. */
function payloadSecrets(payload: unknown, config: WorkerConfig): string[] {
  try {
    return decodeServices(payload, config).flatMap((service) => Object.values(service.env ?? {}));
  } catch {
    return [];
  }
}
