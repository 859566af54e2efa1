/**
 * From options and environment to what the library and the reconciler take: the worker
 * configuration (decoded by `src/desired-state`, so a bad value is reported as it would be for a
 * worker), the task run's owner reference, and the worker's credentials.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { decodeWorkerConfig, type WorkerConfig } from '../desired-state/config.js';
import { ConfigError } from '../desired-state/errors.js';
import type { OwnerRef } from '../desired-state/types.js';
import { decodeWorkerCredentials, type WorkerCredentials } from '../credentials/proxy-credentials.js';
import {
  DEFAULT_PROVISIONER_ID,
  DEFAULT_PROXY_IMAGE,
  DEFAULT_TASK_ID,
  DEFAULT_WORKER_TYPE,
  defaultOwnerId,
  runIdOption,
  secondsOption,
  stringOption,
  type ParsedCommand,
} from './args.js';
import { InputError, UsageError } from './errors.js';
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

/** Flags that make a worker configuration, which `--config` says all of by itself. */
const CONFIG_FLAGS = [
  'owner-id',
  'provisioner-id',
  'worker-type',
  'proxy-image',
  'pull-policy',
  'timeout',
] as const;

/**
 * The worker configuration from `--config FILE` (decoded by the `WorkerConfig` codec: everything
 * a worker can set, `registries` logins included), or else from the flags. `timeoutS` is the
 * command's default for `--timeout` when it has one.
 */
export async function workerConfigFrom(
  parsed: ParsedCommand,
  io: CliIo,
  timeoutS?: number,
): Promise<WorkerConfig> {
  const { values } = parsed;
  const file = stringOption(values, 'config');
  if (file === undefined) {
    if (timeoutS === undefined) return workerConfigOf(values, io.env);
    const seconds = secondsOption(values, 'timeout', timeoutS);
    return workerConfigOf(values, io.env, { startupTimeoutMs: Math.round(seconds * 1000) });
  }
  const both = CONFIG_FLAGS.filter((flag) => values[flag] !== undefined);
  if (both.length > 0)
    throw new UsageError(
      `--config says all of the worker configuration; drop ${both.map((f) => `--${f}`).join(', ')}`,
    );
  const json = await readJsonFile(file, io, '--config');
  try {
    return decodeWorkerConfig(json);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError(error.errors, `worker configuration in --config ${file}`);
    throw error;
  }
}

/** A JSON file named by `flag`; errors name the flag and the path, never the text (it may be a secret). */
export async function readJsonFile(path: string, io: CliIo, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, path), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `${flag} ${path}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the text, which may be a secret.
    throw new InputError(`${flag} ${path}: not valid JSON`);
  }
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
