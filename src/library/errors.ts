/**
 * Why `ServiceManager.start()` failed, in a shape the worker can act on: which service, in which
 * phase, for what reason, and what the service printed last (redacted). By the time this error is
 * thrown the task's objects have been removed.
 */
import type { ServicePhase, ServiceRole } from './phases.js';

export type StartFailureReason =
  /**
   * The service's process exited during startup; `beforeStart`: it had already exited when this
   * start began (a daemon restart, a crash before), and the restart policy does not bring it back.
   */
  | { kind: 'exited'; exitCode: number; beforeStart?: true }
  /** The kernel's OOM killer ended it: the memory limit is too small for what it does. */
  | { kind: 'oom-killed'; exitCode: number; memoryBytes?: number }
  /** Its health check failed `retries` times in a row; `lastProbeOutput` is what the last probe printed. */
  | { kind: 'unhealthy'; lastProbeOutput?: string }
  /** The image is not present and could not be pulled (a registry image) or loaded (an artifact). */
  | { kind: 'image-not-found'; image: string; detail?: string }
  /** The registry refused the worker's login (or its lack of one) for this image: 401 or 403. */
  | { kind: 'image-pull-unauthorized'; image: string; registry: string; detail?: string }
  /** A task image artifact could not be downloaded or loaded (after retries, or refused by the queue). */
  | { kind: 'image-download-failed'; image: string; detail?: string }
  /** Not ready within the per-service startup timeout. */
  | { kind: 'timeout'; timeoutMs: number }
  /** A container or network of that name exists and is not ours: it was left alone. */
  | { kind: 'name-conflict'; name: string; detail?: string }
  /** The engine has no address range left for one of the task's networks (`default-address-pools`). */
  | { kind: 'network-pool-exhausted'; network: string; detail?: string }
  /** The task's deadline passed during startup. */
  | { kind: 'deadline'; deadline: string }
  /** The caller cancelled the start (its abort signal fired): the task's doing, no service's. */
  | { kind: 'cancelled' }
  /** Anything else the reconciler could not get past (a spec Docker refuses, a crash loop, …). */
  | { kind: 'reconcile-failed'; message: string; code?: string };

export type StartFailureKind = StartFailureReason['kind'];

export function describeReason(reason: StartFailureReason): string {
  switch (reason.kind) {
    case 'exited':
      return reason.beforeStart
        ? `had exited with code ${reason.exitCode} before this start, and the restart policy does not restart it`
        : `exited with code ${reason.exitCode}`;
    case 'oom-killed':
      return `was killed for running out of memory (OOM, exit code ${reason.exitCode}${
        reason.memoryBytes ? `, memory limit ${reason.memoryBytes} bytes` : ''
      })`;
    case 'unhealthy':
      return reason.lastProbeOutput
        ? `became unhealthy; last health probe output: ${oneLine(reason.lastProbeOutput)}`
        : 'became unhealthy (the last health probe printed nothing)';
    case 'image-not-found':
      return `image ${reason.image} was not found locally and could not be pulled or loaded${
        reason.detail ? ` (${oneLine(reason.detail)})` : ''
      }`;
    case 'image-pull-unauthorized':
      return `registry ${reason.registry} refused to let this worker pull ${reason.image}${
        reason.detail ? ` (${oneLine(reason.detail)})` : ''
      }`;
    case 'image-download-failed':
      return `image ${reason.image} could not be downloaded${reason.detail ? ` (${oneLine(reason.detail)})` : ''}`;
    case 'timeout':
      return `was not ready within its startup timeout of ${reason.timeoutMs} ms`;
    case 'name-conflict':
      return `name ${reason.name} is held by an object that docker-services does not own${
        reason.detail ? ` (${oneLine(reason.detail)})` : ''
      }`;
    case 'network-pool-exhausted':
      return `network ${reason.network} could not be created: the Docker engine has no address range left (raise its default-address-pools in daemon.json, or run fewer tasks at once)`;
    case 'deadline':
      return `the task deadline ${reason.deadline} passed before it was ready`;
    case 'cancelled':
      return 'startup was cancelled by the caller';
    case 'reconcile-failed':
      return `could not be brought up: ${oneLine(reason.message)}`;
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' | ').trim();
  return flat.length <= 300 ? flat : `${flat.slice(0, 300)}…`;
}

export interface ServiceStartErrorDetails {
  /** The service that failed (the first one found failing); undefined for a task-wide failure (cancel). */
  service: string | undefined;
  /** Whether the service's own container or its auth proxy failed. */
  role: ServiceRole;
  /** The last phase the failing container reached. */
  phase: ServicePhase;
  reason: StartFailureReason;
  /** The last lines of its log, with every known secret value replaced. */
  logTail: string;
  taskId: string;
  runId: number;
}

/**
 * `start()` could not make every service ready. Terminal for this start: the objects were
 * removed before this was thrown, and starting again is a new attempt from nothing.
 */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  readonly service: string | undefined;
  readonly role: ServiceRole;
  readonly phase: ServicePhase;
  readonly reason: StartFailureReason;
  readonly logTail: string;
  readonly taskId: string;
  readonly runId: number;

  constructor(details: ServiceStartErrorDetails, options?: { cause?: unknown }) {
    super(ServiceStartError.format(details), options);
    this.service = details.service;
    this.role = details.role;
    this.phase = details.phase;
    this.reason = details.reason;
    this.logTail = details.logTail;
    this.taskId = details.taskId;
    this.runId = details.runId;
  }

  private static format(d: ServiceStartErrorDetails): string {
    const who =
      d.service === undefined
        ? `services of task ${d.taskId} run ${d.runId}`
        : d.role === 'proxy'
          ? `the auth proxy of service ${d.service}`
          : `service ${d.service}`;
    const head =
      d.reason.kind === 'cancelled'
        ? `the start of the services of task ${d.taskId} run ${d.runId} was cancelled by the caller`
        : `${who} failed to start (phase: ${d.phase}): ${describeReason(d.reason)}`;
    if (!d.logTail) return head;
    return `${head}\n--- last lines of its log ---\n${d.logTail}`;
  }
}
