/**
 * From options and environment to what the library and the reconciler take: the worker
 * configuration (decoded by `src/desired-state`, so a bad value is reported as it would be for a
 * worker), the task run's owner reference, and the worker's credentials.
 */
import { decodeWorkerConfig, type WorkerConfig } from '../desired-state/config.js';
import type { OwnerRef } from '../desired-state/types.js';
import { decodeWorkerCredentials, type WorkerCredentials } from '../credentials/proxy-credentials.js';
import {
  DEFAULT_PROVISIONER_ID,
  DEFAULT_PROXY_IMAGE,
  DEFAULT_TASK_ID,
  DEFAULT_WORKER_TYPE,
  defaultOwnerId,
  runIdOption,
  stringOption,
  type ParsedCommand,
} from './args.js';
import type { CliIo } from './io.js';

/**
 * Without TASKCLUSTER_ROOT_URL a plan still needs one for the proxies' `--root-url`: a reserved
 * name (RFC 2606) that can never resolve, so nothing is ever sent anywhere by mistake.
 */
export const PLACEHOLDER_ROOT_URL = 'https://taskcluster.invalid';

export function ownerIdOf(values: ParsedCommand['values']): string {
  return stringOption(values, 'owner-id') ?? defaultOwnerId();
}

export function ownerOf(values: ParsedCommand['values']): OwnerRef {
  return {
    ownerId: ownerIdOf(values),
    taskId: stringOption(values, 'task-id') ?? DEFAULT_TASK_ID,
    runId: runIdOption(values),
  };
}

export function workerConfigOf(
  values: ParsedCommand['values'],
  env: CliIo['env'],
  extra: { startupTimeoutMs?: number } = {},
): WorkerConfig {
  return decodeWorkerConfig({
    ownerId: ownerIdOf(values),
    provisionerId: stringOption(values, 'provisioner-id') ?? DEFAULT_PROVISIONER_ID,
    workerType: stringOption(values, 'worker-type') ?? DEFAULT_WORKER_TYPE,
    rootUrl: env.TASKCLUSTER_ROOT_URL || PLACEHOLDER_ROOT_URL,
    proxy: { image: stringOption(values, 'proxy-image') ?? DEFAULT_PROXY_IMAGE },
    ...(stringOption(values, 'pull-policy') === undefined
      ? {}
      : { images: { pullPolicy: stringOption(values, 'pull-policy') } }),
    ...extra,
  });
}

/** The worker's credentials from the usual variables; undefined when none are set. */
export function credentialsFromEnv(env: CliIo['env']): WorkerCredentials | undefined {
  const clientId = env.TASKCLUSTER_CLIENT_ID;
  const accessToken = env.TASKCLUSTER_ACCESS_TOKEN;
  if (!clientId && !accessToken) return undefined;
  return decodeWorkerCredentials({
    clientId: clientId ?? '',
    accessToken: accessToken ?? '',
    ...(env.TASKCLUSTER_CERTIFICATE ? { certificate: env.TASKCLUSTER_CERTIFICATE } : {}),
  });
}
