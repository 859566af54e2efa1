/**
 * The files `docker-services run` hands a worker (docs/generic-worker.md): what they hold, built
 * from library values by pure functions, and how they are written (atomically, so that a worker
 * polling for one never reads half of it).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TaskContainerOptions } from '../desired-state/task-container.js';
import type { ServiceStartError, StartFailureReason } from '../library/errors.js';
import type { ServiceRole } from '../library/phases.js';
import type { ServiceInfo } from '../library/service-info.js';
import type { SessionFailure, StopResult } from '../library/session.js';

/** Bumped when a field changes meaning or goes away; new fields do not bump it. */
export const RUN_FILES_VERSION = 1;

export interface ReadyFile {
  version: number;
  taskId: string;
  runId: number;
  /** The network the task container joins to reach the services; null without services. */
  taskNetwork: string | null;
  services: ServiceInfo[];
  /** Docker create options to merge into the task container's own (an embedder's view). */
  taskContainerOptions: TaskContainerOptions;
  /** The same as `docker run` flags: `["--network", NAME]`, or `[]` without services. */
  dockerRunArgs: string[];
}

export function readyFile(
  owner: { taskId: string; runId: number },
  services: ServiceInfo[],
  taskContainerOptions: TaskContainerOptions,
): ReadyFile {
  const taskNetwork = taskContainerOptions.HostConfig?.NetworkMode ?? null;
  return {
    version: RUN_FILES_VERSION,
    taskId: owner.taskId,
    runId: owner.runId,
    taskNetwork,
    services,
    taskContainerOptions,
    dockerRunArgs: taskNetwork === null ? [] : ['--network', taskNetwork],
  };
}

export interface FailureFile {
  version: number;
  taskId: string;
  runId: number;
  /** `startup`: `start()` failed (exit 3); `running`: a ready service failed later (exit 4). */
  stage: 'startup' | 'running';
  /** Absent for a task-wide failure (the engine away, say). */
  service?: string;
  role: ServiceRole;
  /** The phase the failing container last reached (startup only). */
  phase?: string;
  reason: StartFailureReason | { kind: 'failed-while-running'; message: string };
  /** The last lines of its log, redacted. */
  logTail: string;
  /** One human sentence (and the log tail), as the library words it. */
  message: string;
}

export function startupFailureFile(error: ServiceStartError): FailureFile {
  return {
    version: RUN_FILES_VERSION,
    taskId: error.taskId,
    runId: error.runId,
    stage: 'startup',
    ...(error.service !== undefined ? { service: error.service } : {}),
    role: error.role,
    phase: error.phase,
    reason: error.reason,
    logTail: error.logTail,
    message: error.message,
  };
}

/** Lines of a service's log the failure file repeats (the logs directory has the whole of it). */
const LOG_TAIL_LINES = 50;

export function runningFailureFile(
  owner: { taskId: string; runId: number },
  failure: SessionFailure,
  logs: Pick<StopResult, 'logs' | 'proxyLogs'>,
): FailureFile {
  const log = (failure.role === 'proxy' ? logs.proxyLogs : logs.logs)[failure.service] ?? '';
  const who =
    failure.role === 'proxy' ? `the auth proxy of service ${failure.service}` : `service ${failure.service}`;
  return {
    version: RUN_FILES_VERSION,
    taskId: owner.taskId,
    runId: owner.runId,
    stage: 'running',
    ...(failure.service !== '' ? { service: failure.service } : {}),
    role: failure.role,
    reason: { kind: 'failed-while-running', message: failure.reason },
    logTail: log.split('\n').slice(-LOG_TAIL_LINES).join('\n'),
    message: `${who} failed while the task ran: ${failure.reason}`,
  };
}

/**
 * The logs directory's files: `SERVICE.log` and `SERVICE_proxy.log` (`_` never occurs in a
 * service name, so the two cannot collide).
 */
export function logFiles(logs: Pick<StopResult, 'logs' | 'proxyLogs'>): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [service, text] of Object.entries(logs.logs)) files[`${service}.log`] = text;
  for (const [service, text] of Object.entries(logs.proxyLogs)) files[`${service}_proxy.log`] = text;
  return files;
}

/** Writes `text` to a temporary file beside `path`, then renames it over `path`. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
