/**
 * Docker names and graph node ids, in one place. Names are deterministic, so a restarted worker
 * finds what a previous run created:
 *
 *   task network        ds-<taskId>-<runId>
 *   service container   ds-<taskId>-<runId>_<service>
 *   proxy container     ds-<taskId>-<runId>_<service>_proxy
 *   private network     ds-<taskId>-<runId>_<service>      (networks and containers are separate namespaces)
 *
 * `_` cannot appear in a service name (a DNS label), so the parts never run into each other.
 */
import { NAME_PREFIX } from './labels.js';
import type { NodeId } from './types.js';

/**
 * A Taskcluster task id: a slugid, 22 URL-safe base64 characters (which may include `_` and `-`).
 * The fixed length is what makes a name parse back to exactly one (taskId, runId, service); use
 * `slugid.nice()` for ids in tests.
 */
export const TASK_ID = /^[A-Za-z0-9_-]{22}$/;

export const PROXY_SUFFIX = '_proxy';

export function isTaskId(taskId: string): boolean {
  return TASK_ID.test(taskId);
}

export function isRunId(runId: number): boolean {
  return Number.isSafeInteger(runId) && runId >= 0;
}

export function taskNetworkName(taskId: string, runId: number): string {
  return `${NAME_PREFIX}${taskId}-${runId}`;
}

export function serviceNetworkName(taskId: string, runId: number, service: string): string {
  return `${taskNetworkName(taskId, runId)}_${service}`;
}

export function serviceContainerName(taskId: string, runId: number, service: string): string {
  return `${taskNetworkName(taskId, runId)}_${service}`;
}

export function proxyContainerName(taskId: string, runId: number, service: string): string {
  return `${taskNetworkName(taskId, runId)}_${service}${PROXY_SUFFIX}`;
}

export const TASK_NETWORK_NODE: NodeId = 'network/task';

export function serviceContainerNode(service: string): NodeId {
  return `container/service/${service}`;
}

export function proxyContainerNode(service: string): NodeId {
  return `container/proxy/${service}`;
}

export interface OwnedName {
  taskId: string;
  runId: number;
  /** Absent for the task network. */
  service?: string;
  /** True for a proxy container's name. */
  proxy?: boolean;
}

const SERVICE = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const OWNED_NAME = new RegExp(
  `^${NAME_PREFIX}([A-Za-z0-9_-]{22})-(0|[1-9][0-9]{0,15})(?:_(${SERVICE})(${PROXY_SUFFIX})?)?$`,
);

/**
 * The parts of a name we generate, or undefined for any other name. Docker reports container
 * names with a leading `/`, which is accepted. A name that parses is only *named* like ours:
 * ownership also needs our labels.
 */
export function parseOwnedName(name: string): OwnedName | undefined {
  const match = OWNED_NAME.exec(name.startsWith('/') ? name.slice(1) : name);
  if (!match) return undefined;
  const [, taskId, run, service, proxy] = match;
  const runId = Number(run);
  if (!isRunId(runId)) return undefined;
  const parsed: OwnedName = { taskId: taskId!, runId };
  if (service !== undefined) parsed.service = service;
  if (proxy !== undefined) parsed.proxy = true;
  return parsed;
}
