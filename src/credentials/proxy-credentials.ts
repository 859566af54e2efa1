/**
 * Which credentials a service's proxy gets.
 *
 * Permanent worker credentials (no certificate) can mint: the proxy gets temporary credentials
 * that hold only the role scope and expire at the task deadline, so a leaked token is worth that
 * role until then and nothing else. Temporary worker credentials (worker-manager's, claim
 * credentials) cannot mint more (taskcluster-client and the auth service both refuse): the proxy
 * gets the worker's own, and its `Cmd` names the role scope as the authorized scopes every request
 * is restricted to.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import taskcluster from 'taskcluster-client';
import { validateRoleScope } from './role-scope.js';
import { contextPath } from '../desired-state/codec.js';

export const WorkerCredentials = t.intersection([
  t.type({ clientId: t.string, accessToken: t.string }),
  t.partial({ certificate: t.union([t.string, t.null, t.undefined]) }),
]);
export type WorkerCredentials = t.TypeOf<typeof WorkerCredentials>;

/** The environment the proxy container is created with (taskcluster-proxy's variables). */
export interface ProxyEnv {
  TASKCLUSTER_CLIENT_ID: string;
  TASKCLUSTER_ACCESS_TOKEN: string;
  TASKCLUSTER_CERTIFICATE: string;
  [name: string]: string;
}

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

/** Taskcluster's limit on the lifetime of temporary credentials. */
const MAX_TEMPORARY_LIFETIME_MS = 31 * 24 * 60 * 60 * 1000;
/** The minted credentials start this far back, so that a worker clock ahead of the auth service's is no problem. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Decodes worker credentials at the door; the error names the fields, never their values. */
export function decodeWorkerCredentials(input: unknown): WorkerCredentials {
  const decoded = WorkerCredentials.decode(input);
  if (isLeft(decoded)) {
    const paths = [...new Set(decoded.left.map((e) => contextPath(e.context)).filter(Boolean))];
    throw new CredentialsError(
      `worker credentials must be {clientId, accessToken, certificate?} strings; bad: ${paths.join(', ') || '(the whole value)'}`,
    );
  }
  const credentials = decoded.right;
  if (credentials.clientId === '' || credentials.accessToken === '')
    throw new CredentialsError('worker credentials need a non-empty clientId and accessToken');
  if (credentials.certificate) {
    try {
      JSON.parse(credentials.certificate);
    } catch {
      throw new CredentialsError('the worker certificate is not valid JSON');
    }
  }
  return credentials;
}

export function isTemporary(credentials: WorkerCredentials): boolean {
  return typeof credentials.certificate === 'string' && credentials.certificate !== '';
}

export interface ProxyCredentialsInput {
  workerCredentials: WorkerCredentials;
  roleScope: string;
  /** The task's deadline: minted credentials expire then (capped at 31 days). */
  deadline: Date;
  now: Date;
  /**
   * Name for minted credentials (named temporary credentials); the worker then needs
   * `auth:create-client:<name>`. Unnamed by default.
   */
  clientId?: string;
}

export function proxyCredentials(input: ProxyCredentialsInput): ProxyEnv {
  const roleScope = validateRoleScope(input.roleScope);
  const worker = decodeWorkerCredentials(input.workerCredentials);
  if (isTemporary(worker)) {
    return {
      TASKCLUSTER_CLIENT_ID: worker.clientId,
      TASKCLUSTER_ACCESS_TOKEN: worker.accessToken,
      TASKCLUSTER_CERTIFICATE: worker.certificate as string,
    };
  }
  const now = input.now.getTime();
  if (input.deadline.getTime() <= now)
    throw new CredentialsError(`the task deadline ${input.deadline.toISOString()} has passed`);
  const start = new Date(now - CLOCK_SKEW_MS);
  const expiry = new Date(Math.min(input.deadline.getTime(), start.getTime() + MAX_TEMPORARY_LIFETIME_MS));
  const minted = mintTemporaryCredentials({
    start,
    expiry,
    scopes: [roleScope],
    credentials: { clientId: worker.clientId, accessToken: worker.accessToken },
    ...(input.clientId ? { clientId: input.clientId } : {}),
  });
  return {
    TASKCLUSTER_CLIENT_ID: minted.clientId,
    TASKCLUSTER_ACCESS_TOKEN: minted.accessToken,
    TASKCLUSTER_CERTIFICATE: minted.certificate,
  };
}

/** Typed facade over taskcluster-client's `createTemporaryCredentials` (synchronous, local). */
function mintTemporaryCredentials(options: {
  start: Date;
  expiry: Date;
  scopes: string[];
  credentials: { clientId: string; accessToken: string };
  clientId?: string;
}): { clientId: string; accessToken: string; certificate: string } {
  let minted: unknown;
  try {
    minted = taskcluster.createTemporaryCredentials(options);
  } catch (error) {
    // Its assertion messages name options, never their values; keep only the message anyway.
    throw new CredentialsError(`cannot mint temporary credentials: ${(error as Error).message}`);
  }
  const m = minted as Record<string, unknown>;
  if (
    typeof m.clientId !== 'string' ||
    typeof m.accessToken !== 'string' ||
    typeof m.certificate !== 'string'
  )
    throw new CredentialsError('taskcluster-client returned temporary credentials of an unexpected shape');
  return { clientId: m.clientId, accessToken: m.accessToken, certificate: m.certificate };
}
