/**
 * One full observation: daemon time, then the lists, then an inspect of each object that is ours.
 * Lists are narrowed by our labels and by our name pattern (to catch same-named squatters);
 * ownership is decided client-side on exact names (`ownership.ts`). Everything is sorted, so the
 * same engine state gives a deep-equal snapshot.
 */
import { from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import { Label } from '../desired-state/labels.js';
import type { ContainerSummary, DockerApi, Filters, NetworkInspect } from '../docker/client.js';
import { listedName } from './list-entry.js';
import { mapContainer, mapImage, mapNetwork } from './map.js';
import { classify, nameFilterPattern } from './ownership.js';
import { withReadyLines } from './ready-line.js';
import type { ObserveScope } from './scope.js';
import type { ForeignObject, ObservedContainer, ObservedImage, ObservedNetwork, Snapshot } from './types.js';

/** Inspects in flight at once: enough to hide latency, few enough not to pile onto a busy daemon. */
const INSPECT_CONCURRENCY = 8;

export interface CollectOptions {
  /**
   * A daemon time taken before this call, which the snapshot then bears instead of asking dockerd
   * again (`/info` is one of its costlier calls: ~50 ms on an idle daemon, far more on a busy
   * one). An earlier time than the lists' own is safe: it only makes later events look newer.
   */
  time?: string;
  /**
   * Asked for each owned container's list entry, with the daemon time taken before the lists: a
   * container it returns is taken as is, without an inspect (the live cache's safety-net relist:
   * `snapshot-cache.ts`). Without it, every owned container is inspected.
   */
  reuse?: (summary: ContainerSummary, time: string) => ObservedContainer | undefined;
}

export async function collectSnapshot(
  docker: DockerApi,
  scope: ObserveScope,
  options: CollectOptions = {},
): Promise<Snapshot> {
  const time = options.time ?? (await docker.systemTime());
  const byLabel = labelFilters(scope);
  // Garbage collection (no task) reports no name-only squatters, so needs no name lists.
  const byName = (type: 'container' | 'network'): Filters | undefined =>
    scope.taskId === undefined ? undefined : { name: [nameFilterPattern(scope, type)] };
  const containerByName = byName('container');
  const networkByName = byName('network');
  const [containersByLabel, containersByName, networksByLabel, networksByName, imageResults, external] =
    await Promise.all([
      docker.listContainers(byLabel),
      containerByName ? docker.listContainers(containerByName) : [],
      docker.listNetworks(byLabel),
      networkByName ? docker.listNetworks(networkByName) : [],
      inspectImages(docker, scope.images),
      collectExternalNetworks(docker, scope.externalNetworks),
    ]);

  const foreign: ForeignObject[] = [];
  const ownedContainerIds: string[] = [];
  const reused: ObservedContainer[] = [];
  for (const summary of uniqueById([...containersByLabel, ...containersByName])) {
    const name = listedName(summary);
    const ownership = classify(scope, name, summary.Labels);
    if (ownership.kind === 'ours') {
      const kept = options.reuse?.(summary, time);
      if (kept) reused.push(kept);
      else ownedContainerIds.push(summary.Id);
    } else if (ownership.kind === 'foreign')
      foreign.push({ type: 'container', id: summary.Id, name, reason: ownership.reason });
  }
  const ownedNetworkIds: string[] = [];
  for (const network of uniqueById([...networksByLabel, ...networksByName])) {
    const ownership = classify(scope, network.Name, network.Labels);
    if (ownership.kind === 'ours') ownedNetworkIds.push(network.Id);
    else if (ownership.kind === 'foreign')
      foreign.push({ type: 'network', id: network.Id, name: network.Name, reason: ownership.reason });
  }

  // The list's network entries carry no endpoints, and container summaries no health, aliases or
  // OOM flag: those need an inspect each. An object gone since the list is simply not there.
  const [containers, networks] = await Promise.all([
    mapLimit(ownedContainerIds, (id) => observeContainer(docker, scope, id)),
    mapLimit(ownedNetworkIds, (id) => observeNetwork(docker, scope, id)),
  ]);
  const snapshot: Snapshot = {
    time,
    containers: reused,
    networks: [],
    images: imageResults.images,
    missingImages: imageResults.missingImages,
    foreign,
    ...(external ? { external } : {}),
  };
  for (const result of [...containers, ...networks]) {
    if (result.kind === 'container') snapshot.containers.push(result.container);
    else if (result.kind === 'network') snapshot.networks.push(result.network);
    else if (result.kind === 'foreign') snapshot.foreign.push(result.foreign);
  }
  return sortSnapshot(snapshot);
}

/**
 * One look for a one-shot command (`plan`, `status`): `collectSnapshot` with readiness as the live
 * observer shows it (a container that printed the ready line its image declares is healthy).
 */
export async function observeOnce(docker: DockerApi, scope: ObserveScope): Promise<Snapshot> {
  return withReadyLines(docker, await collectSnapshot(docker, scope));
}

export type ObservedObject =
  | { kind: 'container'; container: ObservedContainer }
  | { kind: 'network'; network: ObservedNetwork }
  | { kind: 'foreign'; foreign: ForeignObject }
  /** Not of this scope's concern. */
  | { kind: 'none' }
  /** No such object (404): Docker never gives an id to another object, so it is gone for good. */
  | { kind: 'gone' };

/** Inspects one container and classifies it on what the inspect says (names can change). */
export async function observeContainer(
  docker: DockerApi,
  scope: ObserveScope,
  id: string,
): Promise<ObservedObject> {
  const inspect = await docker.inspectContainer(id);
  if (!inspect) return { kind: 'gone' };
  const container = mapContainer(inspect);
  const ownership = classify(scope, container.name, container.labels);
  if (ownership.kind === 'ours') return { kind: 'container', container };
  if (ownership.kind === 'foreign')
    return {
      kind: 'foreign',
      foreign: { type: 'container', id: container.id, name: container.name, reason: ownership.reason },
    };
  return { kind: 'none' };
}

export async function observeNetwork(
  docker: DockerApi,
  scope: ObserveScope,
  id: string,
): Promise<ObservedObject> {
  const inspect = await docker.inspectNetwork(id);
  if (!inspect) return { kind: 'gone' };
  const network = mapNetwork(inspect);
  const ownership = classify(scope, network.name, network.labels);
  if (ownership.kind === 'ours') return { kind: 'network', network };
  if (ownership.kind === 'foreign')
    return {
      kind: 'foreign',
      foreign: { type: 'network', id: network.id, name: network.name, reason: ownership.reason },
    };
  return { kind: 'none' };
}

/**
 * The named networks that exist, inspected (for their endpoints). Docker's `name` filter matches
 * substrings, so each name is asked for on its own and compared exactly; an id-prefix match by
 * `inspect` is never taken for the name.
 */
async function collectExternalNetworks(
  docker: DockerApi,
  names: readonly string[] | undefined,
): Promise<ObservedNetwork[] | undefined> {
  if (names === undefined || names.length === 0) return undefined;
  const found = await mapLimit([...new Set(names)].sort(), async (name) => {
    const exact = (await docker.listNetworks({ name: [name] })).find((n) => n.Name === name);
    const inspect = exact && (await docker.inspectNetwork(exact.Id));
    return inspect ? mapNetwork(inspect) : undefined;
  });
  return found.filter((n): n is ObservedNetwork => n !== undefined);
}

export async function inspectImages(
  docker: DockerApi,
  refs: readonly string[],
): Promise<{ images: ObservedImage[]; missingImages: string[] }> {
  const unique = [...new Set(refs)].sort();
  const inspected = await mapLimit(unique, async (ref) => ({ ref, inspect: await docker.inspectImage(ref) }));
  const images: ObservedImage[] = [];
  const missingImages: string[] = [];
  for (const { ref, inspect } of inspected) {
    if (inspect) images.push(mapImage(ref, inspect));
    else missingImages.push(ref);
  }
  return { images: images.sort(byKey((i) => i.ref)), missingImages: missingImages.sort() };
}

/** Sorts every list in place and returns the snapshot: determinism for plans and for tests. */
export function sortSnapshot(snapshot: Snapshot): Snapshot {
  snapshot.containers.sort(byKey((c) => `${c.name}\0${c.id}`));
  snapshot.networks.sort(byKey((n) => `${n.name}\0${n.id}`));
  snapshot.images.sort(byKey((i) => i.ref));
  snapshot.missingImages.sort();
  snapshot.foreign.sort(byKey((f) => `${f.type}\0${f.name}\0${f.id}`));
  snapshot.external?.sort(byKey((n) => `${n.name}\0${n.id}`));
  return snapshot;
}

/** Narrowed server-side as far as labels can say "this scope": AND of the label filters. */
function labelFilters(scope: ObserveScope): Filters {
  const label = [`${Label.owner}=${scope.ownerId}`];
  if (scope.taskId !== undefined) label.push(`${Label.taskId}=${scope.taskId}`);
  if (scope.taskId !== undefined && scope.runId !== undefined) label.push(`${Label.runId}=${scope.runId}`);
  return { label };
}

function uniqueById<T extends ContainerSummary | NetworkInspect>(items: T[]): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(item.Id)) seen.set(item.Id, item);
  return [...seen.values()];
}

function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/**
 * Runs `run` over `items`, at most INSPECT_CONCURRENCY at once, and returns the results in the
 * order of `items` (callers zip them with their inputs; completion order would pair an object's
 * id with another object's inspect).
 */
export async function mapLimit<T, R>(items: readonly T[], run: (item: T) => Promise<R>): Promise<R[]> {
  if (items.length === 0) return [];
  const results = new Array<R>(items.length);
  await lastValueFrom(
    from(items.map((item, index) => ({ item, index }))).pipe(
      mergeMap(async ({ item, index }) => {
        results[index] = await run(item);
      }, INSPECT_CONCURRENCY),
      toArray(),
    ),
  );
  return results;
}
