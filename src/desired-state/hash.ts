/**
 * Spec hashes: drift detection compares the hash label of what runs with the hash of what is
 * desired. The hash is over a canonical rendering (sorted keys, absent fields dropped) of the
 * fields that make an object what it is, with a version so that a change of what is hashed is a
 * change of every hash. Env values enter only as their sha256 digests: no secret is ever part of a
 * hash input, yet a changed value is a changed hash.
 */
import { createHash } from 'node:crypto';
import type { ContainerNode, NetworkNode } from './types.js';

/** Bump when the hash input changes shape: every object then counts as drifted once. */
export const HASH_VERSION = '1';

/** Hex characters of a spec hash: 64 bits, ample for telling one spec of a node from another. */
export const SPEC_HASH_CHARS = 16;

/** `value` with its objects' keys sorted; JSON.stringify then drops undefined properties and writes undefined array items as null. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => sortKeys(item));
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    // fromEntries defines own properties: a key such as `__proto__` stays data.
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, sortKeys(record[key])]),
    );
  }
  return value;
}

/** JSON with keys sorted at every level and undefined properties dropped; `indent` for people. */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

export function sha256Hex(text: string): string {
  // Stryker disable next-line StringLiteral: utf8 is also Node's default encoding of a string
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `sha256:<hex>` of a value: what an env value is replaced by in hash inputs. */
export function valueDigest(value: string): string {
  return `sha256:${sha256Hex(value)}`;
}

/** Short hex hash of a hash input (see `containerHashInput`, `networkHashInput`). */
export function specHash(input: unknown): string {
  return sha256Hex(canonicalJson({ hashVersion: HASH_VERSION, spec: input })).slice(0, SPEC_HASH_CHARS);
}

/** A network's identity: name, role and the service it serves. */
export function networkHashInput(network: Pick<NetworkNode, 'name' | 'role' | 'service'>): unknown {
  return { kind: 'network', name: network.name, role: network.role, service: network.service };
}

/** Resolved images and keys, when known: they make a hash final (see `bindImages()`). */
export interface HashBinding {
  /** Local image id of the container's image. */
  imageId?: string;
  /** Key of the image a proxy's scope names. */
  servedImageKey?: string;
  /** Docker id of the container whose network namespace this one joins. */
  namespaceContainerId?: string;
}

/**
 * A container's identity for drift: everything that Docker would be asked to create, with env
 * values replaced by digests. Labels, the hash itself and `dependsOn` (ordering, not content) are
 * left out. With a binding, the image reference is replaced by the resolved image id, so a tag that
 * now names another image is a new hash.
 */
export function containerHashInput(
  container: Omit<
    ContainerNode,
    'labels' | 'specHash' | 'dependsOn' | 'kind' | 'id' | 'namespaceContainerId'
  >,
  binding: HashBinding = {},
): unknown {
  const env = Object.fromEntries(
    Object.entries(container.env).map(([name, value]) => [name, valueDigest(value)]),
  );
  return {
    kind: 'container',
    name: container.name,
    role: container.role,
    service: container.service,
    image: binding.imageId ?? container.image,
    cmd: container.cmd,
    env,
    healthCheck: container.healthCheck,
    limits: container.limits,
    networks: container.networks,
    networkNamespaceOf: container.networkNamespaceOf,
    namespaceContainerId: binding.namespaceContainerId,
    extraHosts: container.extraHosts,
    imageKeyOf: container.imageKeyOf,
    servedImageKey: binding.servedImageKey,
    needsCredentials: container.needsCredentials,
  };
}
