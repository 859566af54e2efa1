/**
 * A task's proxies and the worker's credentials: a proxy being created gets credentials derived
 * from the current ones, and a running proxy is pushed the rotated ones (taskcluster-proxy's
 * `PUT /credentials`) when the worker's rotate, since it keeps what it was started with otherwise.
 * A proxy listens on loopback of the namespace it shares with its service only, so the push goes
 * in by `docker exec` of the image's `PUT_CREDENTIALS_COMMAND`, the body on its stdin.
 */
import type { CredentialsSource, LiveProxy, PushResult } from '../credentials/source.js';
import type { WorkerCredentials } from '../credentials/proxy-credentials.js';
import type { DesiredState } from '../desired-state/types.js';
import type { DockerApi } from '../docker/client.js';
import { PUT_CREDENTIALS_COMMAND } from '../proxy/contract.js';
import type { Snapshot } from '../observed-state/types.js';
import { TerminalError } from '../reconciler/errors.js';
import { taskContainers } from './phases.js';
import { proxyRoleScope } from './service-info.js';
import type { ReconcileInput } from './runtime.js';

/**
 * The loop's source of a new proxy's credentials. Without worker credentials a proxy cannot be
 * made at all: a terminal error, which fails the start instead of being retried.
 */
export function proxyCredentialsFrom(source: CredentialsSource | undefined): ReconcileInput['credentials'] {
  return (container) => {
    if (!source) {
      return Promise.reject(
        new TerminalError(
          'bad-spec',
          `${container.name} is an auth proxy and needs credentials; the ServiceManager was built without any`,
        ),
      );
    }
    return source.credentials(container);
  };
}

export interface CredentialPush {
  docker: DockerApi;
  desired: DesiredState;
  source: CredentialsSource;
  /** Where the task's proxies are found: the session's latest snapshot, or a fresh one. */
  snapshot: Snapshot;
}

/** Sends `credentials` to every running proxy of the task; one result per proxy reached. */
export async function pushCredentials(
  push: CredentialPush,
  credentials: WorkerCredentials,
): Promise<PushResult[]> {
  return push.source.updateCredentials(credentials, await liveProxies(push));
}

/**
 * The task's running proxies, each with the role scope read back from its command (what its
 * credentials must hold) and a `put` that runs the push command in its container.
 */
async function liveProxies({ docker, desired, snapshot }: CredentialPush): Promise<LiveProxy[]> {
  const proxies: LiveProxy[] = [];
  for (const container of taskContainers(snapshot, desired.owner).values()) {
    if (container.state !== 'running') continue;
    const node = desired.containers.find((c) => c.name === container.name);
    if (!node || node.role !== 'proxy') continue;
    const roleScope = await proxyRoleScope(docker, container.id);
    if (!roleScope) continue;
    proxies.push({
      name: container.name,
      roleScope,
      put: (body) => putCredentialsByExec(docker, container.id, body),
    });
  }
  return proxies;
}

/** A `LiveProxy.put` for the proxy in container `containerId`: the image's push command, by exec. */
export async function putCredentialsByExec(
  docker: DockerApi,
  containerId: string,
  body: string,
): Promise<number> {
  const { exitCode, output } = await docker.execWithInput(containerId, PUT_CREDENTIALS_COMMAND, body);
  const status = /^\s*(\d{3})\s*$/.exec(output)?.[1];
  if (exitCode === 0 && status !== undefined) return Number(status);
  // The command never echoes its input: its output is a reason, not a secret.
  throw new Error(`${PUT_CREDENTIALS_COMMAND.join(' ')} exited ${exitCode}: ${output.trim().slice(0, 200)}`);
}
