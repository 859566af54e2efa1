/**
 * A task's proxies and the worker's credentials: a proxy being created gets credentials derived
 * from the current ones, and a running proxy is pushed the rotated ones (taskcluster-proxy's
 * `PUT /credentials`) when the worker's rotate, since it keeps what it was started with otherwise.
 */
import type { CredentialsSource, LiveProxy, PushResult } from '../credentials/source.js';
import type { WorkerCredentials } from '../credentials/proxy-credentials.js';
import { serviceNetworkName } from '../desired-state/names.js';
import type { DesiredState } from '../desired-state/types.js';
import type { DockerApi } from '../docker/client.js';
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
 * The task's running proxies, each addressed on its service network (the only one it joins) and
 * with the role scope read back from its command, which is what its credentials must hold.
 */
async function liveProxies({ docker, desired, snapshot }: CredentialPush): Promise<LiveProxy[]> {
  const { owner } = desired;
  const proxies: LiveProxy[] = [];
  for (const container of taskContainers(snapshot, owner).values()) {
    if (container.state !== 'running') continue;
    const node = desired.containers.find((c) => c.name === container.name);
    if (!node || node.role !== 'proxy') continue;
    const ip = container.networks[serviceNetworkName(owner.taskId, owner.runId, node.service)]?.ipAddress;
    const roleScope = ip && (await proxyRoleScope(docker, container.id));
    if (!ip || !roleScope) continue;
    proxies.push({ ip, roleScope });
  }
  return proxies;
}
