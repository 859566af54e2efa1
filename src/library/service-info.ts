/**
 * What a host needs to know of a task's ready services besides their names: the containers that
 * run them, the images they run, and the role each one's proxy holds. A supervising host writes
 * it down for the worker (`docker-services run`'s ready file); an embedder may log it.
 */
import { roleScopeFromCmd } from '../credentials/role-scope.js';
import type { DesiredState } from '../desired-state/types.js';
import type { DockerApi } from '../docker/client.js';
import type { Snapshot } from '../observed-state/types.js';
import { taskContainers, trackerKey } from './phases.js';

export interface ServiceInfo {
  name: string;
  /** The name the task container reaches it by, on the task network. */
  alias: string;
  containerId: string;
  /** The local image id it runs (`sha256:…`). */
  imageId: string;
  proxy: {
    containerId: string;
    /** `assume:docker-service-image:<provisionerId>/<workerType>/<imageKey>`, as the proxy was started with. */
    roleScope: string;
  };
}

/**
 * The role scope a running proxy holds, read back from its command: what it was started with is
 * what it holds, whatever the graph says now.
 */
export async function proxyRoleScope(docker: DockerApi, containerId: string): Promise<string | undefined> {
  const cmd = (await docker.inspectContainer(containerId))?.Config?.Cmd;
  if (!cmd) return undefined;
  return roleScopeFromCmd(Array.isArray(cmd) ? cmd : [cmd]);
}

/**
 * Each service of `desired` as `snapshot` shows it, sorted by name. Throws when a service or its
 * proxy has no container there: callers ask once every service is ready.
 */
export async function describeServices(
  docker: DockerApi,
  desired: DesiredState,
  snapshot: Snapshot,
): Promise<ServiceInfo[]> {
  const found = taskContainers(snapshot, desired.owner);
  const services = desired.containers
    .filter((c) => c.role === 'service')
    .sort((a, b) => (a.service < b.service ? -1 : 1));
  return Promise.all(
    services.map(async (node) => {
      const service = found.get(trackerKey('service', node.service));
      const proxy = found.get(trackerKey('proxy', node.service));
      const roleScope = proxy && (await proxyRoleScope(docker, proxy.id));
      if (!service || !proxy || !roleScope)
        throw new Error(`service ${node.service} has no running container and proxy to describe`);
      // A service in its proxy's network namespace has no endpoint of its own: its name on the
      // task network is the namespace owner's alias.
      const endpoint = desired.containers.find((c) => c.id === node.networkNamespaceOf) ?? node;
      const alias = endpoint.networks[0]?.aliases[0] ?? node.service;
      return {
        name: node.service,
        alias,
        containerId: service.id,
        imageId: service.imageId,
        proxy: { containerId: proxy.id, roleScope },
      };
    }),
  );
}
