/**
 * What docker-worker merges into the task container's create options so that the task reaches
 * its services by name: the task network, and nothing else. The task container is created by
 * docker-worker, never by us, and never joins a service's private network (whoever reaches a
 * proxy holds that image's role).
 */
import { TASK_NETWORK_NODE } from './names.js';
import type { DesiredState } from './types.js';

export interface TaskContainerOptions {
  HostConfig?: { NetworkMode: string };
  NetworkingConfig?: { EndpointsConfig: Record<string, Record<string, never>> };
}

/** Empty for a graph without services: the task container keeps docker-worker's defaults. */
export function taskContainerOptions(desired: DesiredState): TaskContainerOptions {
  // Stryker disable next-line ConditionalExpression: compile() makes one network, the task network
  const taskNetwork = desired.networks.find((network) => network.id === TASK_NETWORK_NODE);
  if (!taskNetwork) return {};
  return {
    HostConfig: { NetworkMode: taskNetwork.name },
    NetworkingConfig: { EndpointsConfig: { [taskNetwork.name]: {} } },
  };
}
