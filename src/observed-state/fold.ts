/**
 * Known effects (`KnownEffect`) as observed objects: what an inspect right after the action would
 * show, built by the same mapping (`map.ts`) from the wire shape Docker would answer with. Pure.
 *
 * Only what Docker's answer makes certain is folded; anything else returns undefined and the
 * object is inspected instead. Docker's own timestamps (`createdAt`, `startedAt`) and a started
 * endpoint's address are not in its answer: a folded object has none of them (nothing that plans
 * or says ready reads them of a created or running container; a start time is learned at the
 * object's next inspect).
 */
import type { ContainerInspect, NetworkInspect } from '../docker/client.js';
import { mapContainer, mapNetwork, runsHealthCheck } from './map.js';
import type { ObservedContainer, ObservedImage, ObservedNetwork } from './types.js';
import type { KnownEffect } from './requests.js';

type Created = Extract<KnownEffect, { kind: 'container-created' }>;
type NetworkCreated = Extract<KnownEffect, { kind: 'network-created' }>;

export interface FoldedContainer {
  container: ObservedContainer;
  /** Whether Docker runs a health check in it once started (the options', else the image's). */
  healthCheck: boolean;
}

/**
 * A created container as its inspect shows it: state `created`, no health yet, and an endpoint per
 * network it was created on, with the aliases sent and no network id until it runs. Undefined
 * when the image is not the one the scope knows by that reference, or the network is Docker's
 * default (whose endpoint Docker fills in itself).
 */
export function foldCreatedContainer(
  effect: Created,
  image: ObservedImage | undefined,
): FoldedContainer | undefined {
  const { options, containerId } = effect;
  if (options.name === undefined || image === undefined || image.ref !== options.Image) return undefined;
  const mode = options.HostConfig?.NetworkMode;
  const endpoints = options.NetworkingConfig?.EndpointsConfig ?? {};
  const joinsNamespace = mode?.startsWith('container:') === true;
  if (!joinsNamespace && (mode === undefined || endpoints[mode] === undefined)) return undefined;
  const networks: Record<string, { NetworkID: string; Aliases: string[]; IPAddress: string }> = {};
  if (!joinsNamespace)
    for (const [name, endpoint] of Object.entries(endpoints))
      networks[name] = { NetworkID: '', Aliases: [...(endpoint.Aliases ?? [])], IPAddress: '' };
  const wire = {
    Id: containerId,
    Name: `/${options.name}`,
    Image: image.id,
    // Docker merges the image's labels under the ones sent.
    Config: { Image: options.Image, Labels: { ...image.labels, ...(options.Labels ?? {}) } },
    State: { Status: 'created', ExitCode: 0, OOMKilled: false },
    NetworkSettings: { Networks: networks },
  } as unknown as ContainerInspect;
  // Docker merges the image's health check into a container whose options set no test.
  const test = options.Healthcheck?.Test;
  const healthCheck =
    test !== undefined && test.length > 0 ? runsHealthCheck(test) : image.healthCheck === true;
  return { container: mapContainer(wire), healthCheck };
}

/**
 * A created container after a 204 start: running, its health check (if any) `starting`, each
 * endpoint on the network of that name. Only a container never started is folded: a restarted
 * one keeps its last run's times and probe log, which only an inspect shows. Undefined when a
 * network it is on is not known by name.
 */
export function foldStartedContainer(
  created: ObservedContainer,
  healthCheck: boolean,
  networkIdByName: (name: string) => string | undefined,
): ObservedContainer | undefined {
  if (created.state !== 'created') return undefined;
  const networks: ObservedContainer['networks'] = {};
  for (const [name, endpoint] of Object.entries(created.networks)) {
    const networkId = networkIdByName(name);
    if (networkId === undefined) return undefined;
    networks[name] = { ...endpoint, networkId };
  }
  const { lastHealthOutput: _none, ...rest } = created;
  return {
    ...rest,
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    health: healthCheck ? 'starting' : 'none',
    networks,
  };
}

/** A created network: its name and labels as sent, no container on it yet. */
export function foldCreatedNetwork(effect: NetworkCreated): ObservedNetwork | undefined {
  const { options, networkId } = effect;
  if (options.Name === undefined) return undefined;
  const wire = { Id: networkId, Name: options.Name, Labels: { ...(options.Labels ?? {}) }, Containers: {} };
  return mapNetwork(wire as unknown as NetworkInspect);
}
