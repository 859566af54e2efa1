/**
 * Docker's wire JSON → our observed types. Pure, total: anything Docker leaves out or nulls
 * (labels, networks, health) becomes an empty value, never an exception, because a half-created
 * or half-removed object must still be observable.
 */
import type { ContainerInspect, ImageInspect, NetworkInspect } from '../docker/client.js';
import type {
  ContainerState,
  HealthStatus,
  ObservedContainer,
  ObservedEndpoint,
  ObservedImage,
  ObservedNetwork,
} from './types.js';

/** Docker reports "never" (not started yet, not finished yet) as Go's zero time. */
const DOCKER_ZERO_TIME = /^0001-01-01T00:00:00/;

/** Health probe output is a container's text: keep the tail of it only, for error messages. */
const MAX_HEALTH_OUTPUT = 1024;

const CONTAINER_STATES: ReadonlySet<string> = new Set<ContainerState>([
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
]);
const HEALTH_STATUSES: ReadonlySet<string> = new Set<HealthStatus>([
  'none',
  'starting',
  'healthy',
  'unhealthy',
]);

export function dockerTime(value: string | undefined | null): string | undefined {
  if (!value || DOCKER_ZERO_TIME.test(value)) return undefined;
  return value;
}

/** Docker prefixes container names with `/` (the parent of a legacy link tree). */
export function containerName(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

function sortedRecord(record: Record<string, string> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record ?? {}).sort()) out[key] = record![key]!;
  return out;
}

function boundedOutput(output: string): string {
  const trimmed = output.trim();
  return trimmed.length <= MAX_HEALTH_OUTPUT ? trimmed : `…${trimmed.slice(-(MAX_HEALTH_OUTPUT - 1))}`;
}

export function mapContainer(inspect: ContainerInspect): ObservedContainer {
  const state = inspect.State ?? ({} as Partial<ContainerInspect['State']>);
  const status = state.Status ?? '';
  const healthStatus = state.Health?.Status ?? 'none';
  const lastProbe = state.Health?.Log?.at(-1);
  // Docker adds the short container id as an alias on every user-defined network; it is not one
  // we asked for, and the planner compares aliases with the desired ones.
  const shortId = inspect.Id.slice(0, 12);
  const networks: Record<string, ObservedEndpoint> = {};
  const wireNetworks = inspect.NetworkSettings?.Networks ?? {};
  for (const name of Object.keys(wireNetworks).sort()) {
    const endpoint = wireNetworks[name]!;
    networks[name] = {
      networkId: endpoint.NetworkID ?? '',
      aliases: [
        ...new Set(((endpoint.Aliases ?? []) as string[]).filter((alias) => alias !== shortId)),
      ].sort(),
      ipAddress: endpoint.IPAddress ?? '',
    };
  }
  const container: ObservedContainer = {
    id: inspect.Id,
    name: containerName(inspect.Name ?? ''),
    labels: sortedRecord(inspect.Config?.Labels),
    image: inspect.Config?.Image ?? '',
    imageId: inspect.Image ?? '',
    state: CONTAINER_STATES.has(status) ? (status as ContainerState) : 'unknown',
    exitCode: state.ExitCode ?? 0,
    oomKilled: state.OOMKilled ?? false,
    health: HEALTH_STATUSES.has(healthStatus) ? (healthStatus as HealthStatus) : 'none',
    networks,
  };
  if (lastProbe && lastProbe.Output) container.lastHealthOutput = boundedOutput(lastProbe.Output);
  const createdAt = dockerTime(inspect.Created);
  const startedAt = dockerTime(state.StartedAt);
  const finishedAt = dockerTime(state.FinishedAt);
  if (createdAt) container.createdAt = createdAt;
  if (startedAt) container.startedAt = startedAt;
  if (finishedAt) container.finishedAt = finishedAt;
  return container;
}

export function mapNetwork(inspect: NetworkInspect): ObservedNetwork {
  return {
    id: inspect.Id,
    name: inspect.Name,
    labels: sortedRecord(inspect.Labels),
    containerIds: Object.keys(inspect.Containers ?? {}).sort(),
  };
}

/** `ref` is the reference the scope asked about (an image has many tags; we name it by the one asked). */
export function mapImage(ref: string, inspect: ImageInspect): ObservedImage {
  const image: ObservedImage = {
    ref,
    id: inspect.Id,
    repoDigests: [...(inspect.RepoDigests ?? [])].sort(),
    labels: sortedRecord(inspect.Config?.Labels),
  };
  if (runsHealthCheck(inspect.Config?.Healthcheck?.Test)) image.healthCheck = true;
  return image;
}

/** Docker runs a health check whose test is not empty and not `NONE`. */
export function runsHealthCheck(test: readonly string[] | undefined | null): boolean {
  return test !== undefined && test !== null && test.length > 0 && test[0] !== 'NONE';
}
