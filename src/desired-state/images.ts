/**
 * Image identity. A proxy's role is keyed on the image it serves, and the key must be immutable:
 * the repo digest (`sha256:<hex>`, the manifest a registry serves) when the image has one, else
 * the local image id; never a tag, which can be moved to another image.
 */
import { validScope } from 'taskcluster-lib-scopes';
import type { WorkerConfig } from './config.js';
import { containerHashInput, specHash } from './hash.js';
import { Label } from './labels.js';
import { IMAGE_KEY_PLACEHOLDER, type ContainerNode, type DesiredState, type ResolvedImage } from './types.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ImageIdentity {
  /** Local image id, `sha256:<64 hex>`. */
  id: string;
  /** `repo@sha256:<hex>` entries, as Docker reports them. */
  repoDigests: string[];
}

/**
 * The repo digest when there is one (the smallest, when an image was pushed under several
 * manifests, so that every worker picks the same), else the local image id.
 */
export function imageKey(image: ImageIdentity): string {
  const digests = image.repoDigests
    .map((repoDigest) => repoDigest.slice(repoDigest.lastIndexOf('@') + 1))
    .filter((digest) => DIGEST.test(digest))
    .sort();
  return digests[0] ?? image.id;
}

export function resolveImage(
  ref: string,
  image: ImageIdentity & { labels?: Record<string, string> | null },
): ResolvedImage {
  return { ref, id: image.id, key: imageKey(image), labels: { ...(image.labels ?? {}) } };
}

/** The one scope a service's proxy holds: `assume:docker-service-image:<provisionerId>/<workerType>/<imageKey>`. */
export function roleScope(config: Pick<WorkerConfig, 'provisionerId' | 'workerType'>, key: string): string {
  const scope = `assume:docker-service-image:${config.provisionerId}/${config.workerType}/${key}`;
  if (!validScope(scope)) throw new TypeError(`not a valid scope: ${JSON.stringify(scope)}`);
  return scope;
}

/** Every image reference a graph needs, sorted: its own list, its containers' and what proxies serve. */
export function imagesOf(desired: DesiredState): string[] {
  const refs = new Set(desired.images);
  for (const c of desired.containers) {
    refs.add(c.image);
    if (c.imageKeyOf !== undefined) refs.add(c.imageKeyOf);
  }
  return [...refs].sort();
}

/**
 * Makes a container node final once what it names by identity is known: a proxy's `cmd` gets the
 * served image's key in place of `IMAGE_KEY_PLACEHOLDER`; a container that joins another's network
 * namespace gets that container's Docker id (`namespaceContainerId`, which Docker's `NetworkMode`
 * names); and the spec hash (and its label) is recomputed with the image ids, the served key and
 * that id, so that a tag moved to another image, or a namespace owner replaced by a new container,
 * is a changed spec. Pure; undefined while an image it needs is not resolved or the namespace
 * owner does not exist. Binding a bound node with the same inputs changes nothing.
 */
export function bindImages(
  node: ContainerNode,
  resolve: (ref: string) => ResolvedImage | undefined,
  namespaceContainerId?: string,
): ContainerNode | undefined {
  const image = resolve(node.image);
  if (!image) return undefined;
  if (node.networkNamespaceOf !== undefined && namespaceContainerId === undefined) return undefined;
  let served: ResolvedImage | undefined;
  if (node.imageKeyOf !== undefined) {
    served = resolve(node.imageKeyOf);
    if (!served) return undefined;
    // A key goes into a scope: it must be one printable token.
    if (!validScope(served.key)) throw new TypeError(`not a valid image key: ${JSON.stringify(served.key)}`);
  }
  const key = served?.key;
  const cmd =
    node.cmd && key !== undefined
      ? node.cmd.map((arg) => arg.split(IMAGE_KEY_PLACEHOLDER).join(key))
      : node.cmd;
  const { namespaceContainerId: _previous, ...unbound } = node;
  const base: ContainerNode = { ...unbound, ...(cmd ? { cmd } : {}) };
  const namespace = node.networkNamespaceOf === undefined ? undefined : namespaceContainerId;
  // Stryker disable next-line ConditionalExpression: a namespaceContainerId of undefined is none to every reader (JSON leaves it out, comparisons ignore it)
  const bound: ContainerNode = namespace === undefined ? base : { ...base, namespaceContainerId: namespace };
  const hash = specHash(
    containerHashInput(base, { imageId: image.id, servedImageKey: key, namespaceContainerId: namespace }),
  );
  return { ...bound, specHash: hash, labels: { ...node.labels, [Label.specHash]: hash } };
}
